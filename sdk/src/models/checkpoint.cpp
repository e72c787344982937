// Model folders (config.json + weights, single or sharded), the choice of reader by file
// content, the weights' digest, and strict loading of a state dict into a module.
#include "checkpoint_files.hpp"

#include <torch/torch.h>

#include <msa/media/digest.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace msa::models {

namespace fs = std::filesystem;

namespace detail {

std::shared_ptr<MappedFile> MappedFile::open(const fs::path& file) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw CheckpointError(file.string() + ": cannot open: " + std::strerror(errno));
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        ::close(fd);
        throw CheckpointError(file.string() + ": not a regular file");
    }
    std::shared_ptr<MappedFile> map(new MappedFile());
    map->path_ = file;
    map->size_ = static_cast<std::size_t>(info.st_size);
    if (map->size_ > 0) {
        // Private, so that an in-place op on a tensor view copies the page instead of
        // faulting, and the file itself is never written.
        void* data = ::mmap(nullptr, map->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        if (data == MAP_FAILED) {
            const int error = errno;
            ::close(fd);
            throw CheckpointError(file.string() + ": cannot map into memory: " + std::strerror(error));
        }
        map->data_ = static_cast<unsigned char*>(data);
    }
    ::close(fd); // the mapping keeps its own reference to the file
    return map;
}

MappedFile::~MappedFile() {
    if (data_) ::munmap(data_, size_);
}

std::string shape_string(c10::IntArrayRef shape) {
    std::string out = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
    return out + "]";
}

std::string dtype_name(c10::ScalarType type) {
    switch (type) {
    case c10::kDouble: return "float64";
    case c10::kFloat: return "float32";
    case c10::kHalf: return "float16";
    case c10::kBFloat16: return "bfloat16";
    case c10::kLong: return "int64";
    case c10::kInt: return "int32";
    case c10::kShort: return "int16";
    case c10::kChar: return "int8";
    case c10::kByte: return "uint8";
    case c10::kBool: return "bool";
    default: return c10::toString(type);
    }
}

WeightFormat sniff_weight_format(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw CheckpointError(file.string() + ": cannot open: " + std::strerror(errno));
    unsigned char head[16] = {};
    in.read(reinterpret_cast<char*>(head), sizeof head);
    const auto got = static_cast<std::size_t>(in.gcount());
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    if (got >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) return WeightFormat::torch_zip;
    // A legacy torch.save starts with a protocol-2 pickle of its magic number (a LONG1).
    constexpr unsigned char kPickleProto = 0x80, kLong1 = 0x8a;
    if (got >= 3 && head[0] == kPickleProto && head[2] == kLong1) return WeightFormat::torch_legacy;
    if (got >= 9 && !ec && head[8] == '{') {
        std::uint64_t header_size = 0;
        for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | head[i];
        if (header_size <= size - 8) return WeightFormat::safetensors;
    }
    return WeightFormat::unknown;
}

} // namespace detail

namespace {

std::string conversion_hint() {
    return "to convert a file that torch.load reads: python -c \"import torch; from safetensors.torch import save_file; "
           "sd = torch.load('FILE', map_location='cpu', weights_only=True); "
           "save_file({k: v.contiguous() for k, v in sd.items()}, 'model.safetensors')\"";
}

std::string read_text(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw CheckpointError(file.string() + ": cannot open: " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// config.json and *.index.json, with a parse error as file:line:column.
nlohmann::json read_json(const fs::path& file) {
    const auto text = read_text(file);
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        std::size_t line = 1, column = 1;
        for (std::size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
            if (text[i] == '\n') ++line, column = 1;
            else ++column;
        }
        std::string what = e.what();
        // nlohmann's message repeats the position after its id; keep only the reason.
        if (const auto colon = what.find(": "); colon != std::string::npos) what = what.substr(colon + 2);
        throw CheckpointError(file.string() + ":" + std::to_string(line) + ":" + std::to_string(column) +
                              ": not valid JSON: " + what);
    } catch (const nlohmann::json::exception& e) {
        // A number beyond a double (1e400) is out_of_range, not a parse_error, and has no position.
        std::string what = e.what();
        if (const auto end = what.find("] "); end != std::string::npos) what = what.substr(end + 2);
        throw CheckpointError(file.string() + ": not valid JSON: " + what + " (numbers must fit a double)");
    }
}

// The shards named by a *.index.json, every one read; the union of their tensors.
StateDict read_sharded(const fs::path& index_file, std::vector<fs::path>& weight_files) {
    const auto index = read_json(index_file);
    const std::string where = index_file.string();
    if (!index.is_object() || !index.contains("weight_map") || !index.at("weight_map").is_object())
        throw CheckpointError(where + ": a sharded-checkpoint index needs a \"weight_map\" object (tensor name -> shard file)");
    std::map<std::string, std::vector<std::string>> names_by_shard;
    for (const auto& [name, shard] : index.at("weight_map").items()) {
        if (!shard.is_string())
            throw CheckpointError(where + ": weight_map['" + name + "'] must be a shard file name, found " + shard.dump());
        names_by_shard[shard.get<std::string>()].push_back(name);
    }
    if (names_by_shard.empty()) throw CheckpointError(where + ": weight_map is empty; it names no shard");

    StateDict out;
    std::vector<std::string> absent;
    for (const auto& [shard, names] : names_by_shard) {
        const fs::path relative(shard);
        const bool escapes = relative.is_absolute() || std::any_of(relative.begin(), relative.end(),
                                                                   [](const fs::path& part) { return part == ".."; });
        if (escapes)
            throw CheckpointError(where + ": shard '" + shard + "' is outside the model folder; shards must be files beside the index");
        const auto file = index_file.parent_path() / relative;
        if (!fs::is_regular_file(file))
            throw CheckpointError(where + ": maps " + std::to_string(names.size()) + " tensor(s), e.g. '" + names.front() +
                                  "', to shard '" + shard + "', which is not in " + index_file.parent_path().string());
        weight_files.push_back(file);
        auto tensors = read_weights(file);
        for (const auto& name : names)
            if (!tensors.count(name)) absent.push_back("'" + name + "' (in " + shard + ")");
        for (auto& [name, tensor] : tensors) {
            if (out.count(name))
                throw CheckpointError(where + ": tensor '" + name + "' is in more than one shard, the second being " + shard);
            out.emplace(name, std::move(tensor));
        }
    }
    if (!absent.empty()) {
        std::string list;
        for (const auto& item : absent) list += "\n  " + item;
        throw CheckpointError(where + ": " + std::to_string(absent.size()) +
                              " tensor(s) named by weight_map are absent from their shard:" + list);
    }
    return out;
}

// The weights' digest, as a CheckpointError when a file cannot be read.
std::string weights_digest(const std::vector<fs::path>& files) {
    try {
        return media::sha256_hex_of_files(files);
    } catch (const CheckpointError&) {
        throw;
    } catch (const Error& e) {
        throw CheckpointError(e.what());
    }
}

bool starts_with_any(const std::string& name, const std::vector<std::string>& prefixes) {
    return std::any_of(prefixes.begin(), prefixes.end(),
                       [&](const std::string& p) { return name.compare(0, p.size(), p) == 0; });
}

enum class Kind { floating, integral, boolean, other };

Kind kind_of(c10::ScalarType type) {
    if (type == c10::kBool) return Kind::boolean;
    if (c10::isFloatingType(type)) return Kind::floating;
    if (c10::isIntegralType(type, /*includeBool=*/false)) return Kind::integral;
    return Kind::other;
}

// When every missing name is an unexpected one with a common prefix removed, the
// checkpoint wraps the model ("bert." in BertForSequenceClassification): say so.
std::string prefix_hint(const std::vector<std::string>& missing, const std::vector<std::string>& unexpected) {
    std::map<std::string, std::size_t> votes;
    for (const auto& m : missing)
        for (const auto& u : unexpected)
            if (u.size() > m.size() && u.compare(u.size() - m.size(), m.size(), m) == 0 && u[u.size() - m.size() - 1] == '.')
                ++votes[u.substr(0, u.size() - m.size())];
    std::string best;
    std::size_t count = 0;
    for (const auto& [prefix, n] : votes)
        if (n > count) best = prefix, count = n;
    if (count * 2 < missing.size() || count == 0) return "";
    return "\nhint: " + std::to_string(count) + " of the missing names are in the checkpoint under the prefix '" + best +
           "'; set LoadOptions::prefix = \"" + best + "\"";
}

} // namespace

StateDict read_weights(const std::filesystem::path& file) {
    if (!fs::exists(file)) throw CheckpointError(file.string() + ": no such weights file");
    switch (detail::sniff_weight_format(file)) {
    case detail::WeightFormat::safetensors: return read_safetensors(file);
    case detail::WeightFormat::torch_zip: return read_torch_zip(file);
    case detail::WeightFormat::torch_legacy: return read_torch_legacy(file);
    case detail::WeightFormat::unknown: break;
    }
    // A damaged safetensors file gets the safetensors reader's precise reason.
    if (file.extension() == ".safetensors") return read_safetensors(file);
    std::ifstream in(file, std::ios::binary);
    char tar_magic[5] = {};
    constexpr std::streamoff kTarMagicOffset = 257; // "ustar" in a POSIX tar header
    in.seekg(kTarMagicOffset);
    in.read(tar_magic, sizeof tar_magic);
    if (in.gcount() == sizeof tar_magic && std::memcmp(tar_magic, "ustar", sizeof tar_magic) == 0)
        throw CheckpointError(file.string() + ": a tar-format torch.save (PyTorch < 0.4), which this reader does not take; "
                              "load it with an old PyTorch and save it again, or " + conversion_hint());
    throw CheckpointError(file.string() + ": not a weights file this reader knows; accepted: safetensors, "
                          "a torch.save zip (PyTorch >= 1.6, e.g. pytorch_model.bin) or a legacy torch.save file "
                          "(PyTorch < 1.6); " + conversion_hint());
}

Checkpoint load_checkpoint(const std::filesystem::path& folder) {
    const std::string how = "point `checkpoint` at a Hugging Face model folder you already have, or run scripts/fetch-models";
    if (!fs::exists(folder)) throw CheckpointError("checkpoint folder " + folder.string() + " does not exist; " + how);
    if (!fs::is_directory(folder))
        throw CheckpointError("checkpoint " + folder.string() + " is a file, not a model folder (config.json + weights); " + how);

    Checkpoint out;
    out.folder = folder;
    const auto config_file = folder / "config.json";
    out.config = fs::exists(config_file) ? read_json(config_file) : nlohmann::json::object();
    if (!out.config.is_object())
        throw CheckpointError(config_file.string() + ": expected a JSON object, found " + out.config.type_name());

    // Hugging Face's own order of preference.
    const char* singles[] = {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                             "pytorch_model.bin.index.json"};
    for (const char* name : singles) {
        const auto file = folder / name;
        if (!fs::is_regular_file(file)) continue;
        if (file.extension() == ".json") out.weights = read_sharded(file, out.weight_files);
        else {
            out.weights = read_weights(file);
            out.weight_files.push_back(file);
        }
        out.digest = weights_digest(out.weight_files);
        return out;
    }
    std::vector<fs::path> torch_files;
    for (const auto& entry : fs::directory_iterator(folder))
        if (entry.is_regular_file() && (entry.path().extension() == ".pth" || entry.path().extension() == ".pt"))
            torch_files.push_back(entry.path());
    std::sort(torch_files.begin(), torch_files.end());
    if (torch_files.size() > 1) {
        std::string list;
        for (const auto& f : torch_files) list += " " + f.filename().string();
        throw CheckpointError(folder.string() + ": holds several *.pth/*.pt files (" + list.substr(1) +
                              "); keep one, or name the one to use model.safetensors or pytorch_model.bin");
    }
    if (torch_files.empty())
        throw CheckpointError(folder.string() + ": no weights found; looked for model.safetensors, "
                              "model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json and a "
                              "single *.pth or *.pt; " + how);
    out.weights = read_weights(torch_files.front());
    out.weight_files = torch_files;
    out.digest = weights_digest(out.weight_files);
    return out;
}

void load_state_dict(torch::nn::Module& module, const StateDict& weights, const std::string& source,
                     const LoadOptions& options) {
    std::map<std::string, at::Tensor> targets;
    for (const auto& item : module.named_parameters(/*recurse=*/true)) targets.emplace(item.key(), item.value());
    for (const auto& item : module.named_buffers(/*recurse=*/true)) targets.emplace(item.key(), item.value());

    std::vector<std::string> missing, unexpected, mismatched;
    std::vector<std::string> unexpected_names, missing_names;
    std::vector<std::pair<at::Tensor, at::Tensor>> copies;
    std::set<std::string> used;
    for (const auto& [full_name, tensor] : weights) {
        if (full_name.compare(0, options.prefix.size(), options.prefix) != 0) continue;
        const auto name = full_name.substr(options.prefix.size());
        const auto target = targets.find(name);
        if (target == targets.end()) {
            if (!starts_with_any(name, options.may_ignore)) {
                unexpected.push_back(full_name + " " + detail::shape_string(tensor.sizes()));
                unexpected_names.push_back(name);
            }
            continue;
        }
        used.insert(name);
        const auto& into = target->second;
        if (tensor.sizes() != into.sizes())
            mismatched.push_back(full_name + ": checkpoint " + detail::shape_string(tensor.sizes()) + ", model " +
                                 detail::shape_string(into.sizes()));
        else if (kind_of(tensor.scalar_type()) != kind_of(into.scalar_type()))
            mismatched.push_back(full_name + ": checkpoint " + detail::dtype_name(tensor.scalar_type()) + ", model " +
                                 detail::dtype_name(into.scalar_type()) + " (a lossy conversion)");
        else copies.emplace_back(into, tensor);
    }
    for (const auto& [name, tensor] : targets)
        if (!used.count(name) && !starts_with_any(name, options.may_be_missing)) {
            missing.push_back(options.prefix + name + " " + detail::shape_string(tensor.sizes()));
            missing_names.push_back(name);
        }

    if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
        std::string message = source + ": the checkpoint does not fit the model";
        if (!options.prefix.empty()) message += " (names under prefix '" + options.prefix + "')";
        auto list = [&](const char* title, const std::vector<std::string>& items) {
            if (items.empty()) return;
            message += "\n" + std::to_string(items.size()) + " " + title + ":";
            for (const auto& item : items) message += "\n  " + item;
        };
        list("missing (in the model, not in the checkpoint)", missing);
        list("unexpected (in the checkpoint, not in the model)", unexpected);
        list("mismatched", mismatched);
        message += prefix_hint(missing_names, unexpected_names);
        throw CheckpointError(message);
    }

    torch::NoGradGuard no_grad;
    for (auto& [into, from] : copies) into.copy_(from);
}

} // namespace msa::models

// safetensors files read without the Rust library: a bounds-checked header parse, then
// zero-copy tensors over a memory map that lives as long as any of them.
#include "checkpoint_files.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <tuple>
#include <vector>

namespace msa::models {
namespace {

namespace fs = std::filesystem;

// The 8-byte little-endian header length that starts every safetensors file.
constexpr std::size_t kLengthBytes = 8;

[[noreturn]] void malformed(const fs::path& file, const std::string& message) {
    throw CheckpointError(file.string() + ": not a valid safetensors file: " + message);
}

struct DtypeEntry {
    const char* name;
    c10::ScalarType type;
};

// Every safetensors dtype LibTorch 1.13 has a type for. The float8 types (F8_E4M3,
// F8_E5M2) and unsigned types wider than a byte (U16, U32, U64) have none.
constexpr DtypeEntry kDtypes[] = {
    {"F64", c10::kDouble}, {"F32", c10::kFloat}, {"F16", c10::kHalf},  {"BF16", c10::kBFloat16},
    {"I64", c10::kLong},   {"I32", c10::kInt},   {"I16", c10::kShort}, {"I8", c10::kChar},
    {"U8", c10::kByte},    {"BOOL", c10::kBool},
};

std::string accepted_dtypes() {
    std::string out;
    for (const auto& entry : kDtypes) out += (out.empty() ? "" : ", ") + std::string(entry.name);
    return out;
}

c10::ScalarType dtype_of(const fs::path& file, const std::string& name, const std::string& dtype) {
    for (const auto& entry : kDtypes)
        if (dtype == entry.name) return entry.type;
    malformed(file, "tensor '" + name + "' has dtype '" + dtype + "', which this reader cannot hold in a LibTorch " +
                        "tensor; accepted: " + accepted_dtypes());
}

std::uint64_t read_le64(const unsigned char* p) {
    std::uint64_t value = 0;
    for (int i = 7; i >= 0; --i) value = (value << 8) | p[i];
    return value;
}

// The header parsed with duplicate keys refused: nlohmann keeps the last of two equal keys
// silently, and a second "weight" entry must not quietly replace the first.
nlohmann::json parse_header(const fs::path& file, const char* begin, const char* end) {
    std::vector<std::set<std::string>> open_objects;
    std::string duplicate;
    auto check_duplicates = [&](int /*depth*/, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        using Event = nlohmann::json::parse_event_t;
        if (event == Event::object_start) open_objects.emplace_back();
        else if (event == Event::object_end && !open_objects.empty()) open_objects.pop_back();
        else if (event == Event::key && !open_objects.empty() && duplicate.empty()) {
            const auto key = parsed.get<std::string>();
            if (!open_objects.back().insert(key).second) duplicate = key;
        }
        return true;
    };
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(begin, end, check_duplicates);
    } catch (const nlohmann::json::exception& e) {
        // parse_error, or out_of_range for a number beyond a double (1e400).
        malformed(file, "the header is not valid JSON (" + std::string(e.what()) + ")");
    }
    if (!duplicate.empty()) malformed(file, "the header names '" + duplicate + "' twice");
    if (!header.is_object())
        malformed(file, std::string("the header must be a JSON object of tensors, found ") + header.type_name());
    return header;
}

std::uint64_t non_negative(const fs::path& file, const std::string& name, const char* key, const nlohmann::json& value) {
    if (value.is_number_unsigned()) return value.get<std::uint64_t>();
    malformed(file, "tensor '" + name + "': every item of '" + key + "' must be a non-negative integer, found " +
                        (value.is_number_integer() ? value.dump() : std::string(value.type_name())));
}

struct Entry {
    std::string name;
    c10::ScalarType type;
    std::vector<std::int64_t> shape;
    std::uint64_t begin;
    std::uint64_t end;
};

Entry parse_entry(const fs::path& file, const std::string& name, const nlohmann::json& info) {
    if (!info.is_object())
        malformed(file, "tensor '" + name + "' must be an object with dtype, shape and data_offsets, found " +
                            info.type_name());
    for (const char* key : {"dtype", "shape", "data_offsets"})
        if (!info.contains(key)) malformed(file, "tensor '" + name + "' has no '" + key + "'");
    const auto& dtype = info.at("dtype");
    if (!dtype.is_string()) malformed(file, "tensor '" + name + "': 'dtype' must be a string such as \"F32\"");
    const auto& shape = info.at("shape");
    if (!shape.is_array()) malformed(file, "tensor '" + name + "': 'shape' must be a list of integers");
    const auto& offsets = info.at("data_offsets");
    if (!offsets.is_array() || offsets.size() != 2)
        malformed(file, "tensor '" + name + "': 'data_offsets' must be [begin, end], found " + offsets.dump());

    Entry entry{name, dtype_of(file, name, dtype.get<std::string>()), {}, 0, 0};
    const std::uint64_t element_size = c10::elementSize(entry.type);
    std::uint64_t bytes = element_size;
    for (const auto& dim : shape) {
        const std::uint64_t size = non_negative(file, name, "shape", dim);
        if (size > static_cast<std::uint64_t>(INT64_MAX) || __builtin_mul_overflow(bytes, size, &bytes))
            malformed(file, "tensor '" + name + "': shape " + shape.dump() + " is too large to address");
        entry.shape.push_back(static_cast<std::int64_t>(size));
    }
    entry.begin = non_negative(file, name, "data_offsets", offsets[0]);
    entry.end = non_negative(file, name, "data_offsets", offsets[1]);
    if (entry.end < entry.begin)
        malformed(file, "tensor '" + name + "': data_offsets " + offsets.dump() + " end before they begin");
    if (entry.end - entry.begin != bytes)
        malformed(file, "tensor '" + name + "': shape " + shape.dump() + " of " + dtype.get<std::string>() + " needs " +
                            std::to_string(bytes) + " bytes, but data_offsets " + offsets.dump() + " hold " +
                            std::to_string(entry.end - entry.begin));
    return entry;
}

// The format requires the tensors to tile the data region exactly: no overlap (two
// tensors sharing bytes), no hole and no trailing bytes (room to hide another file in).
// The Rust reference rejects the same files.
void check_layout(const fs::path& file, std::vector<Entry>& entries, std::uint64_t data_size) {
    std::vector<const Entry*> order;
    for (const auto& entry : entries) order.push_back(&entry);
    std::sort(order.begin(), order.end(),
              [](const Entry* a, const Entry* b) { return std::tie(a->begin, a->end) < std::tie(b->begin, b->end); });
    std::uint64_t covered = 0;
    const Entry* previous = nullptr;
    for (const Entry* entry : order) {
        if (entry->end > data_size)
            malformed(file, "tensor '" + entry->name + "': data_offsets [" + std::to_string(entry->begin) + ", " +
                                std::to_string(entry->end) + "] run past the data region, which holds " +
                                std::to_string(data_size) + " bytes");
        if (entry->begin < covered)
            malformed(file, "tensors '" + previous->name + "' and '" + entry->name + "' overlap (bytes " +
                                std::to_string(entry->begin) + " to " + std::to_string(std::min(covered, entry->end)) +
                                " of the data region)");
        if (entry->begin > covered)
            malformed(file, "bytes " + std::to_string(covered) + " to " + std::to_string(entry->begin) +
                                " of the data region belong to no tensor (the format allows no holes)");
        covered = entry->end;
        previous = entry;
    }
    if (covered != data_size)
        malformed(file, "the data region holds " + std::to_string(data_size) + " bytes but the tensors cover " +
                            std::to_string(covered) + " (the format allows no trailing bytes)");
}

} // namespace

StateDict read_safetensors(const std::filesystem::path& file) {
    const auto map = detail::MappedFile::open(file);
    if (map->size() < kLengthBytes)
        malformed(file, "it is " + std::to_string(map->size()) +
                            " bytes long, shorter than the 8-byte header length every safetensors file starts with");
    const std::uint64_t header_size = read_le64(map->data());
    if (header_size > map->size() - kLengthBytes)
        malformed(file, "the header length " + std::to_string(header_size) + " runs past the end of the file (" +
                            std::to_string(map->size()) + " bytes)");
    const auto* header_begin = reinterpret_cast<const char*>(map->data() + kLengthBytes);
    const auto header = parse_header(file, header_begin, header_begin + header_size);

    std::vector<Entry> entries;
    for (const auto& [name, info] : header.items()) {
        if (name == "__metadata__") continue; // free-form strings; nothing a model needs
        entries.push_back(parse_entry(file, name, info));
    }
    const std::uint64_t data_offset = kLengthBytes + header_size;
    check_layout(file, entries, map->size() - data_offset);

    StateDict out;
    for (const auto& entry : entries) {
        unsigned char* bytes = map->writable_data() + data_offset + entry.begin;
        const auto options = at::TensorOptions().dtype(entry.type);
        at::Tensor tensor;
        // The format does not promise aligned offsets; kernels may assume them, so an
        // unaligned tensor is copied instead of viewed.
        if (reinterpret_cast<std::uintptr_t>(bytes) % c10::elementSize(entry.type) == 0) {
            tensor = at::from_blob(bytes, entry.shape, [map](void*) {}, options);
        } else {
            tensor = at::empty(entry.shape, options);
            // An empty tensor has no storage: memcpy from or to null is undefined even for 0 bytes.
            if (entry.end > entry.begin) std::memcpy(tensor.data_ptr(), bytes, entry.end - entry.begin);
        }
        if (entry.type == c10::kBool) {
            // A bool byte other than 0 or 1 is undefined behaviour in every kernel.
            const auto* first = bytes;
            const auto* last = bytes + (entry.end - entry.begin);
            if (std::any_of(first, last, [](unsigned char b) { return b > 1; }))
                malformed(file, "BOOL tensor '" + entry.name + "' holds a byte that is neither 0 nor 1");
        }
        out.emplace(entry.name, std::move(tensor));
    }
    return out;
}

} // namespace msa::models

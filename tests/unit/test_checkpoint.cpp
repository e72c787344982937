// Checkpoint reading (safetensors, torch.save zip and legacy, sharded folders) and strict
// loading into modules: exact values from Python-made fixtures, and every malformed case.
#include "test_helpers.hpp"
#include "test_skip.hpp"

#include <msa/models/checkpoint.hpp>

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>

using namespace msa;
using namespace msa::models;
namespace fs = std::filesystem;

namespace {

fs::path checkpoint_fixtures() { return fs::path(MSA_FIXTURE_DIR) / "checkpoints"; }

std::string le64(std::uint64_t value) {
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
    return out;
}

// A safetensors file from its header text and data bytes, exactly as given (so that a
// test can make it wrong on purpose).
std::string safetensors_bytes(const std::string& header, const std::string& data) {
    return le64(header.size()) + header + data;
}

std::string floats(std::initializer_list<float> values) {
    std::string out(values.size() * sizeof(float), '\0');
    std::memcpy(out.data(), values.begin(), out.size());
    return out;
}

fs::path write_binary(const test::TempDir& dir, const std::string& name, const std::string& bytes) {
    const auto file = dir.path() / name;
    std::ofstream(file, std::ios::binary) << bytes;
    return file;
}

// The CheckpointError message of `call`, or "" when it does not throw one.
template <typename F> std::string error_of(F&& call) {
    try {
        call();
    } catch (const CheckpointError& e) {
        return e.what();
    }
    return "";
}

struct TwoLayersImpl : torch::nn::Module {
    TwoLayersImpl()
        : first(register_module("first", torch::nn::Linear(2, 3))),
          norm(register_module("norm", torch::nn::BatchNorm1d(3))) {}
    torch::nn::Linear first;
    torch::nn::BatchNorm1d norm;
};
TORCH_MODULE(TwoLayers);

StateDict two_layers_weights() {
    StateDict w;
    w["first.weight"] = torch::arange(6, torch::kFloat64).reshape({3, 2});
    w["first.bias"] = torch::tensor({1.0f, 2.0f, 3.0f}).to(torch::kHalf);
    w["norm.weight"] = torch::full({3}, 2.0f);
    w["norm.bias"] = torch::full({3}, -1.0f);
    w["norm.running_mean"] = torch::full({3}, 0.5f);
    w["norm.running_var"] = torch::full({3}, 4.0f);
    w["norm.num_batches_tracked"] = torch::tensor(7, torch::kLong);
    return w;
}

} // namespace

TEST_CASE("read_safetensors reads dtypes and shapes as zero-copy views", "[checkpoint]") {
    test::TempDir dir;
    const std::string header =
        R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
        R"("b":{"dtype":"I64","shape":[],"data_offsets":[16,24]},"c":{"dtype":"U8","shape":[3],"data_offsets":[24,27]},)"
        R"("d":{"dtype":"BOOL","shape":[1],"data_offsets":[27,28]},"e":{"dtype":"F16","shape":[0,4],"data_offsets":[28,28]}})";
    const std::string data = floats({1.5f, -2.0f, 3.25f, 4.0f}) + le64(42) + std::string("\x01\x02\xff", 3) + "\x01";
    const auto file = write_binary(dir, "x.safetensors", safetensors_bytes(header, data));

    const auto weights = read_safetensors(file);
    REQUIRE(weights.size() == 5);
    CHECK(weights.at("a").scalar_type() == torch::kFloat);
    CHECK(torch::equal(weights.at("a"), torch::tensor({{1.5f, -2.0f}, {3.25f, 4.0f}})));
    CHECK(weights.at("b").dim() == 0);
    CHECK(weights.at("b").item<std::int64_t>() == 42);
    CHECK(torch::equal(weights.at("c"), torch::tensor({1, 2, 255}, torch::kByte)));
    CHECK(weights.at("d").item<bool>());
    CHECK(weights.at("e").sizes() == torch::IntArrayRef({0, 4}));
    CHECK(weights.at("e").scalar_type() == torch::kHalf);

    // The views outlive the StateDict; writing to one must not touch the file.
    at::Tensor a = weights.at("a");
    a.mul_(2);
    CHECK(a[0][0].item<float>() == 3.0f);
    CHECK(read_safetensors(file).at("a")[0][0].item<float>() == 1.5f);
    CHECK(read_weights(file).size() == 5);
}

TEST_CASE("read_safetensors refuses every malformed file with the file's name", "[checkpoint]") {
    test::TempDir dir;
    const std::string good_tensor = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
    const std::string eight = floats({1, 2});
    struct Case {
        const char* what;
        std::string bytes;
        const char* expected;
    };
    const std::vector<Case> cases = {
        {"empty file", "", "shorter than the 8-byte header length"},
        {"7 bytes", std::string(7, '\0'), "shorter than the 8-byte header length"},
        {"header length beyond the file", le64(1000) + "{}", "runs past the end of the file"},
        {"header length overflows", le64(~0ULL) + "{}", "runs past the end of the file"},
        {"header not JSON", safetensors_bytes("{not json", ""), "not valid JSON"},
        {"header a list", safetensors_bytes("[1,2]", ""), "must be a JSON object"},
        {"entry not an object", safetensors_bytes(R"({"w":3})", ""), "must be an object"},
        {"no dtype", safetensors_bytes(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", eight), "has no 'dtype'"},
        {"unknown dtype", safetensors_bytes(R"({"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", "ab"),
         "F8_E4M3"},
        {"negative dimension", safetensors_bytes(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight),
         "non-negative integer"},
        {"size not matching offsets", safetensors_bytes(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight),
         "needs 12 bytes"},
        {"end before begin", safetensors_bytes(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", eight),
         "end before they begin"},
        {"offsets past the data", safetensors_bytes(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", eight),
         "run past the data region"},
        {"three offsets", safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}})", eight),
         "must be [begin, end]"},
        {"overlapping tensors",
         safetensors_bytes(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                           R"("v":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                           eight),
         "overlap"},
        {"hole in the data", safetensors_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight),
         "belong to no tensor"},
        {"trailing bytes", safetensors_bytes("{" + good_tensor + "}", eight + "xyz"), "no trailing bytes"},
        {"duplicate names", safetensors_bytes("{" + good_tensor + "," + good_tensor + "}", eight), "names 'w' twice"},
        {"shape too large", safetensors_bytes(R"({"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", eight),
         "too large"},
        {"bool byte 2", safetensors_bytes(R"({"w":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}})", "\x02"),
         "neither 0 nor 1"},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        const auto file = write_binary(dir, "bad.safetensors", c.bytes);
        const auto message = error_of([&] { read_safetensors(file); });
        CHECK_THAT(message, Catch::Contains(file.string()) && Catch::Contains(c.expected));
        // read_weights takes a .safetensors file to the same reader, for the same reason.
        CHECK_THAT(error_of([&] { read_weights(file); }), Catch::Contains(c.expected));
    }
    CHECK_THAT(error_of([&] { read_safetensors(dir.path() / "absent.safetensors"); }), Catch::Contains("cannot open"));
}

TEST_CASE("load_state_dict copies by name and converts dtype", "[checkpoint]") {
    TwoLayers model;
    load_state_dict(*model, two_layers_weights(), "test weights");
    CHECK(torch::equal(model->first->weight, torch::arange(6, torch::kFloat).reshape({3, 2})));
    CHECK(torch::equal(model->first->bias, torch::tensor({1.0f, 2.0f, 3.0f})));
    CHECK(torch::equal(model->norm->running_var, torch::full({3}, 4.0f)));
    CHECK(model->norm->num_batches_tracked.item<std::int64_t>() == 7);
    CHECK(model->first->weight.requires_grad());
}

TEST_CASE("load_state_dict lists every missing, unexpected and mismatched tensor", "[checkpoint]") {
    TwoLayers model;
    auto weights = two_layers_weights();
    weights.erase("norm.bias");
    weights.erase("norm.running_mean");
    weights["extra.weight"] = torch::zeros({5});
    weights["first.weight"] = torch::zeros({2, 3});
    weights["norm.num_batches_tracked"] = torch::tensor(1.5);
    const auto before = model->first->bias.clone();
    const auto message = error_of([&] { load_state_dict(*model, weights, "ckpt/model.safetensors"); });
    CHECK_THAT(message, Catch::Contains("ckpt/model.safetensors"));
    CHECK_THAT(message, Catch::Contains("2 missing") && Catch::Contains("norm.bias [3]") &&
                            Catch::Contains("norm.running_mean [3]"));
    CHECK_THAT(message, Catch::Contains("1 unexpected") && Catch::Contains("extra.weight [5]"));
    CHECK_THAT(message, Catch::Contains("first.weight: checkpoint [2, 3], model [3, 2]"));
    CHECK_THAT(message, Catch::Contains("norm.num_batches_tracked: checkpoint float32, model int64"));
    // Nothing is copied when anything is wrong: no half-loaded model.
    CHECK(torch::equal(model->first->bias, before));
}

TEST_CASE("load_state_dict honours prefix, may_ignore and may_be_missing", "[checkpoint]") {
    StateDict wrapped;
    for (auto& [name, tensor] : two_layers_weights()) wrapped["model." + name] = tensor;
    wrapped["classifier.weight"] = torch::zeros({2, 2}); // outside the prefix: not considered
    wrapped["model.head.weight"] = torch::zeros({1});

    TwoLayers model;
    const auto without_prefix = error_of([&] { load_state_dict(*model, wrapped, "w"); });
    CHECK_THAT(without_prefix, Catch::Contains("LoadOptions::prefix = \"model.\""));

    LoadOptions options;
    options.prefix = "model.";
    CHECK_THAT(error_of([&] { load_state_dict(*model, wrapped, "w", options); }), Catch::Contains("model.head.weight"));
    options.may_ignore = {"head."};
    wrapped.erase("model.norm.num_batches_tracked");
    CHECK_THAT(error_of([&] { load_state_dict(*model, wrapped, "w", options); }),
               Catch::Contains("model.norm.num_batches_tracked"));
    options.may_be_missing = {"norm.num_batches_tracked"};
    load_state_dict(*model, wrapped, "w", options);
    CHECK(torch::equal(model->norm->weight, torch::full({3}, 2.0f)));
}

TEST_CASE("load_checkpoint reads a folder with config.json and model.safetensors", "[checkpoint]") {
    test::TempDir dir;
    dir.write("config.json", R"({"hidden_size": 4, "model_type": "toy"})");
    const std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    write_binary(dir, "model.safetensors", safetensors_bytes(header, floats({1, 2})));
    const auto checkpoint = load_checkpoint(dir.path());
    CHECK(checkpoint.config.at("hidden_size") == 4);
    REQUIRE(checkpoint.weights.size() == 1);
    CHECK(torch::equal(checkpoint.weights.at("w"), torch::tensor({1.0f, 2.0f})));
    REQUIRE(checkpoint.weight_files.size() == 1);
    CHECK(checkpoint.weight_files[0].filename() == "model.safetensors");
    CHECK(checkpoint.digest.size() == 64);
}

TEST_CASE("load_checkpoint errors name the folder and what was looked for", "[checkpoint]") {
    test::TempDir dir;
    CHECK_THAT(error_of([&] { load_checkpoint(dir.path() / "nowhere"); }),
               Catch::Contains("nowhere") && Catch::Contains("does not exist") && Catch::Contains("scripts/fetch-models"));
    CHECK_THAT(error_of([&] { load_checkpoint(dir.path()); }),
               Catch::Contains(dir.path().string()) && Catch::Contains("model.safetensors") &&
                   Catch::Contains("pytorch_model.bin") && Catch::Contains("*.pth"));
    dir.write("config.json", "{\n  \"hidden_size\": 4,\n  \"x\": ]\n}\n");
    CHECK_THAT(error_of([&] { load_checkpoint(dir.path()); }), Catch::Contains("config.json:3:"));
    // Found by tests/fuzz: a number beyond a double was nlohmann's out_of_range, not an msa error.
    dir.write("config.json", R"({"layer_norm_eps": 1e400})");
    CHECK_THAT(error_of([&] { load_checkpoint(dir.path()); }),
               Catch::Contains("config.json: not valid JSON: number overflow") && Catch::Contains("fit a double"));
}

TEST_CASE("a torch.save zip whose record claims more bytes than the file holds is refused", "[checkpoint]") {
    // LibTorch's reader allocated what the central directory claims (tests/fuzz found 4 GB
    // asked for by a 5 KB file); read_torch_zip checks the claims first.
    std::ifstream in(checkpoint_fixtures() / "state.zip.pt", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto entry = bytes.find("PK\x01\x02");
    REQUIRE(entry != std::string::npos);
    bytes.replace(entry + 24, 4, "\xf0\xff\xff\x7f"); // uncompressed size 2147483632
    test::TempDir dir;
    const auto file = write_binary(dir, "claims.pt", bytes);
    CHECK_THAT(error_of([&] { read_weights(file); }),
               Catch::Contains("claims.pt: zip record '") && Catch::Contains("claims 2147483632 bytes"));
}

TEST_CASE("torch.save files keep every dtype, shared storage and parameters", "[checkpoint]") {
    const auto expected = read_safetensors(checkpoint_fixtures() / "expected.safetensors");
    for (const char* name : {"state.zip.pt", "state.legacy.pt"}) {
        INFO(name);
        const auto weights = read_weights(checkpoint_fixtures() / name);
        REQUIRE(weights.size() == expected.size());
        for (const auto& [key, tensor] : expected) {
            INFO(key);
            REQUIRE(weights.count(key));
            CHECK(weights.at(key).scalar_type() == tensor.scalar_type());
            CHECK(weights.at(key).sizes() == tensor.sizes());
            CHECK(torch::equal(weights.at(key), tensor)); // bit-exact, bf16 and f16 included
        }
        // The view shares its base's storage with offset 5 and strides (5, 2), as saved.
        const auto& base = weights.at("layer.weight");
        const auto& view = weights.at("layer.view");
        CHECK(view.storage().data() == base.storage().data());
        CHECK(view.storage_offset() == 5);
        CHECK(view.strides() == torch::IntArrayRef({5, 2}));
        CHECK_FALSE(view.is_contiguous());
        CHECK(weights.at("types.i32")[0].item<std::int32_t>() == INT32_MIN);
        CHECK(weights.at("layer.count")[2].item<std::int64_t>() == 3'000'000'000LL);
        CHECK(weights.at("types.empty").sizes() == torch::IntArrayRef({0, 3}));
        CHECK(weights.at("scalar").dim() == 0);
        CHECK_FALSE(weights.at("types.param").requires_grad());
    }
}

TEST_CASE("a state dict nested in a training checkpoint is unwrapped only when unambiguous", "[checkpoint]") {
    const auto expected = read_safetensors(checkpoint_fixtures() / "expected.safetensors");
    // {"epoch": 3, "state_dict": ..., "lr": 0.01, "name": "run-7", "note": b"..."}
    const auto wrapped = read_weights(checkpoint_fixtures() / "wrapped.pt");
    CHECK(wrapped.size() == expected.size());
    CHECK(torch::equal(wrapped.at("layer.half"), expected.at("layer.half")));
    const auto file = checkpoint_fixtures() / "two_state_dicts.pt";
    CHECK_THAT(error_of([&] { read_weights(file); }),
               Catch::Contains(file.string()) && Catch::Contains("'student': dict of") &&
                   Catch::Contains("'teacher': dict of") && Catch::Contains("not a state dict"));
}

TEST_CASE("foreign globals, TorchScript and unknown files are refused with what is accepted", "[checkpoint]") {
    for (const char* name : {"evil.pt", "evil_zip.pt"}) {
        INFO(name);
        const auto file = checkpoint_fixtures() / name;
        const auto message = error_of([&] { read_weights(file); });
        CHECK_THAT(message, Catch::Contains(file.string()) && Catch::Contains("refusing to load the global '") &&
                                Catch::Contains("system'") && Catch::Contains("collections.OrderedDict"));
    }
    CHECK_THAT(error_of([&] { read_weights(checkpoint_fixtures() / "torchscript.pt"); }),
               Catch::Contains("TorchScript") && Catch::Contains("torch.jit.load"));

    test::TempDir dir;
    std::string noise(4096, '\0');
    std::mt19937 random(7);
    for (auto& c : noise) c = static_cast<char>(random());
    noise[0] = 'x'; // neither a zip, a pickle nor a safetensors header
    const auto unknown = write_binary(dir, "weights.bin", noise);
    CHECK_THAT(error_of([&] { read_weights(unknown); }),
               Catch::Contains(unknown.string()) && Catch::Contains("accepted: safetensors") &&
                   Catch::Contains("legacy torch.save") && Catch::Contains("save_file("));
    const auto pickle = write_binary(dir, "plain.pkl", std::string("\x80\x02\x8a\x01\x05.", 6));
    CHECK_THAT(error_of([&] { read_weights(pickle); }), Catch::Contains("not with torch.save's magic number"));
    CHECK_THAT(error_of([&] { read_weights(dir.path() / "absent.bin"); }), Catch::Contains("no such weights file"));
}

TEST_CASE("damaged torch.save pickles are errors, never reads past the end", "[checkpoint]") {
    test::TempDir dir;
    std::ifstream in(checkpoint_fixtures() / "state.legacy.pt", std::ios::binary);
    const std::string legacy(std::istreambuf_iterator<char>(in), {});
    // Every prefix of the file: a truncated download.
    for (std::size_t cut = 0; cut < legacy.size(); cut += 37) {
        INFO("cut at " << cut);
        const auto file = write_binary(dir, "cut.pt", legacy.substr(0, cut));
        CHECK_THAT(error_of([&] { read_torch_legacy(file); }), Catch::Contains(file.string()));
    }
    // Every byte flipped in turn: an error or a state dict, never a crash or another exception.
    // (Every 9th byte of the pickles, every 4th of the safetensors header: each is a file written and read.)
    auto read_flipped = [&](const std::string& bytes, std::size_t end, std::size_t step, const char* name, auto reader) {
        for (std::size_t at = 0; at < end; at += step) {
            std::string broken = bytes;
            broken[at] = static_cast<char>(broken[at] ^ 0x5a);
            const auto file = write_binary(dir, name, broken);
            try {
                reader(file);
            } catch (const CheckpointError&) {
            } catch (const std::exception& e) {
                FAIL("flipping byte " << at << " of " << name << " let through: " << e.what());
            }
        }
    };
    read_flipped(legacy, legacy.size(), 9, "flipped.pt", [](const fs::path& f) { read_torch_legacy(f); });
    std::ifstream safetensors_in(checkpoint_fixtures() / "expected.safetensors", std::ios::binary);
    const std::string safetensors(std::istreambuf_iterator<char>(safetensors_in), {});
    const std::size_t header_end = 8 + static_cast<unsigned char>(safetensors[0]) + 256 * static_cast<unsigned char>(safetensors[1]);
    read_flipped(safetensors, header_end, 4, "flipped.safetensors", [](const fs::path& f) { read_safetensors(f); });
    // A storage that claims more elements than the file has.
    // (Arrays, not pointers: the bytes hold NULs.)
    const char magic[] = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.";
    const char rest[] = "\x80\x02M\xe9\x03.\x80\x02}.\x80\x02(X\x07\x00\x00\x00storage"
                        "ctorch\nFloatStorage\nX\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuJ\xff\xff\xff\x7fNtQ.";
    const std::string huge_storage = std::string(magic, sizeof magic - 1) + std::string(rest, sizeof rest - 1);
    const auto file = write_binary(dir, "huge.pt", huge_storage);
    CHECK_THAT(error_of([&] { read_torch_legacy(file); }), Catch::Contains("more than the file holds"));
}

TEST_CASE("load_checkpoint reads every shard of a sharded folder", "[checkpoint]") {
    const auto checkpoint = load_checkpoint(checkpoint_fixtures() / "sharded");
    CHECK(checkpoint.config.at("hidden_size") == 3);
    REQUIRE(checkpoint.weights.size() == 3);
    CHECK(torch::equal(checkpoint.weights.at("a.weight"), torch::arange(6, torch::kFloat).reshape({2, 3})));
    CHECK(torch::equal(checkpoint.weights.at("b.weight"), torch::full({3}, 4.0, torch::kHalf)));
    REQUIRE(checkpoint.weight_files.size() == 2);
    CHECK(checkpoint.weight_files[1].filename() == "model-00002-of-00002.safetensors");
    // sha256 of the two shards' bytes, one after the other, by Python's hashlib.
    std::string expected_digest;
    std::ifstream(checkpoint_fixtures() / "sharded.sha256") >> expected_digest;
    CHECK(checkpoint.digest == expected_digest);
}

TEST_CASE("a sharded index naming a missing shard or tensor is an error", "[checkpoint]") {
    test::TempDir dir;
    fs::copy(checkpoint_fixtures() / "sharded", dir.path(), fs::copy_options::recursive);
    const auto index_file = dir.path() / "model.safetensors.index.json";
    const auto index = nlohmann::json::parse(std::ifstream(index_file));
    auto rewrite = [&](const nlohmann::json& j) { std::ofstream(index_file) << j.dump(); };

    auto absent_tensor = index;
    absent_tensor["weight_map"]["c.weight"] = "model-00002-of-00002.safetensors";
    rewrite(absent_tensor);
    CHECK_THAT(error_of([&] { load_checkpoint(dir.path()); }),
               Catch::Contains(index_file.string()) && Catch::Contains("'c.weight' (in model-00002-of-00002.safetensors)"));

    auto absent_shard = index;
    absent_shard["weight_map"]["b.weight"] = "model-00003-of-00002.safetensors";
    rewrite(absent_shard);
    CHECK_THAT(error_of([&] { load_checkpoint(dir.path()); }),
               Catch::Contains("'model-00003-of-00002.safetensors', which is not in"));

    auto escaping = index;
    escaping["weight_map"]["b.weight"] = "../elsewhere.safetensors";
    rewrite(escaping);
    CHECK_THAT(error_of([&] { load_checkpoint(dir.path()); }), Catch::Contains("outside the model folder"));

    rewrite(nlohmann::json{{"metadata", {}}});
    CHECK_THAT(error_of([&] { load_checkpoint(dir.path()); }), Catch::Contains("\"weight_map\""));
    std::ofstream(index_file) << "{\"weight_map\": {\n\"a\": \n";
    CHECK_THAT(error_of([&] { load_checkpoint(dir.path()); }), Catch::Contains("model.safetensors.index.json:3:"));
}

TEST_CASE("load_checkpoint takes pytorch_model.bin and a single .pth", "[checkpoint]") {
    test::TempDir dir;
    fs::copy_file(checkpoint_fixtures() / "state.zip.pt", dir.path() / "pytorch_model.bin");
    CHECK(load_checkpoint(dir.path()).weights.count("layer.view"));
    fs::remove(dir.path() / "pytorch_model.bin");
    fs::copy_file(checkpoint_fixtures() / "state.legacy.pt", dir.path() / "weights.pth");
    const auto checkpoint = load_checkpoint(dir.path());
    CHECK(checkpoint.weights.count("layer.view"));
    CHECK(checkpoint.config.empty());
    fs::copy_file(checkpoint_fixtures() / "state.zip.pt", dir.path() / "other.pt");
    CHECK_THAT(error_of([&] { load_checkpoint(dir.path()); }), Catch::Contains("several *.pth/*.pt files (other.pt weights.pth)"));
    CHECK_THAT(error_of([&] { load_checkpoint(checkpoint_fixtures() / "state.zip.pt"); }), Catch::Contains("is a file, not a model folder"));
}

TEST_CASE("the real EfficientNet-Lite0 legacy file equals what torch.load gives", "[checkpoint]") {
    const auto file = test::models_dir() / "efficientnet-lite0" / "efficientnet-lite0-57934424.pth";
    if (!fs::exists(file)) MSA_SKIP(file << " is absent; run scripts/fetch-models");
    const auto weights = read_weights(file);
    const auto sums = nlohmann::json::parse(std::ifstream(checkpoint_fixtures() / "efficientnet-lite0.fnv.json"));
    REQUIRE(weights.size() == sums.size());
    for (const auto& [name, expected] : sums.items()) {
        INFO(name);
        REQUIRE(weights.count(name));
        const auto tensor = weights.at(name).contiguous();
        CHECK(tensor.sizes().vec() == expected.at("shape").get<std::vector<std::int64_t>>());
        const auto* bytes = static_cast<const unsigned char*>(tensor.data_ptr());
        CHECK(test::fnv1a64({bytes, bytes + tensor.nbytes()}) == expected.at("fnv1a64").get<std::string>());
    }
}

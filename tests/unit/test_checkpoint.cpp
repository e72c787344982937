// Checkpoint reading (safetensors, torch.save zip and legacy, sharded folders) and strict
// loading into modules: exact values from Python-made fixtures, and every malformed case.
#include "test_helpers.hpp"

#include <msa/models/checkpoint.hpp>

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cstring>
#include <fstream>

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
    CHECK_THAT(message, Catch::Contains("norm.num_batches_tracked: checkpoint float64, model int64"));
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
}

// torch.save files (zip and legacy) read by our restricted unpickler: every tensor equal
// to what torch.load gives (fixtures from scripts/make-checkpoint-fixtures.py), foreign
// globals refused, damaged files reported, and the real EfficientNet-Lite0 weights read.
#include "test_helpers.hpp"

#include <msa/models/checkpoint.hpp>

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <fstream>

using namespace msa::models;
using namespace msa::test;
using Catch::Matchers::Contains;

namespace {

const auto dir = std::filesystem::path(MSA_FIXTURE_DIR) / "checkpoints";

void require_equal(const StateDict& got, const StateDict& expected) {
    REQUIRE(got.size() == expected.size());
    for (const auto& [name, tensor] : expected) {
        INFO(name);
        REQUIRE(got.count(name));
        CHECK(got.at(name).scalar_type() == tensor.scalar_type());
        CHECK(got.at(name).sizes() == tensor.sizes());
        CHECK(at::equal(got.at(name).contiguous(), tensor));
    }
}

} // namespace

TEST_CASE("torch.save zip and legacy files give the tensors torch.load gives", "[checkpoint]") {
    const StateDict expected = read_safetensors(dir / "expected.safetensors");
    require_equal(read_torch_zip(dir / "state.zip.pt"), expected);
    require_equal(read_torch_legacy(dir / "state.legacy.pt"), expected);
    // read_weights picks the reader by content, not by name.
    require_equal(read_weights(dir / "state.zip.pt"), expected);
    require_equal(read_weights(dir / "state.legacy.pt"), expected);
    // A training checkpoint's state dict is found under "state_dict".
    require_equal(read_weights(dir / "wrapped.pt"), expected);
    // The view shares storage with its base, as in the file.
    const StateDict zip = read_torch_zip(dir / "state.zip.pt");
    CHECK(zip.at("layer.view").stride(1) == 2);
}

TEST_CASE("a pickle that names a global a state dict does not need is refused, naming it", "[checkpoint]") {
    CHECK_THROWS_WITH(read_weights(dir / "evil.pt"),
                      Contains("evil.pt") && Contains("refusing to load the global 'posix.system'"));
}

TEST_CASE("damaged torch.save files are errors that name the file, never crashes", "[checkpoint]") {
    TempDir tmp;
    const std::string zip = [] {
        std::ifstream in(dir / "state.zip.pt", std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }();
    const std::string legacy = [] {
        std::ifstream in(dir / "state.legacy.pt", std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }();
    // Every prefix of the legacy file, and a few of the zip, fail cleanly.
    for (std::size_t cut : {std::size_t{3}, std::size_t{20}, legacy.size() / 3, legacy.size() / 2, legacy.size() - 1}) {
        const auto file = tmp.path() / ("legacy-" + std::to_string(cut) + ".pt");
        std::ofstream(file, std::ios::binary) << legacy.substr(0, cut);
        CHECK_THROWS_AS(read_torch_legacy(file), CheckpointError);
    }
    for (std::size_t cut : {zip.size() / 2, zip.size() - 30}) {
        const auto file = tmp.path() / ("zip-" + std::to_string(cut) + ".pt");
        std::ofstream(file, std::ios::binary) << zip.substr(0, cut);
        CHECK_THROWS_WITH(read_torch_zip(file), Contains(file.string()));
    }
    // Flipped bytes inside the pickle: an error or a state dict, never a crash.
    for (std::size_t at = 30; at < 400 && at < legacy.size(); at += 7) {
        std::string broken = legacy;
        broken[at] = static_cast<char>(broken[at] ^ 0x5A);
        const auto file = tmp.path() / "flipped.pt";
        std::ofstream(file, std::ios::binary) << broken;
        try {
            read_torch_legacy(file);
        } catch (const CheckpointError&) {
        } catch (const c10::Error&) {
            FAIL("a LibTorch error escaped for a flipped byte at " << at);
        }
    }
}

TEST_CASE("the real EfficientNet-Lite0 weights (legacy torch.save) are read", "[checkpoint]") {
    const auto file = models_dir() / "efficientnet-lite0" / "efficientnet-lite0-57934424.pth";
    if (!std::filesystem::exists(file)) {
        WARN("skipped: " << file << " is absent; run scripts/fetch-models");
        return;
    }
    const StateDict weights = read_weights(file);
    CHECK(weights.size() > 200);
    CHECK(weights.at("_conv_stem.weight").sizes() == at::IntArrayRef{32, 3, 3, 3});
    CHECK(weights.at("_fc.weight").sizes() == at::IntArrayRef{1000, 1280});
    CHECK(torch::isfinite(weights.at("_fc.weight")).all().item<bool>());
}

// Swin Transformer V2 against transformers' Swinv2Model on the tiny random checkpoints of
// scripts/parity/swinv2.py: every hidden state, last_hidden_state and pooler_output.
#include "test_helpers.hpp"
#include "test_skip.hpp"

#include "parity_helpers.hpp"

#include <msa/models/checkpoint.hpp>
#include <msa/models/swinv2.hpp>

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <string>

using namespace msa;
using namespace msa::models;
using msa::test::io_tensor;
using msa::test::max_diff;

namespace {

// Agreement required with transformers' outputs, both sides in float64.
constexpr double kTolerance = 1e-4;
// Our float32 run against transformers' float64: transformers' own float32 run is 2.9e-4
// from its float64 one on these weights (cosine attention with temperatures up to 100
// amplifies rounding), so float32 can only be held to rounding of that size.
constexpr double kFloat32Tolerance = 1e-3;

struct LoadedSwinv2 {
    Swinv2Model model{nullptr};
    StateDict io;
};

// The fixture folder's model, strictly loaded, in eval mode; nullopt-like (model null) when absent.
LoadedSwinv2 load_fixture(const std::filesystem::path& dir, bool use_mask_token,
                          at::ScalarType dtype = torch::kDouble) {
    LoadedSwinv2 out;
    if (!std::filesystem::exists(dir / "model.safetensors")) return out;
    const auto checkpoint = load_checkpoint(dir);
    auto config = Swinv2Config::from_json(ModelConfig(checkpoint.config, (dir / "config.json").string()));
    config.use_mask_token = use_mask_token;
    out.model = Swinv2Model(config);
    load_state_dict(*out.model, checkpoint.weights, dir.string());
    // The expected outputs are float64 (see scripts/parity/swinv2.py): compare like with like.
    out.model->to(dtype);
    out.model->eval();
    out.io = read_safetensors(dir / "io.safetensors");
    return out;
}

// Compares one forward pass with the outputs stored under `prefix`; returns the worst diff.
double compare_outputs(const Swinv2Output& out, const StateDict& io, const std::string& prefix,
                       double tolerance = kTolerance) {
    double worst = 0.0;
    auto check = [&](const at::Tensor& ours, const std::string& name) {
        const double diff = max_diff(ours, io_tensor(io, prefix + name), prefix + name);
        INFO(prefix + name << " max abs diff " << diff);
        CHECK(diff <= tolerance);
        worst = std::max(worst, diff);
    };
    REQUIRE(out.hidden_states.size() == 3);
    for (std::size_t i = 0; i < out.hidden_states.size(); ++i)
        check(out.hidden_states[i], "hidden_states." + std::to_string(i));
    check(out.last_hidden_state, "last_hidden_state");
    check(out.pooled, "pooler_output");
    return worst;
}

nlohmann::json tiny_config() {
    return {{"model_type", "swinv2"}, {"image_size", 32},  {"patch_size", 4},      {"embed_dim", 16},
            {"depths", {2, 2}},       {"num_heads", {2, 4}}, {"window_size", 4}, {"pretrained_window_sizes", {0, 0}}};
}

std::string config_error(const nlohmann::json& json) {
    try {
        Swinv2Config::from_json(ModelConfig(json, "swinv2/config.json"));
    } catch (const CheckpointError& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("Swinv2 matches transformers: shifted windows, clamped shift, odd and non-square grids", "[parity][swinv2]") {
    const auto dir = test::parity_fixture_dir("swinv2");
    auto fixture = load_fixture(dir, /*use_mask_token=*/false);
    if (!fixture.model) MSA_SKIP("no parity fixture in " << dir.string() << "; run scripts/make-parity-fixtures");
    torch::NoGradGuard no_grad;
    auto& model = fixture.model;
    const auto& io = fixture.io;
    REQUIRE(model->num_layers() == 2);

    SECTION("32x32 pixels: 8x8 then 4x4 tokens") {
        const auto out = model->forward(io_tensor(io, "pixel_values"));
        WARN("swinv2 32x32: max abs diff " << compare_outputs(out, io, ""));
    }
    SECTION("36x44 pixels: 9x11 tokens (window padding, odd patch merging), then 5x6") {
        const auto out = model->forward(io_tensor(io, "odd.pixel_values"));
        WARN("swinv2 36x44: max abs diff " << compare_outputs(out, io, "odd."));
    }
    SECTION("as a stack: embed, then the stages from cached hidden states") {
        const auto& pixels = io_tensor(io, "pixel_values");
        const auto embedded = model->embed(pixels);
        CHECK(max_diff(embedded, io_tensor(io, "hidden_states.0"), "embed") <= kTolerance);
        const auto top = model->run_layers(io_tensor(io, "hidden_states.1"), at::Tensor(), 1, 2);
        const double diff = max_diff(top, io_tensor(io, "hidden_states.2"), "stage 1 from cache");
        CHECK(diff <= kTolerance);
        const auto all = model->run_layers(embedded, at::Tensor(), 0, 2);
        const auto last = model->final_norm(all);
        CHECK(max_diff(last, io_tensor(io, "last_hidden_state"), "final_norm") <= kTolerance);
        CHECK(max_diff(Swinv2ModelImpl::pool(last), io_tensor(io, "pooler_output"), "pool") <= kTolerance);
        CHECK(model->run_layers(embedded, at::Tensor(), 1, 1).equal(embedded));
        WARN("swinv2 stage 1 run from cached hidden_states.1: max abs diff " << diff);
    }
    SECTION("a non-square grid needs it stated; the inferred one is refused with a reason") {
        const auto& cached = io_tensor(io, "odd.hidden_states.1"); // 5x6 tokens
        CHECK_THROWS_WITH(model->run_layers(cached, at::Tensor(), 1, 2),
                          Catch::Contains("30 tokens") && Catch::Contains("Swinv2Grid"));
        const auto grid = model->grid(1, 36, 44);
        CHECK(grid.height == 5);
        CHECK(grid.width == 6);
        const auto top = model->run_layers(cached, grid, 1, 2);
        CHECK(max_diff(top, io_tensor(io, "odd.hidden_states.2"), "odd stage 1 from cache") <= kTolerance);
    }
    SECTION("misuse is an error that says what was expected") {
        const auto& pixels = io_tensor(io, "pixel_values");
        CHECK_THROWS_WITH(model->run_layers(model->embed(pixels), torch::ones({3, 64}), 0, 1),
                          Catch::Contains("no mask"));
        CHECK_THROWS_WITH(model->run_layers(model->embed(pixels), at::Tensor(), 0, 3), Catch::Contains("out of range"));
        CHECK_THROWS_WITH(model->run_layers(io_tensor(io, "hidden_states.1"), at::Tensor(), 0, 1),
                          Catch::Contains("expects hidden states [N, 16, 16]"));
        CHECK_THROWS_WITH(model->embed(pixels.slice(1, 0, 1)), Catch::Contains("expected [N, 3, height, width]"));
        CHECK_THROWS_WITH(model->embed(pixels, torch::zeros({3, 64}, torch::kBool)),
                          Catch::Contains("use_mask_token"));
    }
}

TEST_CASE("Swinv2 matches transformers: padded then clamped windows, pretrained window sizes, mask token",
          "[parity][swinv2]") {
    const auto dir = test::parity_fixture_dir("swinv2") / "variant";
    auto fixture = load_fixture(dir, /*use_mask_token=*/true);
    if (!fixture.model) MSA_SKIP("no parity fixture in " << dir.string() << "; run scripts/make-parity-fixtures");
    torch::NoGradGuard no_grad;
    const auto& config = fixture.model->config();
    CHECK(config.pretrained_window_sizes == std::vector<std::int64_t>{8, 4});
    CHECK_FALSE(config.qkv_bias);
    CHECK(config.hidden_act == "gelu_new");
    const auto out = fixture.model->forward(io_tensor(fixture.io, "pixel_values"),
                                            io_tensor(fixture.io, "bool_masked_pos"));
    WARN("swinv2 variant (window 8 padded, clamped to 6, masked patches): max abs diff "
         << compare_outputs(out, fixture.io, ""));
    // The mask token matters: without it the embeddings differ.
    const auto unmasked = fixture.model->embed(io_tensor(fixture.io, "pixel_values"));
    CHECK(max_diff(unmasked, io_tensor(fixture.io, "hidden_states.0"), "unmasked embed") > 1e-2);
}

TEST_CASE("Swinv2 in float32 stays within rounding of the float64 transformers outputs", "[parity][swinv2]") {
    const auto dir = test::parity_fixture_dir("swinv2");
    auto fixture = load_fixture(dir, /*use_mask_token=*/false, torch::kFloat);
    if (!fixture.model) MSA_SKIP("no parity fixture in " << dir.string() << "; run scripts/make-parity-fixtures");
    torch::NoGradGuard no_grad;
    for (const std::string prefix : {"", "odd."}) {
        const auto pixels = io_tensor(fixture.io, prefix + "pixel_values").to(torch::kFloat);
        const auto out = fixture.model->forward(pixels);
        REQUIRE(out.last_hidden_state.scalar_type() == torch::kFloat);
        WARN("swinv2 float32 (" << pixels.size(2) << "x" << pixels.size(3) << ") vs transformers float64: max abs diff "
                                << compare_outputs(out, fixture.io, prefix, kFloat32Tolerance));
    }
}

TEST_CASE("Swinv2 checkpoints that do not fit are refused with the tensor names", "[parity][swinv2]") {
    const auto dir = test::parity_fixture_dir("swinv2");
    if (!std::filesystem::exists(dir / "model.safetensors"))
        MSA_SKIP("no parity fixture in " << dir.string() << "; run scripts/make-parity-fixtures");
    const auto checkpoint = load_checkpoint(dir);
    const auto config = Swinv2Config::from_json(ModelConfig(checkpoint.config, "config.json"));

    SECTION("a missing tensor is named") {
        auto weights = checkpoint.weights;
        REQUIRE(weights.erase("encoder.layers.1.blocks.1.attention.self.logit_scale") == 1);
        Swinv2Model model(config);
        CHECK_THROWS_WITH(load_state_dict(*model, weights, dir.string()),
                          Catch::Contains("encoder.layers.1.blocks.1.attention.self.logit_scale"));
    }
    SECTION("a wrongly shaped tensor is named") {
        auto weights = checkpoint.weights;
        weights["encoder.layers.0.blocks.0.attention.self.continuous_position_bias_mlp.2.weight"] = torch::zeros({3, 512});
        Swinv2Model model(config);
        CHECK_THROWS_WITH(load_state_dict(*model, weights, dir.string()),
                          Catch::Contains("continuous_position_bias_mlp.2.weight"));
    }
    SECTION("a mask token the model was not built for is unexpected") {
        auto weights = checkpoint.weights;
        weights["embeddings.mask_token"] = torch::zeros({1, 1, 16});
        Swinv2Model model(config);
        CHECK_THROWS_WITH(load_state_dict(*model, weights, dir.string()), Catch::Contains("embeddings.mask_token"));
    }
    SECTION("a config without q/v biases does not take a checkpoint that has them") {
        auto other = config;
        other.qkv_bias = false;
        Swinv2Model model(other);
        CHECK_THROWS_WITH(load_state_dict(*model, checkpoint.weights, dir.string()),
                          Catch::Contains("attention.self.query.bias"));
    }
    SECTION("coordinate tables are not checkpoint tensors") {
        Swinv2Model model(config);
        for (const auto& item : model->named_buffers()) FAIL("unexpected buffer " << item.key());
        CHECK(model->named_parameters().size() == checkpoint.weights.size());
    }
}

TEST_CASE("Swinv2Config refuses options transformers cannot run, naming the key", "[parity][swinv2]") {
    CHECK(config_error(tiny_config()).empty());

    auto json = tiny_config();
    json["use_absolute_embeddings"] = true;
    CHECK_THAT(config_error(json), Catch::Contains("swinv2/config.json: 'use_absolute_embeddings'") &&
                                       Catch::Contains("accepted: false"));

    json = tiny_config();
    json["hidden_act"] = "mish";
    CHECK_THAT(config_error(json), Catch::Contains("'hidden_act'") && Catch::Contains("'mish'") &&
                                       Catch::Contains("gelu_new"));

    json = tiny_config();
    json["num_heads"] = {2, 4, 8};
    CHECK_THAT(config_error(json), Catch::Contains("'num_heads'") && Catch::Contains("one per stage"));

    json = tiny_config();
    json["num_heads"] = {3, 4};
    CHECK_THAT(config_error(json), Catch::Contains("16 channels, which 3 heads"));

    json = tiny_config();
    json["pretrained_window_sizes"] = {0};
    CHECK_THAT(config_error(json), Catch::Contains("'pretrained_window_sizes'") && Catch::Contains("2 stages"));

    json = tiny_config();
    json["model_type"] = "swin";
    CHECK_THAT(config_error(json), Catch::Contains("'model_type'") && Catch::Contains("'swin'"));

    json = tiny_config();
    json["image_size"] = {32, 40, 48};
    CHECK_THAT(config_error(json), Catch::Contains("'image_size'") && Catch::Contains("[height, width]"));

    json = tiny_config();
    json["image_size"] = 4;
    CHECK_THAT(config_error(json), Catch::Contains("leave no tokens for stage 1"));

    json = tiny_config();
    json["window_size"] = "4";
    CHECK_THAT(config_error(json), Catch::Contains("'window_size'") && Catch::Contains("integer"));

    json = tiny_config();
    json["image_size"] = {24, 40};
    json["patch_size"] = {2, 4};
    const auto config = Swinv2Config::from_json(ModelConfig(json, "config.json"));
    CHECK(config.image_height == 24);
    CHECK(config.image_width == 40);
    CHECK(config.patch_height == 2);
    CHECK(config.patch_width == 4);
    CHECK(config.hidden_size() == 32);
}

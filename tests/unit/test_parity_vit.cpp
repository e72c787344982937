// ViT against transformers on the tiny random checkpoint of scripts/parity/vit.py: every
// hidden state, last_hidden_state and pooler_output; then the configs, checkpoints and
// inputs the module must refuse.
#include "test_helpers.hpp"

#include "parity_helpers.hpp"

#include <msa/models/checkpoint.hpp>
#include <msa/models/vit.hpp>

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <string>

using namespace msa;
using namespace msa::models;
using msa::test::io_tensor;
using msa::test::max_diff;

namespace {

// Agreement required with transformers' float32 outputs.
constexpr double kTolerance = 1e-4;

Checkpoint fixture_checkpoint() {
    const auto dir = test::parity_fixture_dir("vit");
    INFO("regenerate with scripts/make-parity-fixtures");
    REQUIRE(std::filesystem::exists(dir / "model.safetensors"));
    return load_checkpoint(dir);
}

nlohmann::json tiny_config() {
    return {{"model_type", "vit"},   {"hidden_size", 16}, {"num_hidden_layers", 1}, {"num_attention_heads", 2},
            {"intermediate_size", 20}, {"image_size", 32}, {"patch_size", 8}};
}

std::string config_error(const nlohmann::json& json) {
    try {
        ViTConfig::from_json(ModelConfig(json, "vit/config.json"));
    } catch (const CheckpointError& e) {
        return e.what();
    }
    return "(accepted)";
}

std::string load_error(const Checkpoint& checkpoint) {
    try {
        vit_from_checkpoint(checkpoint);
    } catch (const CheckpointError& e) {
        return e.what();
    }
    return "(loaded)";
}

} // namespace

TEST_CASE("ViTModel matches transformers on the tiny ViT checkpoint", "[parity][vit]") {
    torch::NoGradGuard no_grad;
    auto model = vit_from_checkpoint(fixture_checkpoint());
    const auto io = read_safetensors(test::parity_fixture_dir("vit") / "io.safetensors");
    REQUIRE(model->has_pooler());
    // image_size [30, 20] with 10-pixel patches: 3 x 2 patches.
    REQUIRE(model->config().num_patches() == 6);

    const auto& pixels = io_tensor(io, "pixel_values");
    const auto out = model->forward(pixels);
    double worst = 0.0;
    auto check = [&](const at::Tensor& ours, const std::string& name) {
        const double diff = max_diff(ours, io_tensor(io, name), name);
        INFO(name << " max abs diff " << diff);
        CHECK(diff <= kTolerance);
        worst = std::max(worst, diff);
    };
    REQUIRE(out.hidden_states.size() == 3);
    for (std::size_t i = 0; i < out.hidden_states.size(); ++i)
        check(out.hidden_states[i], "hidden_states." + std::to_string(i));
    check(out.last_hidden_state, "last_hidden_state");
    check(out.pooled, "pooler_output");
    WARN("ViT parity: max abs diff " << worst << " over every hidden state, last_hidden_state and pooler_output");

    SECTION("layers run in pieces from a cached hidden state give the same outputs") {
        const auto below = model->run_layers(model->embed(pixels), at::Tensor(), 0, 1);
        const auto top = model->run_layers(below, at::Tensor(), 1, 2);
        const auto last = model->final_norm(top);
        CHECK(max_diff(last, out.last_hidden_state, "final_norm") == 0.0);
        CHECK(max_diff(model->pool(last), out.pooled, "pool") == 0.0);
        CHECK(model->final_step_modules().size() == 2);
    }
    SECTION("images are independent of each other in a batch") {
        const auto one = model->forward(pixels.slice(0, 1, 2)).last_hidden_state;
        CHECK(max_diff(one[0], out.last_hidden_state[1], "single image") <= kTolerance);
    }
}

TEST_CASE("ViTModel refuses images of another size and masks, saying what it takes", "[parity][vit]") {
    torch::NoGradGuard no_grad;
    auto model = vit_from_checkpoint(fixture_checkpoint());
    CHECK_THROWS_WITH(model->forward(torch::zeros({1, 3, 20, 30})),
                      Catch::Contains("[batch, 3, 30, 20]") && Catch::Contains("found [1,3,20,30]") &&
                          Catch::Contains("not interpolated"));
    CHECK_THROWS_WITH(model->forward(torch::zeros({1, 1, 30, 20})), Catch::Contains("[batch, 3, 30, 20]"));
    const auto hidden = model->embed(torch::zeros({2, 3, 30, 20}));
    CHECK_THROWS_WITH(model->run_layers(hidden, torch::ones({2, 7}), 0, 1), Catch::Contains("takes no mask"));
    CHECK_THROWS_WITH(model->run_layers(hidden, at::Tensor(), 0, 3), Catch::Contains("cannot run layers [0, 3)"));
    CHECK_THROWS_WITH(model->run_layers(hidden.slice(1, 0, 5), at::Tensor(), 0, 1), Catch::Contains("[batch, 7, 32]"));
}

TEST_CASE("ViTConfig reads square and rectangular sizes and rejects what it cannot use", "[parity][vit]") {
    auto config = ViTConfig::from_json(ModelConfig(tiny_config(), "vit/config.json"));
    CHECK(config.num_patches() == 16);
    CHECK(config.pooler_output_size == 16);
    CHECK(config.qkv_bias);

    auto json = tiny_config();
    json["image_size"] = {32, 16};
    json["qkv_bias"] = false;
    config = ViTConfig::from_json(ModelConfig(json, "vit/config.json"));
    CHECK(config.image_height == 32);
    CHECK(config.image_width == 16);
    CHECK(config.num_patches() == 8);
    // Without query/key/value biases the module has none to load.
    ViTModel model(config);
    CHECK_FALSE(model->named_parameters().contains("encoder.layer.0.attention.attention.query.bias"));
    CHECK(model->named_parameters().contains("encoder.layer.0.attention.attention.query.weight"));

    json = tiny_config();
    json["model_type"] = "deit";
    CHECK_THAT(config_error(json), Catch::Contains("'deit' is not a ViT model; accepted: vit"));
    json = tiny_config();
    json["image_size"] = {32, 16, 3};
    CHECK_THAT(config_error(json), Catch::Contains("'image_size'") && Catch::Contains("[height, width]"));
    json = tiny_config();
    json["patch_size"] = 64;
    CHECK_THAT(config_error(json), Catch::Contains("smaller than one patch"));
    json = tiny_config();
    json["pooler_act"] = "softmax";
    CHECK_THAT(config_error(json), Catch::Contains("'pooler_act'") && Catch::Contains("accepted: gelu"));
    json = tiny_config();
    json["num_attention_heads"] = 3;
    CHECK_THAT(config_error(json), Catch::Contains("not a multiple"));
}

TEST_CASE("A ViT checkpoint that does not fit is an error naming the tensors", "[parity][vit]") {
    const auto good = fixture_checkpoint();
    CHECK(load_error(good) == "(loaded)");

    auto missing = good;
    missing.weights.erase("encoder.layer.0.layernorm_before.weight");
    CHECK_THAT(load_error(missing), Catch::Contains("encoder.layer.0.layernorm_before.weight"));

    // A masked-image-modeling checkpoint's mask token is not needed to encode.
    auto masked = good;
    masked.weights["embeddings.mask_token"] = torch::zeros({1, 1, 32});
    CHECK(load_error(masked) == "(loaded)");

    auto misshaped = good;
    misshaped.weights["embeddings.position_embeddings"] = torch::zeros({1, 5, 32});
    CHECK_THAT(load_error(misshaped), Catch::Contains("embeddings.position_embeddings"));

    // A ViTForImageClassification checkpoint: "vit." names, a classifier, no pooler.
    auto task = good;
    task.weights.clear();
    for (const auto& [name, tensor] : good.weights)
        if (name.rfind("pooler.", 0) != 0) task.weights["vit." + name] = tensor;
    task.weights["classifier.weight"] = torch::zeros({3, 32});
    task.weights["classifier.bias"] = torch::zeros({3});
    torch::NoGradGuard no_grad;
    auto model = vit_from_checkpoint(task);
    CHECK_FALSE(model->has_pooler());
    const auto io = read_safetensors(test::parity_fixture_dir("vit") / "io.safetensors");
    const auto out = model->forward(io_tensor(io, "pixel_values"));
    CHECK_FALSE(out.pooled.defined());
    CHECK(max_diff(out.last_hidden_state, io_tensor(io, "last_hidden_state"), "task checkpoint") <= kTolerance);
}

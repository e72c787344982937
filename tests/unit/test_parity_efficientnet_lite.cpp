// EfficientNet-Lite against the reference efficientnet_lite_pytorch on the reduced random
// lite0 of scripts/parity/efficientnet_lite.py (every block's output, the head's tokens,
// pooled, logits), its tensor names and shapes for lite0..lite4, and its errors.
#include "test_helpers.hpp"

#include "parity_helpers.hpp"

#include <msa/models/checkpoint.hpp>
#include <msa/models/efficientnet_lite.hpp>

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <fstream>
#include <set>
#include <string>

using namespace msa;
using namespace msa::models;
using msa::test::io_tensor;
using msa::test::max_diff;

namespace {

// Agreement required with the reference's float32 eval outputs.
constexpr double kTolerance = 1e-4;

std::filesystem::path fixture_dir() { return msa::test::parity_fixture_dir("efficientnet-lite"); }

struct Loaded {
    EfficientNetLite model{nullptr};
    StateDict io;
};

Loaded load_fixture() {
    const auto dir = fixture_dir();
    INFO("fixture " << dir.string() << " (made by scripts/parity/efficientnet_lite.py)");
    REQUIRE(std::filesystem::exists(dir / "model.safetensors"));
    const auto checkpoint = load_checkpoint(dir);
    Loaded out;
    out.model = EfficientNetLite(EfficientNetLiteConfig::from_json(ModelConfig(checkpoint.config, (dir / "config.json").string())));
    load_state_dict(*out.model, checkpoint.weights, dir.string());
    // The expected outputs are float64 (scripts/parity/efficientnet_lite.py): like with like.
    out.model->to(torch::kDouble);
    out.model->eval();
    out.io = read_safetensors(dir / "io.safetensors");
    return out;
}

// One forward pass against the outputs stored under `prefix`; returns the worst difference.
double compare_outputs(EfficientNetLite& model, const StateDict& io, const std::string& prefix) {
    torch::NoGradGuard no_grad;
    const auto out = model->forward(io_tensor(io, prefix + "pixel_values"));
    double worst = 0.0;
    auto check = [&](const at::Tensor& ours, const std::string& name) {
        const double diff = max_diff(ours, io_tensor(io, prefix + name), prefix + name);
        INFO(prefix + name << " max abs diff " << diff);
        CHECK(diff <= kTolerance);
        worst = std::max(worst, diff);
    };
    REQUIRE(out.hidden_states.size() == static_cast<std::size_t>(model->num_layers() + 1));
    for (std::size_t i = 0; i < out.hidden_states.size(); ++i)
        check(out.hidden_states[i], "hidden_states." + std::to_string(i));
    check(out.last_hidden_state, "last_hidden_state");
    check(EfficientNetLiteImpl::to_tokens(out.feature_map), "last_hidden_state");
    check(out.pooled, "pooled");
    check(out.logits, "logits");
    return worst;
}

std::string config_error(const nlohmann::json& json) {
    try {
        EfficientNetLiteConfig::from_json(ModelConfig(json, "efficientnet-lite/config.json"));
    } catch (const CheckpointError& e) {
        return e.what();
    }
    FAIL("no CheckpointError for " << json.dump());
    return "";
}

std::string load_error(EfficientNetLite& model, const StateDict& weights) {
    try {
        load_state_dict(*model, weights, "efficientnet-lite");
    } catch (const CheckpointError& e) {
        return e.what();
    }
    FAIL("load_state_dict accepted a checkpoint that does not fit");
    return "";
}

} // namespace

TEST_CASE("EfficientNet-Lite matches efficientnet_lite_pytorch on every block output, pooled and logits",
          "[parity][efficientnet]") {
    auto [model, io] = load_fixture();
    REQUIRE(model->num_layers() == 10);
    SECTION("at the configured size, the reference's static same padding") {
        const double worst = compare_outputs(model, io, "");
        WARN("efficientnet-lite [2,3,41,41]: max abs diff over 11 hidden states, tokens, pooled, logits: " << worst);
    }
    SECTION("odd non-square input, the reference's dynamic same padding") {
        const double worst = compare_outputs(model, io, "dynamic.");
        WARN("efficientnet-lite [3,3,29,38]: max abs diff over 11 hidden states, tokens, pooled, logits: " << worst);
    }
}

TEST_CASE("EfficientNet-Lite stack: the top blocks run from a cached hidden state give the same outputs",
          "[parity][efficientnet]") {
    auto [model, io] = load_fixture();
    torch::NoGradGuard no_grad;
    const at::Tensor& pixels = io_tensor(io, "pixel_values");
    const std::int64_t n = model->num_layers();
    for (const std::int64_t k : {std::int64_t{0}, std::int64_t{3}, n}) {
        INFO("top " << k << " blocks run from hidden_states." << n - k);
        const at::Tensor cached = io_tensor(io, "hidden_states." + std::to_string(n - k));
        const at::Tensor last = model->run_layers(cached, at::Tensor(), n - k, n);
        const at::Tensor logits = model->classify(EfficientNetLiteImpl::pool(model->head(last)));
        CHECK(max_diff(logits, io_tensor(io, "logits"), "logits") <= kTolerance);
    }
    // embed + run_layers(0, n) is forward's path.
    const at::Tensor all = model->run_layers(model->embed(pixels), at::Tensor(), 0, n);
    CHECK(max_diff(all, io_tensor(io, "hidden_states." + std::to_string(n)), "hidden_states.10") <= kTolerance);

    CHECK_THROWS_WITH(model->run_layers(all, at::ones({2, 4}), 0, 1), Catch::Contains("takes no mask"));
    CHECK_THROWS_WITH(model->run_layers(all, at::Tensor(), 4, 11), Catch::Contains("0 <= begin <= end <= 10"));
    CHECK_THROWS_WITH(model->run_layers(all, at::Tensor(), 5, 4), Catch::Contains("outside the 10 blocks"));
    CHECK_THROWS_WITH(model->embed(at::zeros({2, 4, 8, 8})), Catch::Contains("[N, 3, H, W]"));
    CHECK_THROWS_WITH(model->embed(at::zeros({3, 8, 8})), Catch::Contains("[3, 8, 8]"));
    CHECK_THROWS_WITH(model->block(10), Catch::Contains("no block 10"));
    CHECK(model->head_modules().size() == 3);
}

TEST_CASE("EfficientNet-Lite drops residual branches and features only in training mode", "[parity][efficientnet]") {
    auto [model, io] = load_fixture();
    torch::NoGradGuard no_grad;
    const at::Tensor& pixels = io_tensor(io, "pixel_values");
    // Training-mode BatchNorm would update the running statistics: work on a copy.
    auto state = model->named_buffers();
    std::map<std::string, at::Tensor> saved;
    for (const auto& item : state) saved[item.key()] = item.value().clone();

    model->train();
    torch::manual_seed(1);
    const at::Tensor a = model->forward(pixels).logits;
    torch::manual_seed(2);
    const at::Tensor b = model->forward(pixels).logits;
    CHECK(!at::allclose(a, b)); // drop connect and dropout draw differently
    for (auto& item : model->named_buffers()) item.value().copy_(saved.at(item.key()));

    model->eval();
    const double diff = max_diff(model->forward(pixels).logits, io_tensor(io, "logits"), "logits after train()/eval()");
    CHECK(diff <= kTolerance);
}

TEST_CASE("EfficientNet-Lite creates the reference's tensor names and shapes for lite0 to lite4", "[parity][efficientnet]") {
    std::ifstream in(fixture_dir() / "variants.json");
    REQUIRE(in);
    const auto variants = nlohmann::json::parse(in);
    REQUIRE(variants.size() == 5);
    for (const auto& [variant, tensors] : variants.items()) {
        INFO(variant);
        EfficientNetLite model(EfficientNetLiteConfig::from_variant(variant));
        std::map<std::string, std::vector<std::int64_t>> ours;
        for (const auto& p : model->named_parameters()) ours[p.key()] = p.value().sizes().vec();
        for (const auto& b : model->named_buffers()) ours[b.key()] = b.value().sizes().vec();
        std::map<std::string, std::vector<std::int64_t>> reference;
        for (const auto& t : tensors) reference[t[0].get<std::string>()] = t[1].get<std::vector<std::int64_t>>();
        std::vector<std::string> differences;
        for (const auto& [name, shape] : reference) {
            const auto it = ours.find(name);
            if (it == ours.end()) differences.push_back("missing " + name);
            else if (it->second != shape) differences.push_back("shape of " + name);
        }
        for (const auto& [name, shape] : ours)
            if (!reference.count(name)) differences.push_back("extra " + name);
        INFO("first differences: " << (differences.empty() ? "" : differences.front()));
        CHECK(differences.empty());
        CHECK(ours.size() == reference.size());
    }
    // The published sizes: lite0 has 4,652,008 parameters (4.7M), lite4 13.0M.
    std::int64_t lite0 = 0;
    for (const auto& p : EfficientNetLite(EfficientNetLiteConfig::from_variant("efficientnet-lite0"))->parameters())
        lite0 += p.numel();
    CHECK(lite0 == 4652008);
}

TEST_CASE("EfficientNet-Lite config.json: variants, overrides and what the lite family does not have",
          "[parity][efficientnet]") {
    const auto lite2 = EfficientNetLiteConfig::from_json(
        ModelConfig({{"model_type", "efficientnet-lite"}, {"variant", "efficientnet-lite2"}, {"num_classes", 3}}, "c"));
    CHECK(lite2.width_coefficient == 1.1);
    CHECK(lite2.depth_coefficient == 1.2);
    CHECK(lite2.image_size == 260);
    CHECK(lite2.dropout_rate == 0.3);
    CHECK(lite2.num_classes == 3);
    // round_filters: 16 * 1.1 = 17.6 -> 16; 320 * 1.1 = 352 -> 352; the 10% rule: 40 * 0.25 = 10 -> 8 + 8.
    CHECK(lite2.round_filters(16) == 16);
    CHECK(lite2.round_filters(320) == 352);
    auto narrow = lite2;
    narrow.width_coefficient = 0.25;
    CHECK(narrow.round_filters(40) == 16);

    const auto options = efficientnet_lite_image_options(EfficientNetLiteConfig::from_variant("efficientnet-lite0"));
    CHECK(options.shortest_edge == 256);
    CHECK(options.crop_size.height == 224);
    CHECK(options.do_center_crop);
    CHECK(options.resample == media::Resample::bicubic);
    CHECK(options.image_mean[0] == Approx(127.0 / 255.0));
    CHECK(options.image_std[2] == Approx(128.0 / 255.0));

    CHECK_THAT(config_error({{"variant", "efficientnet-b0"}}),
               Catch::Contains("efficientnet-lite/config.json: 'variant': unknown variant 'efficientnet-b0'") &&
                   Catch::Contains("accepted: efficientnet-lite0, efficientnet-lite1"));
    CHECK_THAT(config_error(nlohmann::json::object()), Catch::Contains("'variant': missing"));
    CHECK_THAT(config_error({{"variant", "efficientnet-lite0"}, {"model_type", "efficientnet"}}),
               Catch::Contains("'model_type': 'efficientnet' is not this architecture; expected 'efficientnet-lite'"));
    CHECK_THAT(config_error({{"variant", "efficientnet-lite0"}, {"relu_fn", "swish"}}),
               Catch::Contains("'relu_fn': 'swish' is not supported"));
    CHECK_THAT(config_error({{"variant", "efficientnet-lite0"}, {"use_se", true}}),
               Catch::Contains("'use_se': squeeze-excitation is not supported"));
    CHECK_THAT(config_error({{"variant", "efficientnet-lite0"}, {"fix_head_stem", false}}),
               Catch::Contains("'fix_head_stem'"));
    CHECK_THAT(config_error({{"variant", "efficientnet-lite0"}, {"local_pooling", true}}),
               Catch::Contains("'local_pooling'"));
    CHECK_THAT(config_error({{"variant", "efficientnet-lite0"}, {"num_classes", 0}}),
               Catch::Contains("'num_classes': must be at least 1"));
    CHECK_THAT(config_error({{"variant", "efficientnet-lite0"}, {"drop_connect_rate", 1.5}}),
               Catch::Contains("'drop_connect_rate': must be in [0, 1)"));
    CHECK_THAT(config_error({{"variant", "efficientnet-lite0"}, {"width_coefficient", "wide"}}),
               Catch::Contains("'width_coefficient': expected a number"));
    CHECK_THROWS_WITH(EfficientNetLiteConfig::from_variant("lite0"), Catch::Contains("accepted: efficientnet-lite0"));
}

TEST_CASE("EfficientNet-Lite checkpoint that does not fit: the error names the tensor", "[parity][efficientnet]") {
    const auto checkpoint = load_checkpoint(fixture_dir());
    auto config = EfficientNetLiteConfig::from_json(ModelConfig(checkpoint.config, "config.json"));
    SECTION("a missing tensor") {
        StateDict weights = checkpoint.weights;
        REQUIRE(weights.erase("_blocks.3._depthwise_conv.weight") == 1);
        EfficientNetLite model(config);
        CHECK_THAT(load_error(model, weights), Catch::Contains("_blocks.3._depthwise_conv.weight"));
    }
    SECTION("a head for another number of classes") {
        config.num_classes = 11;
        EfficientNetLite model(config);
        const std::string error = load_error(model, checkpoint.weights);
        CHECK_THAT(error, Catch::Contains("_fc.weight") && Catch::Contains("_fc.bias"));
    }
    SECTION("another width") {
        config.width_coefficient = 0.5;
        EfficientNetLite model(config);
        CHECK_THAT(load_error(model, checkpoint.weights), Catch::Contains("_conv_head.weight"));
    }
}

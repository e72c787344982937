// CLIP against transformers on the tiny random checkpoints of scripts/parity/clip.py: every
// hidden state, last_hidden_state, pooler_output, the projections and logits_per_image,
// plus the checkpoint layouts CLIP comes in and the configs and inputs it must refuse.
#include "test_helpers.hpp"
#include "test_skip.hpp"

#include "parity_helpers.hpp"

#include <msa/models/checkpoint.hpp>
#include <msa/models/clip.hpp>

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <string>

using namespace msa;
using namespace msa::models;
using msa::test::io_tensor;
using msa::test::max_diff;

namespace {

// Agreement required with transformers' float32 outputs.
constexpr double kTolerance = 1e-4;

std::filesystem::path fixture(const std::string& name) { return test::parity_fixture_dir("clip") / name; }

bool fixture_present(const std::string& name) { return std::filesystem::exists(fixture(name) / "io.safetensors"); }

// Why a test case needing the fixture `name` is skipped.
std::string no_fixture(const std::string& name) {
    return "no CLIP parity fixture at " + fixture(name).string() + "; run scripts/make-parity-fixtures";
}

// Checks every compared output and remembers the worst difference for the report.
class Comparison {
public:
    explicit Comparison(const StateDict& io) : io_(io) {}

    void check(const at::Tensor& ours, const std::string& name) {
        const auto& expected = io_tensor(io_, name);
        INFO(name << ": ours " << ours.sizes() << ", transformers " << expected.sizes());
        REQUIRE(ours.defined());
        REQUIRE(ours.sizes() == expected.sizes());
        REQUIRE(ours.scalar_type() == at::kFloat);
        const double diff = (ours.to(at::kDouble) - expected.to(at::kDouble)).abs().max().item<double>();
        INFO(name << " max abs diff " << diff);
        CHECK(diff <= kTolerance);
        if (diff > worst_) {
            worst_ = diff;
            worst_name_ = name;
        }
        ++count_;
    }
    void report(const std::string& what) const {
        WARN(what << ": " << count_ << " outputs, max abs diff " << worst_ << " (" << worst_name_ << ")");
    }

private:
    const StateDict& io_;
    double worst_ = 0.0;
    std::string worst_name_;
    int count_ = 0;
};

void compare_text(Comparison& cmp, const ClipTextOutput& out, bool projected) {
    REQUIRE(out.hidden_states.size() == 3);
    for (std::size_t i = 0; i < out.hidden_states.size(); ++i)
        cmp.check(out.hidden_states[i], "text.hidden_states." + std::to_string(i));
    cmp.check(out.last_hidden_state, "text.last_hidden_state");
    cmp.check(out.pooled, "text.pooler_output");
    if (projected) cmp.check(out.projected, "text.text_embeds");
    else CHECK_FALSE(out.projected.defined());
}

void compare_vision(Comparison& cmp, const ClipVisionOutput& out, bool projected) {
    REQUIRE(out.hidden_states.size() == 3);
    for (std::size_t i = 0; i < out.hidden_states.size(); ++i)
        cmp.check(out.hidden_states[i], "vision.hidden_states." + std::to_string(i));
    cmp.check(out.last_hidden_state, "vision.last_hidden_state");
    cmp.check(out.pooled, "vision.pooler_output");
    if (projected) cmp.check(out.projected, "vision.image_embeds");
    else CHECK_FALSE(out.projected.defined());
}

// The message of the CheckpointError (or other msa::Error) `body` throws; fails if none.
template <class Body> std::string error_of(Body body) {
    try {
        body();
    } catch (const Error& e) {
        return e.what();
    }
    FAIL("no error was thrown");
    return {};
}

// A copy of `checkpoint` without one tensor, or with names rewritten.
Checkpoint without(Checkpoint checkpoint, const std::string& name) {
    checkpoint.weights.erase(name);
    return checkpoint;
}

} // namespace

TEST_CASE("CLIPModel text tower matches transformers", "[parity][clip]") {
    if (!fixture_present("model")) MSA_SKIP(no_fixture("model"));
    torch::NoGradGuard no_grad;
    const auto checkpoint = load_checkpoint(fixture("model"));
    const auto io = read_safetensors(fixture("model") / "io.safetensors");
    auto text = load_clip_text_model(checkpoint);
    REQUIRE(text->num_layers() == 2);
    REQUIRE(text->config().eos_token_id == 98);
    REQUIRE(text->config().hidden_act == ClipActivation::quick_gelu);
    const auto& ids = io_tensor(io, "input_ids");
    const auto& mask = io_tensor(io, "attention_mask");
    Comparison cmp(io);

    compare_text(cmp, text->forward(ids, mask), /*projected=*/true);

    SECTION("without a padding mask: causal only") {
        const auto out = text->forward(ids);
        cmp.check(out.last_hidden_state, "text_nomask.last_hidden_state");
        cmp.check(out.pooled, "text_nomask.pooler_output");
    }
    SECTION("as a stack: the top layer from a cached layer-1 state") {
        // The first EOS (row 1 is left-padded), and 0 for the row without EOS.
        CHECK(text->pool_positions(ids).equal(torch::tensor({4, 8, 8, 0}, torch::kLong)));
        const auto below = text->run_layers(text->embed(ids), mask, 0, 1);
        cmp.check(below, "text.hidden_states.1");
        const auto top = text->run_layers(below.clone(), mask, 1, 2);
        cmp.check(top, "text.hidden_states.2");
        const auto out = text->head(top, text->pool_positions(ids));
        cmp.check(out.last_hidden_state, "text.last_hidden_state");
        cmp.check(out.pooled, "text.pooler_output");
        cmp.check(out.projected, "text.text_embeds");
        CHECK(out.hidden_states.empty());
        CHECK(text->run_layers(top, mask, 2, 2).equal(top));
        CHECK(text->head_modules().size() == 2);
    }
    cmp.report("CLIP text tower (CLIPModel checkpoint)");
}

TEST_CASE("CLIPModel vision tower matches transformers", "[parity][clip]") {
    if (!fixture_present("model")) MSA_SKIP(no_fixture("model"));
    torch::NoGradGuard no_grad;
    const auto checkpoint = load_checkpoint(fixture("model"));
    const auto io = read_safetensors(fixture("model") / "io.safetensors");
    auto vision = load_clip_vision_model(checkpoint);
    REQUIRE(vision->config().hidden_act == ClipActivation::gelu);
    const auto& pixels = io_tensor(io, "pixel_values");
    Comparison cmp(io);

    compare_vision(cmp, vision->forward(pixels), /*projected=*/true);

    const auto below = vision->run_layers(vision->embed(pixels), /*mask=*/{}, 0, 1);
    const auto out = vision->head(vision->run_layers(below, /*mask=*/{}, 1, 2));
    cmp.check(out.last_hidden_state, "vision.last_hidden_state");
    cmp.check(out.projected, "vision.image_embeds");
    cmp.report("CLIP vision tower (CLIPModel checkpoint)");
}

TEST_CASE("CLIPModel zero-shot logits match transformers", "[parity][clip]") {
    if (!fixture_present("model")) MSA_SKIP(no_fixture("model"));
    torch::NoGradGuard no_grad;
    auto model = load_clip_model(load_checkpoint(fixture("model")));
    const auto io = read_safetensors(fixture("model") / "io.safetensors");
    CHECK(model->logit_scale_value() == Approx(3.1).epsilon(1e-6));
    Comparison cmp(io);

    const auto& ids = io_tensor(io, "input_ids");
    const auto& mask = io_tensor(io, "attention_mask");
    const auto& pixels = io_tensor(io, "pixel_values");
    cmp.check(model->logits_per_image(pixels, ids, mask), "logits_per_image");

    const auto image = clip_normalize(model->vision->forward(pixels).projected);
    const auto text = clip_normalize(model->text->forward(ids, mask).projected);
    cmp.check(image, "image_embeds_normalized");
    cmp.check(text, "text_embeds_normalized");
    cmp.check(clip_logits_per_image(image, text, model->logit_scale_value()).t(), "logits_per_text");
    cmp.report("CLIP logits");

    // The towers of the whole model are the ones the checkpoint names.
    std::vector<std::string> names;
    for (const auto& item : model->named_parameters()) names.push_back(item.key());
    CHECK(std::count(names.begin(), names.end(), "logit_scale") == 1);
    CHECK(std::count(names.begin(), names.end(), "text_model.encoder.layers.1.self_attn.q_proj.weight") == 1);
    CHECK(std::count(names.begin(), names.end(), "vision_model.pre_layrnorm.bias") == 1);
    model->train();
    CHECK(model->text->text_model->encoder->layer(0)->self_attn->is_training());
    CHECK(model->text->is_training());
    model->eval();
    CHECK_FALSE(model->vision->is_training());
}

TEST_CASE("CLIPTextModelWithProjection with the legacy eos_token_id 2 matches transformers", "[parity][clip]") {
    if (!fixture_present("text-eos2")) MSA_SKIP(no_fixture("text-eos2"));
    torch::NoGradGuard no_grad;
    auto text = load_clip_text_model(load_checkpoint(fixture("text-eos2")));
    const auto io = read_safetensors(fixture("text-eos2") / "io.safetensors");
    REQUIRE(text->config().eos_token_id == 2);
    REQUIRE(text->config().hidden_act == ClipActivation::gelu_new);
    const auto& ids = io_tensor(io, "input_ids");
    // The highest id, first occurrence: EOS repeated as padding, then BOS at 0, then the end.
    CHECK(text->pool_positions(ids).equal(torch::tensor({3, 0, 6}, torch::kLong)));
    Comparison cmp(io);
    compare_text(cmp, text->forward(ids, io_tensor(io, "attention_mask")), /*projected=*/true);
    cmp.report("CLIP text tower (legacy eos_token_id 2, gelu_new)");
}

TEST_CASE("CLIPVisionModelWithProjection matches transformers", "[parity][clip]") {
    if (!fixture_present("vision")) MSA_SKIP(no_fixture("vision"));
    torch::NoGradGuard no_grad;
    auto vision = load_clip_vision_model(load_checkpoint(fixture("vision")));
    const auto io = read_safetensors(fixture("vision") / "io.safetensors");
    REQUIRE(vision->config().image_size == 24);
    Comparison cmp(io);
    compare_vision(cmp, vision->forward(io_tensor(io, "pixel_values")), /*projected=*/true);
    cmp.report("CLIP vision tower (standalone, 3x3 patches)");
}

TEST_CASE("CLIP towers load bare CLIPTextModel and CLIPVisionModel names and a prefixed tower", "[parity][clip]") {
    if (!fixture_present("model")) MSA_SKIP(no_fixture("model"));
    torch::NoGradGuard no_grad;
    const auto full = load_checkpoint(fixture("model"));
    const auto io = read_safetensors(fixture("model") / "io.safetensors");

    // transformers 5 saves a bare tower without its "text_model." / "vision_model." prefix.
    auto bare = [&](const std::string& tower) {
        Checkpoint out;
        out.folder = fixture("model");
        out.config = full.config.at(tower + "_config");
        const std::string prefix = tower + "_model.";
        for (const auto& [name, tensor] : full.weights)
            if (name.rfind(prefix, 0) == 0) out.weights.emplace(name.substr(prefix.size()), tensor);
        // Older checkpoints still carry the position_ids buffer; it is accepted.
        out.weights.emplace("embeddings.position_ids", torch::arange(11).unsqueeze(0));
        return out;
    };
    Comparison cmp(io);
    auto text = load_clip_text_model(bare("text"));
    CHECK_FALSE(text->config().with_projection);
    compare_text(cmp, text->forward(io_tensor(io, "input_ids"), io_tensor(io, "attention_mask")), /*projected=*/false);
    auto vision = load_clip_vision_model(bare("vision"));
    compare_vision(cmp, vision->forward(io_tensor(io, "pixel_values")), /*projected=*/false);

    // The tower alone from a CLIPModel checkpoint with LoadOptions::prefix.
    auto config = ClipTextConfig::from_json(ModelConfig(full.config, "clip/model/config.json"));
    config.with_projection = false;
    ClipTextModel tower(config);
    LoadOptions options;
    options.prefix = "text_model.";
    load_state_dict(*tower->text_model, full.weights, "clip/model", options);
    tower->eval();
    cmp.check(tower->forward(io_tensor(io, "input_ids"), io_tensor(io, "attention_mask")).pooled,
              "text.pooler_output");
    cmp.report("CLIP bare and prefixed towers");
}

TEST_CASE("CLIP configs refuse what the port does not implement, naming the key", "[parity][clip]") {
    const nlohmann::json tiny_text{{"model_type", "clip_text_model"}, {"hidden_size", 32}, {"num_attention_heads", 4}};
    auto text_error = [](nlohmann::json json) {
        return error_of([&] { ClipTextConfig::from_json(ModelConfig(std::move(json), "clip/config.json")); });
    };

    auto swish = tiny_text;
    swish["hidden_act"] = "swish";
    auto message = text_error(swish);
    CHECK_THAT(message, Catch::Contains("clip/config.json") && Catch::Contains("hidden_act") &&
                            Catch::Contains("'swish'") && Catch::Contains("quick_gelu, gelu, gelu_new"));

    auto eos_list = tiny_text;
    eos_list["eos_token_id"] = {2, 49407};
    CHECK_THAT(text_error(eos_list), Catch::Contains("eos_token_id") && Catch::Contains("list"));

    auto heads = tiny_text;
    heads["num_attention_heads"] = 5;
    CHECK_THAT(text_error(heads), Catch::Contains("not a multiple of num_attention_heads 5"));

    CHECK_THAT(text_error({{"model_type", "siglip"}}),
               Catch::Contains("'siglip' is not a CLIP text model") && Catch::Contains("clip_text_model"));
    CHECK_THAT(text_error({{"model_type", "clip"}, {"text_config", {{"model_type", "clip_vision_model"}}}}),
               Catch::Contains("clip/config.json: text_config") && Catch::Contains("clip_vision_model"));
    CHECK_THAT(text_error({{"model_type", "clip"}, {"text_config", "oops"}}),
               Catch::Contains("text_config") && Catch::Contains("expected an object"));

    // A vision config for the text tower, and a [h, w] image_size, are refused too.
    const auto vision_error = [](nlohmann::json json) {
        return error_of([&] { ClipVisionConfig::from_json(ModelConfig(std::move(json), "clip/config.json")); });
    };
    CHECK_THAT(text_error({{"model_type", "clip_vision_model"}}), Catch::Contains("not a CLIP text model"));
    CHECK_THAT(vision_error({{"model_type", "clip_vision_model"}, {"image_size", {224, 224}}}),
               Catch::Contains("image_size") && Catch::Contains("integer"));

    // Defaults are transformers' (openai/clip-vit-base-patch32); old text_config_dict wins.
    const auto defaults = ClipTextConfig::from_json(ModelConfig({{"model_type", "clip"}}, "clip/config.json"));
    CHECK(defaults.vocab_size == 49408);
    CHECK(defaults.eos_token_id == 49407);
    CHECK(defaults.projection_dim == 512);
    const auto vision_defaults = ClipVisionConfig::from_json(ModelConfig({{"model_type", "clip"}}, "c"));
    CHECK(vision_defaults.hidden_size == 768);
    CHECK(vision_defaults.num_positions() == 50);
    const auto dict = ClipTextConfig::from_json(ModelConfig(
        {{"model_type", "clip"}, {"projection_dim", 16}, {"text_config", {{"hidden_size", 32}, {"num_attention_heads", 4}}},
         {"text_config_dict", {{"hidden_size", 64}, {"num_attention_heads", 4}, {"eos_token_id", 2}}}},
        "c"));
    CHECK(dict.hidden_size == 64);
    CHECK(dict.eos_token_id == 2);
    CHECK(dict.projection_dim == 16);
}

TEST_CASE("CLIP checkpoints that do not fit are errors naming the tensor", "[parity][clip]") {
    if (!fixture_present("model")) MSA_SKIP(no_fixture("model"));
    const auto checkpoint = load_checkpoint(fixture("model"));

    auto message = error_of([&] { load_clip_text_model(without(checkpoint, "text_model.encoder.layers.1.mlp.fc2.weight")); });
    CHECK_THAT(message, Catch::Contains("missing") && Catch::Contains("text_model.encoder.layers.1.mlp.fc2.weight") &&
                            Catch::Contains(fixture("model").string()));
    // The vision tower does not need the text tower's tensors ...
    CHECK_NOTHROW(load_clip_vision_model(without(checkpoint, "text_model.encoder.layers.1.mlp.fc2.weight")));
    // ... but the whole model does, and logit_scale too.
    CHECK_THAT(error_of([&] { load_clip_model(without(checkpoint, "logit_scale")); }), Catch::Contains("logit_scale"));
    CHECK_THAT(error_of([&] { load_clip_vision_model(without(checkpoint, "vision_model.embeddings.class_embedding")); }),
               Catch::Contains("vision_model.embeddings.class_embedding"));

    auto bigger = checkpoint;
    bigger.config["text_config"]["intermediate_size"] = 40;
    CHECK_THAT(error_of([&] { load_clip_text_model(bigger); }),
               Catch::Contains("mismatched") && Catch::Contains("text_model.encoder.layers.0.mlp.fc1.weight"));

    if (std::filesystem::exists(fixture("text-eos2") / "model.safetensors")) {
        const auto text_only = load_checkpoint(fixture("text-eos2"));
        CHECK_THAT(error_of([&] { load_clip_vision_model(text_only); }),
                   Catch::Contains("clip_text_model") && Catch::Contains("not a CLIP vision model"));
        CHECK_THAT(error_of([&] { load_clip_model(text_only); }), Catch::Contains("model_type"));
    }
}

TEST_CASE("CLIP towers refuse inputs they cannot take, saying what fits", "[parity][clip]") {
    if (!fixture_present("model")) MSA_SKIP(no_fixture("model"));
    torch::NoGradGuard no_grad;
    const auto checkpoint = load_checkpoint(fixture("model"));
    auto text = load_clip_text_model(checkpoint);
    auto vision = load_clip_vision_model(checkpoint);

    CHECK_THAT(error_of([&] { text->embed(torch::zeros({1, 12}, torch::kLong)); }),
               Catch::Contains("12 tokens") && Catch::Contains("11 positions"));
    CHECK_THAT(error_of([&] { text->embed(torch::full({1, 3}, 99, torch::kLong)); }),
               Catch::Contains("token id 99") && Catch::Contains("0..98"));
    CHECK_THAT(error_of([&] { text->embed(torch::zeros({1, 3})); }), Catch::Contains("integer token ids"));
    const auto hidden = text->embed(torch::ones({2, 5}, torch::kLong));
    CHECK_THAT(error_of([&] { text->run_layers(hidden, torch::ones({2, 4}), 0, 1); }),
               Catch::Contains("attention mask must be [2, 5]"));
    CHECK_THAT(error_of([&] { text->run_layers(hidden, {}, 1, 3); }),
               Catch::Contains("layers [1, 3)") && Catch::Contains("2 layers"));
    CHECK_THAT(error_of([&] { text->layer(2); }), Catch::Contains("layers 0..1"));

    CHECK_THAT(error_of([&] { vision->embed(torch::zeros({1, 3, 24, 32})); }),
               Catch::Contains("[batch, 3, 32, 32]") && Catch::Contains("[1, 3, 24, 32]"));
    const auto patches = vision->embed(torch::zeros({1, 3, 32, 32}));
    CHECK_THAT(error_of([&] { vision->run_layers(patches, torch::ones({1, 17}), 0, 1); }),
               Catch::Contains("no mask"));
    CHECK_THAT(error_of([&] { clip_logits_per_image(torch::zeros({2, 16}), torch::zeros({3, 8}), 1.0); }),
               Catch::Contains("same D"));
}

TEST_CASE("A real CLIPModel snapshot loads strictly into both towers", "[parity][clip]") {
    // openai/clip-vit-base-patch32 as published: a legacy config (eos_token_id 2, maybe
    // text_config_dict) and, in older files, position_ids buffers. Not fetched by default.
    const auto dir = test::models_dir() / "clip-vit-base-patch32";
    if (!std::filesystem::exists(dir / "config.json"))
        MSA_SKIP("no CLIP checkpoint at " << dir.string() << " (put an openai/clip-vit-base-patch32 snapshot there)");
    torch::NoGradGuard no_grad;
    auto model = load_clip_model(load_checkpoint(dir));
    // OpenAI trained the temperature to its clamp, 100 = exp(4.6052).
    CHECK(model->logit_scale_value() == Approx(std::log(100.0)).epsilon(1e-3));
    const auto& text_config = model->text->config();
    // <|startoftext|> a photo <|endoftext|>, as the CLIP tokenizer writes ids.
    const auto ids = torch::tensor({{49406L, 320L, 1125L, 49407L}});
    const auto pixels = torch::zeros({1, 3, model->vision->config().image_size, model->vision->config().image_size});
    const auto logits = model->logits_per_image(pixels, ids, torch::ones({1, 4}, torch::kLong));
    CHECK(logits.sizes() == at::IntArrayRef({1, 1}));
    CHECK(torch::isfinite(logits).all().item<bool>());
    CHECK(model->text->pool_positions(ids).item<std::int64_t>() == 3);
    WARN("real CLIP: eos_token_id " << text_config.eos_token_id << ", logits_per_image " << logits.item<double>());
}

// MPNet against transformers on the tiny random checkpoint of scripts/parity/mpnet.py: the
// tokenizer's ids on the fixture texts, every hidden state, last_hidden_state and
// pooler_output of their padded batch, the relative position buckets, hf-text's sentence
// features; then the configs, checkpoints and inputs the module must refuse.
#include "test_helpers.hpp"

#include "parity_helpers.hpp"

#include <msa/encoder.hpp>
#include <msa/models/checkpoint.hpp>
#include <msa/models/mpnet.hpp>
#include <msa/models/tokenizer.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>
#include <string>

using namespace msa;
using namespace msa::models;
using msa::test::io_tensor;
using msa::test::max_diff;

namespace {

// Agreement required with transformers' float32 outputs.
constexpr double kTolerance = 1e-4;

Checkpoint fixture_checkpoint() {
    const auto dir = test::parity_fixture_dir("mpnet");
    INFO("regenerate with scripts/make-parity-fixtures");
    REQUIRE(std::filesystem::exists(dir / "model.safetensors"));
    return load_checkpoint(dir);
}

StateDict fixture_io() { return read_safetensors(test::parity_fixture_dir("mpnet") / "io.safetensors"); }

nlohmann::json fixture_texts() {
    return nlohmann::json::parse(std::ifstream(test::parity_fixture_dir("mpnet") / "texts.json"));
}

std::vector<std::string> texts_of(const nlohmann::json& fixture) {
    std::vector<std::string> texts;
    for (const auto& entry : fixture["texts"]) texts.push_back(entry["text"].get<std::string>());
    return texts;
}

nlohmann::json tiny_config() {
    return {{"model_type", "mpnet"},  {"vocab_size", 50},        {"hidden_size", 16},
            {"num_hidden_layers", 1}, {"num_attention_heads", 2}, {"intermediate_size", 20}};
}

std::string config_error(const nlohmann::json& json) {
    try {
        MPNetConfig::from_json(ModelConfig(json, "mpnet/config.json"));
    } catch (const CheckpointError& e) {
        return e.what();
    }
    return "(accepted)";
}

std::string load_error(const Checkpoint& checkpoint) {
    try {
        mpnet_from_checkpoint(checkpoint);
    } catch (const CheckpointError& e) {
        return e.what();
    }
    return "(loaded)";
}

} // namespace

TEST_CASE("the MPNet tokenizer gives transformers' ids on the fixture texts", "[parity][mpnet]") {
    const auto fixture = fixture_texts();
    const auto tokenizer = load_tokenizer(test::parity_fixture_dir("mpnet"), "wordpiece");
    // <s> A </s> from the RobertaProcessing post-processor, padding with <pad> = 1.
    CHECK(tokenizer->pad_id() == 1);
    const auto truncated = fixture["truncated"].get<std::int64_t>();
    for (const auto& entry : fixture["texts"]) {
        const auto text = entry["text"].get<std::string>();
        INFO("text: " << text);
        CHECK(tokenizer->encode(text, 0) == entry["ids"].get<std::vector<std::int64_t>>());
        CHECK(tokenizer->encode(text, truncated) ==
              entry["ids_max_length_" + std::to_string(truncated)].get<std::vector<std::int64_t>>());
    }
    // The padded batch the model outputs were computed on.
    const auto io = fixture_io();
    const auto batch = tokenize_batch(*tokenizer, texts_of(fixture), fixture["max_length"].get<std::int64_t>());
    CHECK(torch::equal(batch.ids, io_tensor(io, "input_ids")));
    CHECK(torch::equal(batch.mask, io_tensor(io, "attention_mask")));
    // Other tokens around the text give other ids, so another cache key than BERT's would.
    CHECK_THAT(tokenizer->cache_key(), Catch::Contains(":around 0 2"));
}

TEST_CASE("MPNetModel matches transformers on the tiny MPNet checkpoint", "[parity][mpnet]") {
    torch::NoGradGuard no_grad;
    auto model = mpnet_from_checkpoint(fixture_checkpoint());
    const auto io = fixture_io();
    REQUIRE(model->has_pooler());
    REQUIRE(model->num_layers() == 2);
    REQUIRE(model->config().max_tokens() == 32);

    const auto& ids = io_tensor(io, "input_ids");
    const auto& mask = io_tensor(io, "attention_mask");
    const auto out = model->forward(ids, mask);
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
    WARN("MPNet parity (five right-padded texts, up to 32 tokens): max abs diff " << worst
         << " over every hidden state, last_hidden_state and pooler_output");

    SECTION("layers run in pieces from a cached hidden state give the same outputs") {
        const auto embedded = model->embed(ids);
        const auto below = model->run_layers(embedded, mask, 0, 1);
        const auto top = model->run_layers(below, mask, 1, 2);
        CHECK(max_diff(below, out.hidden_states[1], "layer 0") == 0.0);
        CHECK(max_diff(top, out.last_hidden_state, "layer 1") == 0.0);
        CHECK(max_diff(model->pool(top), out.pooled, "pool") == 0.0);
        CHECK(max_diff(model->run_layers(embedded, mask, 1, 1), embedded, "empty range") == 0.0);
    }
    SECTION("a right-padded row equals the text alone: padding does not reach the real tokens") {
        for (std::int64_t row = 0; row < ids.size(0); ++row) {
            const auto length = mask[row].sum().item<std::int64_t>();
            const auto alone = model->forward(ids[row].slice(0, 0, length).unsqueeze(0)).last_hidden_state[0];
            CHECK(max_diff(alone, out.last_hidden_state[row].slice(0, 0, length), "row " + std::to_string(row)) <=
                  kTolerance);
        }
    }
    SECTION("the padding mask matters: without it the padded rows change") {
        const auto unmasked = model->forward(ids).last_hidden_state;
        CHECK(max_diff(unmasked[3], out.last_hidden_state[3], "full row") <= kTolerance);
        CHECK(max_diff(unmasked[0].slice(0, 0, 9), out.last_hidden_state[0].slice(0, 0, 9), "padded row") > 1e-2);
    }
    SECTION("the relative position bias matters: without it the outputs change") {
        auto flat = mpnet_from_checkpoint(fixture_checkpoint());
        flat->named_parameters()["encoder.relative_attention_bias.weight"].zero_();
        CHECK(max_diff(flat->forward(ids, mask).last_hidden_state, out.last_hidden_state, "no bias") > 1e-2);
    }
    SECTION("layer and final-step modules are the checkpoint's; the shared bias is in no layer") {
        const auto params = model->layer(1)->named_parameters();
        CHECK(params.contains("attention.attn.q.weight"));
        CHECK(params.contains("attention.attn.o.bias"));
        CHECK(params.contains("attention.LayerNorm.weight"));
        CHECK(params.contains("output.LayerNorm.bias"));
        for (const auto& item : params) CHECK_THAT(item.key(), !Catch::Contains("relative_attention_bias"));
        REQUIRE(model->final_step_modules().size() == 1);
        CHECK(model->final_step_modules()[0]->named_parameters().contains("dense.weight"));
        CHECK_THROWS_WITH(model->layer(2), Catch::Contains("no layer 2") && Catch::Contains("layers 0 to 1"));
    }
}

TEST_CASE("MPNet buckets relative positions as transformers does", "[parity][mpnet]") {
    // Every distance from -300 to 300: exact below 8, logarithmic up to 128, clamped beyond.
    const auto io = fixture_io();
    const auto ours = MPNetModelImpl::relative_position_bucket(io_tensor(io, "relative_position"));
    CHECK(torch::equal(ours, io_tensor(io, "relative_position_bucket")));

    torch::NoGradGuard no_grad;
    auto model = mpnet_from_checkpoint(fixture_checkpoint());
    const auto bias = model->position_bias(5);
    REQUIRE(bias.sizes() == at::IntArrayRef{1, 4, 5, 5});
    const auto table = model->named_parameters()["encoder.relative_attention_bias.weight"];
    // Query 0 looking at key 3 is distance +3: bucket 16 + 3; key 0 from query 3 is bucket 3.
    CHECK(torch::equal(bias[0].select(1, 0).select(1, 3), table[19]));
    CHECK(torch::equal(bias[0].select(1, 3).select(1, 0), table[3]));
}

TEST_CASE("hf-text picks MPNet by model_type and gives transformers' mean-pooled sentence features",
          "[parity][mpnet]") {
    const auto fixture = fixture_texts();
    const auto io = fixture_io();
    std::vector<Sample> samples;
    for (const auto& text : texts_of(fixture)) {
        Sample s;
        s.id = "t" + std::to_string(samples.size());
        s.text = text;
        samples.push_back(s);
    }
    EncoderBatch batch;
    for (const auto& s : samples) batch.samples.push_back(&s);
    auto encoder = test::builtin_catalog().create_encoder(
        "hf-text", test::properties(PluginKind::encoder, "hf-text",
                                    {{"checkpoint", test::parity_fixture_dir("mpnet").string()},
                                     {"max_length", fixture["max_length"].get<std::int64_t>()},
                                     {"pooling", std::string("mean")},
                                     {"normalize", true}}));
    REQUIRE(encoder->dim() == 32);
    const auto ours = encoder->encode(batch).pooled;
    // sentence-transformers' Pooling (mean over real tokens) and Normalize.
    const auto mask = io_tensor(io, "attention_mask").unsqueeze(-1).to(torch::kFloat);
    auto expected = (io_tensor(io, "last_hidden_state") * mask).sum(1) / mask.sum(1).clamp_min(1e-9);
    expected = expected / expected.norm(2, 1, true).clamp_min(1e-12);
    const double diff = max_diff(ours, expected, "sentence features");
    WARN("hf-text on the tiny MPNet, mean-pooled and normalized: max abs diff " << diff);
    CHECK(diff <= kTolerance);

    // Position embeddings for 32 tokens (2 + 32 rows): a longer max_length is refused.
    CHECK_THROWS_WITH(test::builtin_catalog().create_encoder(
                          "hf-text", test::properties(PluginKind::encoder, "hf-text",
                                                      {{"checkpoint", test::parity_fixture_dir("mpnet").string()},
                                                       {"max_length", std::int64_t{33}}})),
                      Catch::Contains("max_length = 33") && Catch::Contains("fit 32 tokens"));
}

TEST_CASE("MPNetConfig rejects what the module does not implement, naming the key", "[parity][mpnet]") {
    CHECK(config_error(tiny_config()) == "(accepted)");
    const auto defaults = MPNetConfig::from_json(ModelConfig(tiny_config(), "mpnet/config.json"));
    CHECK(defaults.layer_norm_eps == 1e-12);
    CHECK(defaults.max_position_embeddings == 512);
    CHECK(defaults.relative_attention_num_buckets == 32);

    auto json = tiny_config();
    json["model_type"] = "bert";
    CHECK_THAT(config_error(json), Catch::Contains("mpnet/config.json") && Catch::Contains("'bert' is not an MPNet") &&
                                       Catch::Contains("accepted: mpnet"));
    json = tiny_config();
    json["relative_attention_num_buckets"] = 16;
    CHECK_THAT(config_error(json), Catch::Contains("'relative_attention_num_buckets'") && Catch::Contains("at least 32"));
    json = tiny_config();
    json["max_position_embeddings"] = 2;
    CHECK_THAT(config_error(json), Catch::Contains("'max_position_embeddings'") && Catch::Contains("at least 3"));
    json = tiny_config();
    json["hidden_act"] = "mish";
    CHECK_THAT(config_error(json), Catch::Contains("'hidden_act'") && Catch::Contains("gelu_new"));
    json = tiny_config();
    json["num_attention_heads"] = 3;
    CHECK_THAT(config_error(json), Catch::Contains("not a multiple of num_attention_heads 3"));
    json = tiny_config();
    json.erase("hidden_size");
    CHECK_THAT(config_error(json), Catch::Contains("'hidden_size'") && Catch::Contains("missing"));
}

TEST_CASE("An MPNet checkpoint that does not fit is an error naming the tensors", "[parity][mpnet]") {
    const auto good = fixture_checkpoint();

    auto missing = good;
    missing.weights.erase("encoder.relative_attention_bias.weight");
    CHECK_THAT(load_error(missing), Catch::Contains("encoder.relative_attention_bias.weight"));

    auto misshaped = good;
    misshaped.weights["encoder.layer.0.attention.attn.o.weight"] = torch::zeros({32, 31});
    CHECK_THAT(load_error(misshaped), Catch::Contains("encoder.layer.0.attention.attn.o.weight"));

    // A task model (MPNetForMaskedLM): names under "mpnet.", its head left unused, and the
    // position_ids buffer older transformers saved.
    auto task = good;
    task.weights.clear();
    for (const auto& [name, tensor] : good.weights) task.weights["mpnet." + name] = tensor;
    task.weights["lm_head.dense.weight"] = torch::zeros({32, 32});
    task.weights["mpnet.embeddings.position_ids"] = torch::arange(34).unsqueeze(0);
    CHECK(load_error(task) == "(loaded)");

    // A BERT config over MPNet weights is refused by model_type.
    auto bert = good;
    bert.config["model_type"] = "bert";
    CHECK_THAT(load_error(bert), Catch::Contains("'bert' is not an MPNet model"));
}

TEST_CASE("MPNetModel refuses inputs it cannot embed with a message saying why", "[parity][mpnet]") {
    torch::NoGradGuard no_grad;
    auto model = mpnet_from_checkpoint(fixture_checkpoint());
    CHECK_THROWS_WITH(model->forward(torch::full({1, 3}, 91, torch::kLong)),
                      Catch::Contains("MPNetModel") && Catch::Contains("token id 91") && Catch::Contains("[0, 91)"));
    // 34 position embeddings, numbered from 2: 32 tokens fit.
    CHECK_THROWS_WITH(model->forward(torch::full({1, 33}, 5, torch::kLong)),
                      Catch::Contains("33 tokens") && Catch::Contains("at most 32"));
    CHECK_NOTHROW(model->forward(torch::full({1, 32}, 5, torch::kLong)));
    CHECK_THROWS_WITH(model->forward(torch::zeros({1, 3})), Catch::Contains("integer tensor"));
    CHECK_THROWS_WITH(model->forward(torch::ones({2, 3}, torch::kLong), torch::ones({2, 4})),
                      Catch::Contains("attention_mask must be [batch, tokens] = [2,3]"));
    const auto hidden = model->embed(torch::ones({1, 3}, torch::kLong));
    CHECK_THROWS_WITH(model->run_layers(hidden, at::Tensor(), 1, 3), Catch::Contains("cannot run layers [1, 3)"));
}

// BERT and RoBERTa against transformers on the tiny random checkpoints of
// scripts/parity/bert.py and roberta.py: every hidden state, last_hidden_state and
// pooler_output; then the configs, checkpoints and inputs the module must refuse.
#include "test_helpers.hpp"

#include "parity_helpers.hpp"

#include <msa/models/bert.hpp>
#include <msa/models/checkpoint.hpp>

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

Checkpoint fixture_checkpoint(const std::string& name) {
    const auto dir = test::parity_fixture_dir(name);
    INFO("regenerate with scripts/make-parity-fixtures");
    REQUIRE(std::filesystem::exists(dir / "model.safetensors"));
    return load_checkpoint(dir);
}

StateDict fixture_io(const std::string& name) { return read_safetensors(test::parity_fixture_dir(name) / "io.safetensors"); }

// Compares a forward pass with io.safetensors; returns the worst difference.
double compare_outputs(const BertModelOutput& out, const StateDict& io, bool with_pooler) {
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
    if (with_pooler) check(out.pooled, "pooler_output");
    return worst;
}

nlohmann::json tiny_config() {
    return {{"model_type", "bert"},        {"vocab_size", 50},       {"hidden_size", 16},
            {"num_hidden_layers", 1},      {"num_attention_heads", 2}, {"intermediate_size", 20},
            {"position_embedding_type", "absolute"}};
}

std::string config_error(const nlohmann::json& json) {
    try {
        BertConfig::from_json(ModelConfig(json, "bert/config.json"));
    } catch (const CheckpointError& e) {
        return e.what();
    }
    return "(accepted)";
}

std::string load_error(const Checkpoint& checkpoint) {
    try {
        bert_from_checkpoint(checkpoint);
    } catch (const CheckpointError& e) {
        return e.what();
    }
    return "(loaded)";
}

} // namespace

TEST_CASE("BertModel matches transformers on the tiny BERT checkpoint", "[parity][bert]") {
    torch::NoGradGuard no_grad;
    auto model = bert_from_checkpoint(fixture_checkpoint("bert"));
    const auto io = fixture_io("bert");
    REQUIRE(model->has_pooler());
    REQUIRE(model->num_layers() == 2);

    const auto& ids = io_tensor(io, "input_ids");
    const auto& mask = io_tensor(io, "attention_mask");
    const auto& types = io_tensor(io, "token_type_ids");
    const auto out = model->forward(ids, mask, types);
    const double worst = compare_outputs(out, io, /*with_pooler=*/true);
    WARN("BERT parity: max abs diff " << worst << " over every hidden state, last_hidden_state and pooler_output");

    SECTION("layers run in pieces from a cached hidden state give the same outputs") {
        const auto embedded = model->embed(ids, types);
        const auto below = model->run_layers(embedded, mask, 0, 1);
        const auto top = model->run_layers(below, mask, 1, 2);
        CHECK(max_diff(below, out.hidden_states[1], "layer 0") == 0.0);
        CHECK(max_diff(top, out.last_hidden_state, "layer 1") == 0.0);
        CHECK(max_diff(model->pool(top), out.pooled, "pool") == 0.0);
        CHECK(max_diff(model->run_layers(embedded, mask, 1, 1), embedded, "empty range") == 0.0);
    }
    SECTION("no token types means all type 0, no mask means every token is real") {
        const auto zeros = torch::zeros_like(ids);
        const auto ones = torch::ones_like(ids);
        CHECK(max_diff(model->forward(ids, ones).last_hidden_state,
                       model->forward(ids, ones, zeros).last_hidden_state, "default token types") == 0.0);
        CHECK(max_diff(model->forward(ids).last_hidden_state, model->forward(ids, ones).last_hidden_state,
                       "default mask") == 0.0);
    }
    SECTION("the padding mask matters: without it the padded rows change") {
        const auto unmasked = model->forward(ids, at::Tensor(), types).last_hidden_state;
        CHECK(max_diff(unmasked[0], out.last_hidden_state[0], "full row") <= kTolerance);
        CHECK(max_diff(unmasked[2], out.last_hidden_state[2], "padded row") > 1e-2);
    }
    SECTION("layer and final-step modules are the checkpoint's") {
        const auto params = model->layer(1)->named_parameters();
        CHECK(params.contains("attention.self.query.weight"));
        CHECK(params.contains("output.LayerNorm.bias"));
        REQUIRE(model->final_step_modules().size() == 1);
        CHECK(model->final_step_modules()[0]->named_parameters().contains("dense.weight"));
        CHECK_THROWS_WITH(model->layer(2), Catch::Contains("no layer 2") && Catch::Contains("layers 0 to 1"));
    }
}

TEST_CASE("RobertaModel matches transformers on a tiny task checkpoint with the roberta. prefix", "[parity][bert]") {
    torch::NoGradGuard no_grad;
    // Saved from RobertaForSequenceClassification: names under "roberta.", a classifier
    // head to leave unused, no pooler.
    auto model = bert_from_checkpoint(fixture_checkpoint("roberta"));
    const auto io = fixture_io("roberta");
    REQUIRE_FALSE(model->has_pooler());
    REQUIRE(model->config().roberta_positions());
    REQUIRE(model->config().type_vocab_size == 1);

    const auto out = model->forward(io_tensor(io, "input_ids"), io_tensor(io, "attention_mask"));
    CHECK_FALSE(out.pooled.defined());
    CHECK(model->final_step_modules().empty());
    const double worst = compare_outputs(out, io, /*with_pooler=*/false);
    WARN("RoBERTa parity (right-, left- and un-padded rows): max abs diff " << worst);

    SECTION("positions count real tokens only: the left-padded row equals itself unpadded") {
        // Row 1 is 2 pads then 5 tokens; RoBERTa gives those tokens positions 2..6 either way.
        const auto row = io_tensor(io, "input_ids")[1].slice(0, 2).unsqueeze(0);
        const auto alone = model->forward(row).last_hidden_state[0];
        CHECK(max_diff(alone, out.last_hidden_state[1].slice(0, 2), "left-padded row") <= kTolerance);
    }
    SECTION("more tokens than position embeddings is an error saying how many fit") {
        // max_position_embeddings 9 with pad_token_id 1: positions 2..8, 7 tokens.
        const auto too_long = torch::full({1, 8}, 5, torch::kLong);
        CHECK_THROWS_WITH(model->forward(too_long), Catch::Contains("8 tokens") && Catch::Contains("at most 7"));
        CHECK_NOTHROW(model->forward(torch::full({1, 7}, 5, torch::kLong)));
    }
}

TEST_CASE("BertConfig rejects what the module does not implement, naming the key", "[parity][bert]") {
    CHECK(config_error(tiny_config()) == "(accepted)");

    auto json = tiny_config();
    json["position_embedding_type"] = "relative_key";
    CHECK_THAT(config_error(json), Catch::Contains("bert/config.json") && Catch::Contains("'position_embedding_type'") &&
                                       Catch::Contains("relative_key") && Catch::Contains("accepted: absolute"));
    json = tiny_config();
    json["is_decoder"] = true;
    CHECK_THAT(config_error(json), Catch::Contains("'is_decoder'"));
    json = tiny_config();
    json["add_cross_attention"] = true;
    CHECK_THAT(config_error(json), Catch::Contains("'add_cross_attention'"));
    json = tiny_config();
    json["model_type"] = "gpt2";
    CHECK_THAT(config_error(json), Catch::Contains("'gpt2' is not a BERT-family model") &&
                                       Catch::Contains("accepted: bert, roberta, xlm-roberta"));
    json = tiny_config();
    json["hidden_act"] = "mish";
    CHECK_THAT(config_error(json), Catch::Contains("'hidden_act'") && Catch::Contains("gelu_new"));
    json = tiny_config();
    json["num_attention_heads"] = 3;
    CHECK_THAT(config_error(json), Catch::Contains("not a multiple of num_attention_heads 3"));
    json = tiny_config();
    json.erase("hidden_size");
    CHECK_THAT(config_error(json), Catch::Contains("'hidden_size'") && Catch::Contains("missing"));
    json = tiny_config();
    json["layer_norm_eps"] = "small";
    CHECK_THAT(config_error(json), Catch::Contains("'layer_norm_eps'") && Catch::Contains("expected a number"));

    // RoBERTa's defaults differ from BERT's where transformers' do.
    json = tiny_config();
    json["model_type"] = "xlm-roberta";
    const auto roberta = BertConfig::from_json(ModelConfig(json, "xlm-r/config.json"));
    CHECK(roberta.pad_token_id == 1);
    CHECK(roberta.roberta_positions());
}

TEST_CASE("A BERT checkpoint that does not fit is an error naming the tensors", "[parity][bert]") {
    const auto good = fixture_checkpoint("bert");

    auto missing = good;
    missing.weights.erase("encoder.layer.1.attention.self.key.bias");
    CHECK_THAT(load_error(missing), Catch::Contains("encoder.layer.1.attention.self.key.bias"));

    auto extra = good;
    extra.weights["encoder.layer.2.output.dense.weight"] = torch::zeros({32, 37});
    CHECK_THAT(load_error(extra), Catch::Contains("encoder.layer.2.output.dense.weight"));

    auto misshaped = good;
    misshaped.weights["embeddings.word_embeddings.weight"] = torch::zeros({98, 32});
    CHECK_THAT(load_error(misshaped), Catch::Contains("embeddings.word_embeddings.weight"));

    // Another architecture's weights: no word embeddings under any prefix.
    auto vit = fixture_checkpoint("vit");
    vit.config = good.config;
    CHECK_THAT(load_error(vit), Catch::Contains("no tensor named 'embeddings.word_embeddings.weight'") &&
                                    Catch::Contains("not a BERT-family checkpoint"));

    // Two BERTs in one file (a bi-encoder): which one is meant cannot be guessed.
    auto two = good;
    for (const auto& [name, tensor] : good.weights) {
        two.weights["query_encoder." + name] = tensor;
        two.weights["doc_encoder." + name] = tensor;
    }
    for (const auto& [name, tensor] : good.weights) two.weights.erase(name);
    CHECK_THAT(load_error(two), Catch::Contains("several prefixes") && Catch::Contains("'doc_encoder.'") &&
                                    Catch::Contains("'query_encoder.'"));

    // The persistent position_ids buffer older transformers saved is not an error.
    auto old = good;
    old.weights["embeddings.position_ids"] = torch::arange(16).unsqueeze(0);
    CHECK(load_error(old) == "(loaded)");
}

TEST_CASE("BertModel refuses inputs it cannot embed with a message saying why", "[parity][bert]") {
    torch::NoGradGuard no_grad;
    auto model = bert_from_checkpoint(fixture_checkpoint("bert"));
    CHECK_THROWS_WITH(model->forward(torch::full({1, 3}, 99, torch::kLong)),
                      Catch::Contains("token id 99") && Catch::Contains("[0, 99)"));
    CHECK_THROWS_WITH(model->forward(torch::full({1, 17}, 5, torch::kLong)),
                      Catch::Contains("17 tokens") && Catch::Contains("at most 16"));
    CHECK_THROWS_WITH(model->forward(torch::zeros({1, 3})), Catch::Contains("integer tensor"));
    CHECK_THROWS_WITH(model->forward(torch::ones({1, 3}, torch::kLong), torch::ones({1, 3}), torch::full({1, 3}, 2, torch::kLong)),
                      Catch::Contains("token_type_ids holds 2") && Catch::Contains("0 to 1"));
    CHECK_THROWS_WITH(model->forward(torch::ones({2, 3}, torch::kLong), torch::ones({2, 4})),
                      Catch::Contains("attention_mask must be [batch, tokens] = [2,3]"));
    const auto hidden = model->embed(torch::ones({1, 3}, torch::kLong));
    CHECK_THROWS_WITH(model->run_layers(hidden, at::Tensor(), 1, 3), Catch::Contains("cannot run layers [1, 3)"));
}

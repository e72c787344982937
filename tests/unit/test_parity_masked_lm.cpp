// The MLM heads of BERT and RoBERTa against transformers on the tiny random checkpoints of
// scripts/parity/bert_mlm.py and roberta_mlm.py: logits, the tie to the word embeddings, the
// bert-mlm tokenizer and its zero-shot prompt end to end; then the checkpoints refused.
#include "test_helpers.hpp"

#include "parity_helpers.hpp"

#include <msa/models/bert.hpp>
#include <msa/models/checkpoint.hpp>
#include <msa/models/tokenizer.hpp>

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cstring>
#include <fstream>
#include <set>
#include <string>

using namespace msa;
using namespace msa::models;
using msa::test::io_tensor;
using msa::test::max_diff;

namespace {

// Agreement required with transformers' float32 outputs.
constexpr double kTolerance = 1e-4;
// logits_for against the full logits gathered: the same products, only fewer of them
// (pip's LibTorch, through MKL, rounds the differently shaped products ~2e-6 apart).
constexpr double kGatherTolerance = 1e-5;

Checkpoint fixture_checkpoint(const std::string& name) {
    const auto dir = test::parity_fixture_dir(name);
    INFO("regenerate with scripts/make-parity-fixtures");
    REQUIRE(std::filesystem::exists(dir / "model.safetensors"));
    return load_checkpoint(dir);
}

StateDict fixture_io(const std::string& name) { return read_safetensors(test::parity_fixture_dir(name) / "io.safetensors"); }

std::set<std::string> parameter_names(torch::nn::Module& module) {
    std::set<std::string> names;
    for (const auto& item : module.named_parameters()) names.insert(item.key());
    return names;
}

// The logits of the model and head on the fixture's inputs against transformers'; returns
// {worst last_hidden_state diff, worst logits diff}.
std::pair<double, double> check_parity(BertMaskedLm& mlm, const StateDict& io) {
    const auto out = mlm.model->forward(io_tensor(io, "input_ids"), io_tensor(io, "attention_mask"));
    const double hidden = max_diff(out.last_hidden_state, io_tensor(io, "last_hidden_state"), "last_hidden_state");
    const double logits = max_diff(mlm.head->forward(out.last_hidden_state), io_tensor(io, "logits"), "logits");
    INFO("last_hidden_state max abs diff " << hidden << ", logits max abs diff " << logits);
    CHECK(hidden <= kTolerance);
    CHECK(logits <= kTolerance);
    return {hidden, logits};
}

std::string load_error(const Checkpoint& checkpoint) {
    try {
        masked_lm_from_checkpoint(checkpoint);
    } catch (const CheckpointError& e) {
        return e.what();
    }
    return "(loaded)";
}

// A model folder on disk: config.json and a model.safetensors of float32 / int64 tensors,
// so that a refused checkpoint goes through load_checkpoint as a user's would.
void write_checkpoint(const std::filesystem::path& folder, const nlohmann::json& config, const StateDict& weights) {
    std::filesystem::create_directories(folder);
    std::ofstream(folder / "config.json") << config.dump(2);
    nlohmann::json header = nlohmann::json::object();
    std::string data;
    for (const auto& [name, tensor] : weights) {
        const auto t = tensor.contiguous().cpu();
        REQUIRE((t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kLong));
        const auto begin = data.size();
        data.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
        header[name] = {{"dtype", t.scalar_type() == torch::kFloat ? "F32" : "I64"},
                        {"shape", t.sizes().vec()},
                        {"data_offsets", {begin, data.size()}}};
    }
    auto text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    const auto length = static_cast<std::uint64_t>(text.size());
    char length_bytes[8];
    for (int i = 0; i < 8; ++i) length_bytes[i] = static_cast<char>((length >> (8 * i)) & 0xff);
    std::ofstream file(folder / "model.safetensors", std::ios::binary);
    file.write(length_bytes, 8);
    file << text << data;
}

} // namespace

TEST_CASE("MaskedLmHead matches transformers on the tiny BertForMaskedLM checkpoint", "[parity][bert]") {
    torch::NoGradGuard no_grad;
    auto mlm = masked_lm_from_checkpoint(fixture_checkpoint("bert-mlm"));
    const auto io = fixture_io("bert-mlm");
    REQUIRE_FALSE(mlm.model->has_pooler());
    REQUIRE(mlm.model->config().vocab_size == io_tensor(io, "logits").size(2));

    const auto [hidden_diff, logits_diff] = check_parity(mlm, io);
    WARN("BERT MLM parity: last_hidden_state max abs diff " << hidden_diff << ", logits max abs diff " << logits_diff);

    const auto hidden = mlm.model->forward(io_tensor(io, "input_ids"), io_tensor(io, "attention_mask")).last_hidden_state;
    SECTION("logits_for equals the full logits gathered, for a few ids in any order") {
        const auto ids = torch::tensor({67, 68, 69, 65, 66, 0, 125, 67}, torch::kLong);
        const auto gathered = mlm.head->forward(hidden).index_select(-1, ids);
        const double diff = max_diff(mlm.head->logits_for(hidden, ids), gathered, "logits_for");
        WARN("logits_for against forward gathered: max abs diff " << diff);
        CHECK(diff <= kGatherTolerance);
        // One position, [hidden_size] -> [K]; int32 ids are taken too.
        const auto one = hidden[2][5];
        CHECK(max_diff(mlm.head->logits_for(one, ids.to(torch::kInt)), gathered[2][5], "one position") <= kGatherTolerance);
        CHECK(mlm.head->logits_for(hidden, torch::empty({0}, torch::kLong)).sizes() == std::vector<std::int64_t>{3, 11, 0});
    }
    SECTION("the head's parameters are the transform's and the bias, never the embeddings") {
        CHECK(parameter_names(*mlm.head) == std::set<std::string>{"transform.dense.weight", "transform.dense.bias",
                                                                   "transform.LayerNorm.weight",
                                                                   "transform.LayerNorm.bias", "bias"});
        CHECK(mlm.head->named_buffers().is_empty());
        const auto embeddings = mlm.model->word_embeddings();
        REQUIRE(embeddings.sizes() == std::vector<std::int64_t>{126, 32});
        for (const auto& parameter : mlm.head->parameters()) CHECK(parameter.data_ptr() != embeddings.data_ptr());
        CHECK(mlm.model->named_parameters()["embeddings.word_embeddings.weight"].data_ptr() == embeddings.data_ptr());
    }
    SECTION("the decoder is tied: changing the embeddings in place changes the logits") {
        const auto before = mlm.head->forward(hidden);
        auto embeddings = mlm.model->word_embeddings();
        embeddings[67].mul_(-2.0);
        const auto after = mlm.head->forward(hidden);
        CHECK(max_diff(after.index_select(-1, torch::tensor({67})), before.index_select(-1, torch::tensor({67})),
                       "token 67") > 1e-2);
        const auto others = torch::cat({torch::arange(67), torch::arange(68, 126)});
        CHECK(max_diff(after.index_select(-1, others), before.index_select(-1, others), "other tokens") == 0.0);
        CHECK(max_diff(mlm.head->logits_for(hidden, torch::tensor({67})), after.index_select(-1, torch::tensor({67})),
                       "logits_for after the change") <= kGatherTolerance);
    }
    SECTION("converting the model converts the decoder with it, as the same tensor") {
        const auto expected = mlm.head->forward(hidden);
        mlm.model->to(torch::kDouble);
        mlm.head->to(torch::kDouble);
        REQUIRE(mlm.model->word_embeddings().scalar_type() == torch::kDouble);
        const auto ids = torch::tensor({65, 66, 67}, torch::kLong);
        CHECK(max_diff(mlm.head->forward(hidden.to(torch::kDouble)), expected, "double") <= 1e-5);
        CHECK(max_diff(mlm.head->logits_for(hidden.to(torch::kDouble), ids), expected.index_select(-1, ids),
                       "double logits_for") <= 1e-5);
    }
    SECTION("bert_from_checkpoint reads the same folder and leaves the head unused") {
        auto model = bert_from_checkpoint(fixture_checkpoint("bert-mlm"));
        CHECK(max_diff(model->forward(io_tensor(io, "input_ids"), io_tensor(io, "attention_mask")).last_hidden_state,
                       hidden, "bert_from_checkpoint") == 0.0);
    }
    SECTION("inputs the head cannot take are errors saying why") {
        CHECK_THROWS_WITH(mlm.head->forward(torch::zeros({2, 31})), Catch::Contains("[..., 32]") && Catch::Contains("[2,31]"));
        CHECK_THROWS_WITH(mlm.head->logits_for(hidden, torch::tensor({3, 126})),
                          Catch::Contains("token id 126") && Catch::Contains("[0, 126)"));
        CHECK_THROWS_WITH(mlm.head->logits_for(hidden, torch::tensor({-1})), Catch::Contains("token id -1"));
        CHECK_THROWS_WITH(mlm.head->logits_for(hidden, torch::tensor({{1, 2}})), Catch::Contains("1-D integer tensor"));
        CHECK_THROWS_WITH(mlm.head->logits_for(hidden, torch::tensor({1.0})), Catch::Contains("1-D integer tensor"));
        CHECK_THROWS_WITH(MaskedLmHead(mlm.model->config(), torch::zeros({125, 32})),
                          Catch::Contains("[vocab_size, hidden_size] = [126,32]") && Catch::Contains("[125,32]"));
    }
}

TEST_CASE("MaskedLmHead matches transformers on the tiny RobertaForMaskedLM checkpoint", "[parity][bert]") {
    torch::NoGradGuard no_grad;
    auto mlm = masked_lm_from_checkpoint(fixture_checkpoint("roberta-mlm"));
    const auto io = fixture_io("roberta-mlm");
    REQUIRE(mlm.model->config().roberta_positions());
    // The layers use gelu_new; RobertaLMHead's exact gelu must not follow them.
    REQUIRE(mlm.model->config().hidden_act == "gelu_new");

    const auto [hidden_diff, logits_diff] = check_parity(mlm, io);
    WARN("RoBERTa MLM parity: last_hidden_state max abs diff " << hidden_diff << ", logits max abs diff " << logits_diff);

    CHECK(parameter_names(*mlm.head) ==
          std::set<std::string>{"dense.weight", "dense.bias", "layer_norm.weight", "layer_norm.bias", "bias"});
    const auto hidden = mlm.model->forward(io_tensor(io, "input_ids"), io_tensor(io, "attention_mask")).last_hidden_state;
    const auto ids = torch::tensor({3, 50, 98, 0}, torch::kLong);
    const double diff =
        max_diff(mlm.head->logits_for(hidden, ids), mlm.head->forward(hidden).index_select(-1, ids), "logits_for");
    WARN("RoBERTa logits_for against forward gathered: max abs diff " << diff);
    CHECK(diff <= kGatherTolerance);
    for (const auto& parameter : mlm.head->parameters())
        CHECK(parameter.data_ptr() != mlm.model->word_embeddings().data_ptr());
}

TEST_CASE("The bert-mlm tokenizer and zero-shot prompt match transformers end to end", "[parity][bert]") {
    torch::NoGradGuard no_grad;
    const auto dir = test::parity_fixture_dir("bert-mlm");
    std::ifstream file(dir / "prompt.json");
    REQUIRE(file);
    const auto prompt = nlohmann::json::parse(file);
    const auto tokenizer = load_tokenizer(dir, "wordpiece");
    WordPieceOptions lower;
    const auto from_vocab = WordPieceTokenizer::from_vocab_txt(dir / "vocab.txt", lower);
    auto mlm = masked_lm_from_checkpoint(fixture_checkpoint("bert-mlm"));
    REQUIRE(tokenizer->vocab_size() == mlm.model->config().vocab_size);
    REQUIRE(tokenizer->pad_id() == 0);

    const std::string template_text = prompt["template"];
    const std::vector<std::string> labels{"negative", "neutral", "positive"};
    const auto texts = prompt["texts"];
    REQUIRE(texts.size() == 5);
    double worst = 0.0;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        auto text = template_text;
        text.replace(text.find("{text}"), 6, texts[i].get<std::string>());
        INFO("text " << i << ": " << text);
        const auto ids = tokenizer->encode(text, 0);
        CHECK(ids == prompt["input_ids"][i].get<std::vector<std::int64_t>>());
        CHECK(from_vocab->encode(text, 0) == ids);
        const auto mask_position = prompt["mask_positions"][i].get<std::int64_t>();
        REQUIRE(mask_position < static_cast<std::int64_t>(ids.size()));
        CHECK(ids[static_cast<std::size_t>(mask_position)] == 4); // [MASK]

        // What a zero-shot plugin computes: the verbalizers' logits at the mask, averaged per label.
        const auto hidden = mlm.model->forward(torch::tensor(ids).unsqueeze(0)).last_hidden_state[0][mask_position];
        for (std::size_t label = 0; label < labels.size(); ++label) {
            std::vector<std::int64_t> word_ids;
            for (const auto& word : prompt["verbalizers"][labels[label]]) {
                const auto pieces = from_vocab->tokenize(word.get<std::string>());
                REQUIRE(pieces == std::vector<std::string>{word.get<std::string>()});
                word_ids.push_back(from_vocab->encode(word.get<std::string>(), 0)[1]);
            }
            CHECK(word_ids == prompt["verbalizer_ids"][labels[label]].get<std::vector<std::int64_t>>());
            const double score = mlm.head->logits_for(hidden, torch::tensor(word_ids)).mean().item<double>();
            const double diff = std::abs(score - prompt["scores"][i][label].get<double>());
            INFO(labels[label] << " score " << score << ", transformers " << prompt["scores"][i][label]);
            CHECK(diff <= kTolerance);
            worst = std::max(worst, diff);
        }
    }
    WARN("zero-shot prompt scores: max abs diff " << worst);
}

TEST_CASE("A checkpoint without a fitting MLM head is an error naming the tensors", "[parity][bert]") {
    SECTION("a BertModel folder has no head: the folder, a missing name and what is accepted") {
        const auto message = load_error(fixture_checkpoint("bert"));
        CHECK_THAT(message, Catch::Contains(test::parity_fixture_dir("bert").string()) &&
                                Catch::Contains("cls.predictions.transform.dense.weight") &&
                                Catch::Contains("cls.predictions.bias") && Catch::Contains("BertForMaskedLM") &&
                                Catch::Contains("RobertaForMaskedLM"));
        // A RoBERTa classifier has its base model but lm_head. is what is missing.
        CHECK_THAT(load_error(fixture_checkpoint("roberta")),
                   Catch::Contains("lm_head.dense.weight") && Catch::Contains("RobertaForMaskedLM"));
    }

    const auto good = fixture_checkpoint("bert-mlm");
    SECTION("a head weight of the wrong shape, written to a folder, is refused with both shapes") {
        test::TempDir dir;
        auto weights = good.weights;
        weights["cls.predictions.transform.dense.weight"] = torch::zeros({32, 31});
        write_checkpoint(dir.path() / "bad-mlm", good.config, weights);
        const auto message = load_error(load_checkpoint(dir.path() / "bad-mlm"));
        CHECK_THAT(message, Catch::Contains("bad-mlm") && Catch::Contains("cls.predictions.transform.dense.weight") &&
                                Catch::Contains("[32, 31]") && Catch::Contains("[32, 32]"));
        // The same file with the right shape loads: the writer is not what was refused.
        write_checkpoint(dir.path() / "good-mlm", good.config, good.weights);
        CHECK(load_error(load_checkpoint(dir.path() / "good-mlm")) == "(loaded)");
    }
    SECTION("a head missing its bias, or with an unknown tensor, is refused naming it") {
        auto missing = good;
        missing.weights.erase("cls.predictions.bias");
        CHECK_THAT(load_error(missing), Catch::Contains("cls.predictions.bias") && Catch::Contains("missing"));
        auto extra = good;
        extra.weights["cls.predictions.transform.extra.weight"] = torch::zeros({3});
        CHECK_THAT(load_error(extra), Catch::Contains("cls.predictions.transform.extra.weight"));
    }
    SECTION("a decoder the file repeats must be the tied one") {
        const auto embeddings = good.weights.at("bert.embeddings.word_embeddings.weight");
        const auto bias = good.weights.at("cls.predictions.bias");
        auto repeated = good;
        repeated.weights["cls.predictions.decoder.weight"] = embeddings.clone();
        repeated.weights["cls.predictions.decoder.bias"] = bias.clone();
        CHECK(load_error(repeated) == "(loaded)");

        // Only decoder.bias, as transformers' symmetric tying accepts.
        auto only_decoder_bias = good;
        only_decoder_bias.weights.erase("cls.predictions.bias");
        only_decoder_bias.weights["cls.predictions.decoder.bias"] = bias.clone();
        CHECK(load_error(only_decoder_bias) == "(loaded)");

        auto untied = good;
        untied.weights["cls.predictions.decoder.weight"] = embeddings + 1.0;
        CHECK_THAT(load_error(untied), Catch::Contains("untied decoders are not supported") &&
                                           Catch::Contains("cls.predictions.decoder.weight"));
        auto untied_bias = good;
        untied_bias.weights["cls.predictions.decoder.bias"] = bias + 1.0;
        CHECK_THAT(load_error(untied_bias), Catch::Contains("untied decoders are not supported") &&
                                                Catch::Contains("cls.predictions.decoder.bias"));
        auto untied_config = good;
        untied_config.config["tie_word_embeddings"] = false;
        CHECK_THAT(load_error(untied_config),
                   Catch::Contains("untied decoders are not supported") && Catch::Contains("tie_word_embeddings"));
        untied_config.weights = repeated.weights;
        CHECK(load_error(untied_config) == "(loaded)");
    }
}

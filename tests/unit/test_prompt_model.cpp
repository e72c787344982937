// The mlm-prompt plugin (SDK 4.3 prompt kind) on the tiny BertForMaskedLM of
// scripts/parity/bert_mlm.py and RobertaForMaskedLM of roberta_mlm.py: untrained, its
// class scores are transformers' MLM logits at the mask averaged over each label's words
// (prompt.json); the cut between the stored frozen part and the trainable top changes
// nothing; image tokens train; bad templates, verbalizers and checkpoints are refused with
// the key, the value and what is accepted.
#include "test_helpers.hpp"

#include "parity_helpers.hpp"
#include "plugin/plugin_catalog.hpp"

#include <msa/models/bert.hpp>
#include <msa/models/checkpoint.hpp>
#include <msa/models/tokenizer.hpp>
#include <msa/prompt.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>

using namespace msa;
using Catch::Contains;

namespace {

const std::vector<std::string> kLabels{"negative", "neutral", "positive"};

// The fixture of scripts/parity/bert_mlm.py, or roberta_mlm.py's ("roberta-mlm").
std::filesystem::path mlm_dir(const std::string& fixture = "bert-mlm") { return test::parity_fixture_dir(fixture); }

nlohmann::json prompt_reference(const std::string& fixture = "bert-mlm") {
    std::ifstream in(mlm_dir(fixture) / "prompt.json");
    INFO("regenerate with scripts/make-parity-fixtures");
    REQUIRE(in);
    return nlohmann::json::parse(in);
}

std::vector<std::string> verbalizers_of(const nlohmann::json& reference) {
    std::vector<std::string> out;
    for (const auto& label : kLabels) {
        std::string entry = label + ":";
        for (const auto& word : reference["verbalizers"][label]) entry += " " + word.get<std::string>() + ",";
        out.push_back(entry);
    }
    return out;
}

std::map<std::string, Value> params(std::map<std::string, Value> extra = {}, const std::string& fixture = "bert-mlm") {
    const auto reference = prompt_reference(fixture);
    std::map<std::string, Value> p{{"checkpoint", mlm_dir(fixture).string()},
                                   {"template", reference["template"].get<std::string>()},
                                   {"verbalizers", verbalizers_of(reference)}};
    for (auto& [k, v] : extra) p[k] = v;
    return p;
}

std::shared_ptr<PromptModel> make(std::map<std::string, Value> extra = {}, std::int64_t image_dim = 0,
                                  std::vector<std::string> labels = kLabels, const std::string& fixture = "bert-mlm") {
    const auto props = test::properties(PluginKind::prompt, "mlm-prompt", params(std::move(extra), fixture));
    return test::builtin_catalog().create_prompt("mlm-prompt", props, PromptContext{labels, image_dim, true});
}

std::string error_of(std::map<std::string, Value> extra, std::vector<std::string> labels = kLabels,
                     const std::string& fixture = "bert-mlm") {
    try {
        make(std::move(extra), 0, std::move(labels), fixture);
    } catch (const std::exception& e) {
        return e.what();
    }
    return "(built)";
}

std::vector<Sample> posts(const std::vector<std::string>& texts) {
    std::vector<Sample> out;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        Sample s;
        s.id = "post" + std::to_string(i);
        s.text = texts[i];
        out.push_back(s);
    }
    return out;
}

// Class logits of `model` for the texts: its text encoder's features, then forward().
at::Tensor scores(PromptModel& model, const std::vector<std::string>& texts, const at::Tensor& image = {}) {
    const auto samples = posts(texts);
    EncoderBatch batch;
    for (const auto& s : samples) batch.samples.push_back(&s);
    const Features text = model.text_encoder()->encode(batch);
    return model.forward(text, Features{image, {}, {}});
}

} // namespace

TEST_CASE("mlm-prompt untrained scores the label words as transformers' BertForMaskedLM does", "[parity][prompt]") {
    torch::NoGradGuard no_grad;
    const auto reference = prompt_reference();
    const auto texts = reference["texts"].get<std::vector<std::string>>();
    auto model = make();
    model->eval();
    const at::Tensor ours = scores(*model, texts);
    std::vector<double> flat;
    for (const auto& row : reference["scores"])
        for (const auto& v : row) flat.push_back(v.get<double>());
    const at::Tensor expected =
        torch::tensor(flat).view({static_cast<std::int64_t>(reference["scores"].size()), -1}).to(torch::kFloat);
    REQUIRE(ours.sizes() == expected.sizes());
    const double diff = test::max_diff(ours, expected, "class scores");
    WARN("mlm-prompt zero-shot scores: max abs diff " << diff << " against transformers");
    CHECK(diff <= 1e-4);

    SECTION("the stored part ends where the trainable layers begin: any cut gives the same scores") {
        auto whole = make({{"trainable_layers", std::int64_t{2}}});
        whole->eval();
        CHECK(test::max_diff(scores(*whole, texts), ours, "trainable_layers 2 against 1") <= 1e-5);
        CHECK(model->text_encoder()->cache_key() != whole->text_encoder()->cache_key());
    }
    SECTION("a post too long for max_length is cut, never the template's mask") {
        std::string long_post;
        for (int i = 0; i < 40; ++i) long_post += texts.front() + " ";
        auto short_model = make({{"max_length", std::int64_t{24}}});
        short_model->eval();
        const at::Tensor cut = scores(*short_model, {long_post, texts.front()});
        CHECK(cut.size(0) == 2);
        CHECK(torch::isfinite(cut).all().item<bool>());
        CHECK(test::max_diff(cut[1], ours[0], "a short post beside a cut one") <= 1e-5);
    }
}

TEST_CASE("mlm-prompt untrained scores the label words as transformers' RobertaForMaskedLM does", "[parity][prompt]") {
    torch::NoGradGuard no_grad;
    const std::string fixture = "roberta-mlm";
    const auto reference = prompt_reference(fixture);
    const auto texts = reference["texts"].get<std::vector<std::string>>();
    REQUIRE(texts.size() == 5);
    // The byte-level BPE tokenizer gives transformers' ids for the templated texts; the
    // plugin tokenizes the post and the template apart, which gives the same ids here.
    const auto tokenizer = models::load_tokenizer(mlm_dir(fixture), "byte-bpe");
    for (std::size_t i = 0; i < texts.size(); ++i) {
        auto text = reference["template"].get<std::string>();
        text.replace(text.find("{text}"), 6, texts[i]);
        CHECK(tokenizer->encode(text, 0) == reference["input_ids"][i].get<std::vector<std::int64_t>>());
    }
    auto model = make({}, 0, kLabels, fixture);
    model->eval();
    const at::Tensor ours = scores(*model, texts);
    std::vector<double> flat;
    for (const auto& row : reference["scores"])
        for (const auto& v : row) flat.push_back(v.get<double>());
    const at::Tensor expected = torch::tensor(flat).view({static_cast<std::int64_t>(texts.size()), -1}).to(torch::kFloat);
    REQUIRE(ours.sizes() == expected.sizes());
    const double diff = test::max_diff(ours, expected, "class scores");
    WARN("mlm-prompt zero-shot scores on RoBERTa: max abs diff " << diff << " against transformers");
    CHECK(diff <= 1e-4);

    SECTION("any cut between the stored part and the trainable layers gives the same scores") {
        auto whole = make({{"trainable_layers", std::int64_t{2}}}, 0, kLabels, fixture);
        whole->eval();
        CHECK(test::max_diff(scores(*whole, texts), ours, "trainable_layers 2 against 1") <= 1e-5);
    }
    SECTION("words before {text}: the scores of the whole templated text tokenized at once") {
        // The plugin tokenizes the template's parts and the post apart; a byte-level BPE's
        // word takes the space before it, so "Review: {text}" must read " What", not "What".
        const std::string template_text = "Review: {text} It was <mask>.";
        std::vector<std::string> posts_ = texts;
        posts_.push_back("  spaced  out\n");
        posts_.push_back("");
        auto reviewed = make({{"template", template_text}}, 0, kLabels, fixture);
        reviewed->eval();
        const at::Tensor got = scores(*reviewed, posts_);
        auto mlm = models::masked_lm_from_checkpoint(models::load_checkpoint(mlm_dir(fixture)));
        const std::int64_t mask_id = tokenizer->encode("<mask>", 0)[1];
        for (std::size_t i = 0; i < posts_.size(); ++i) {
            auto text = template_text;
            text.replace(text.find("{text}"), 6, posts_[i]);
            INFO("templated text: " << text);
            const auto ids = tokenizer->encode(text, 0);
            const auto position = std::find(ids.begin(), ids.end(), mask_id) - ids.begin();
            const auto hidden = mlm.model->forward(torch::tensor(ids).unsqueeze(0)).last_hidden_state[0][position];
            for (std::size_t label = 0; label < kLabels.size(); ++label) {
                const auto words = reference["verbalizer_ids"][kLabels[label]].get<std::vector<std::int64_t>>();
                const double expected = mlm.head->logits_for(hidden, torch::tensor(words)).mean().item<double>();
                CHECK(std::abs(got[static_cast<std::int64_t>(i)][static_cast<std::int64_t>(label)].item<double>() -
                               expected) <= 1e-5);
            }
        }
    }
    SECTION("an xlm-roberta checkpoint with this byte-level BPE tokenizer is read the same") {
        test::TempDir dir;
        for (const char* file : {"model.safetensors", "tokenizer.json", "tokenizer_config.json", "prompt.json"})
            std::filesystem::copy_file(mlm_dir(fixture) / file, dir.path() / file);
        std::ifstream in(mlm_dir(fixture) / "config.json");
        auto config = nlohmann::json::parse(in);
        config["model_type"] = "xlm-roberta";
        dir.write("config.json", config.dump());
        auto xlmr = make({{"checkpoint", dir.path().string()}}, 0, kLabels, fixture);
        xlmr->eval();
        CHECK(test::max_diff(scores(*xlmr, texts), ours, "xlm-roberta against roberta") <= 1e-6);
    }
}

TEST_CASE("mlm-prompt trains its image map, top layers and head, never the frozen bottom", "[prompt]") {
    const auto texts = prompt_reference()["texts"].get<std::vector<std::string>>();
    torch::manual_seed(3);
    auto model = make({{"image_tokens", std::int64_t{3}}}, /*image_dim=*/8);
    model->train();
    const at::Tensor image = torch::randn({static_cast<std::int64_t>(texts.size()), 8});
    const at::Tensor logits = scores(*model, texts, image);
    REQUIRE(logits.sizes() == torch::IntArrayRef{static_cast<std::int64_t>(texts.size()), 3});
    logits.logsumexp(1).sum().backward();
    const auto named = model->named_parameters();
    REQUIRE(named.contains("image_map.weight"));
    CHECK(named["image_map.weight"].grad().defined());
    CHECK(named["image_map.weight"].grad().abs().sum().item<double>() > 0);
    // The pretrained parameters are the top layer and the head: the encoder learning rate's.
    std::int64_t pretrained = 0;
    for (const auto& p : model->pretrained_parameters()) {
        pretrained += p.numel();
        CHECK(p.grad().defined());
    }
    std::int64_t all = 0;
    for (const auto& p : model->parameters()) all += p.numel();
    CHECK(all - pretrained == named["image_map.weight"].numel() + named["image_map.bias"].numel());
    // Nothing below the cut is a parameter of the model: the stored features stay valid.
    for (const auto& item : named) CHECK_FALSE(Catch::contains(item.key(), "embeddings"));

    SECTION("the image changes the scores once the map is there") {
        torch::NoGradGuard no_grad;
        model->eval();
        CHECK(test::max_diff(scores(*model, texts, image), scores(*model, texts, torch::zeros_like(image)), "image") > 1e-4);
    }
}

TEST_CASE("mlm-prompt refuses bad templates, verbalizers and checkpoints with what is accepted", "[prompt]") {
    SECTION("a template without the mask token, or without {text}") {
        const auto no_mask = error_of({{"template", std::string("{text} It was good.")}});
        CHECK_THAT(no_mask, Contains("template") && Contains("[MASK]") && Contains("0 times") &&
                                Contains("accepted: a template with {text} once"));
        CHECK_THAT(error_of({{"template", std::string("It was [MASK].")}}), Contains("{text} 0 times"));
        CHECK_THAT(error_of({{"template", std::string("{text} [MASK] or [MASK]")}}), Contains("2 times"));
    }
    SECTION("a verbalizer word that is not one token, or not in the vocabulary") {
        CHECK_THAT(error_of({{"verbalizers", std::vector<std::string>{"negative: bad", "neutral: okay",
                                                                      "positive: zzqx"}}}),
                   Contains("'zzqx'") && Contains("positive") && Contains("one token of its vocabulary"));
        CHECK_THAT(error_of({{"verbalizers", std::vector<std::string>{"negative: bad", "neutral: okay",
                                                                      "positive: good day"}}}),
                   Contains("'good day'") && Contains("2 tokens"));
    }
    SECTION("verbalizers for every label, and only for labels of the study") {
        CHECK_THAT(error_of({{"verbalizers", std::vector<std::string>{"negative: bad", "positive: good"}}}),
                   Contains("no verbalizer words for neutral"));
        CHECK_THAT(error_of({{"verbalizers", std::vector<std::string>{"negative: bad", "neutral: okay",
                                                                      "positive: good", "angry: bad"}}}),
                   Contains("'angry'") && Contains("labels: negative, neutral, positive"));
        CHECK_THAT(error_of({{"verbalizers", std::vector<std::string>{"bad"}}}), Contains("\"label: word, word\""));
    }
    SECTION("RoBERTa: its mask token in the template, label words one token after a space") {
        const std::string roberta = "roberta-mlm";
        CHECK_THAT(error_of({{"template", std::string("{text} It was [MASK].")}}, kLabels, roberta),
                   Contains("<mask> 0 times") && Contains("\"{text} It was <mask>.\""));
        CHECK_THAT(error_of({{"verbalizers", std::vector<std::string>{"negative: bad", "neutral: okay",
                                                                      "positive: zzqx"}}},
                            kLabels, roberta),
                   Contains("'zzqx'") && Contains("tokens of this checkpoint (as \" zzqx\", after a space)") &&
                       Contains("one token of its vocabulary"));
    }
    SECTION("XLM-R's SentencePiece tokenizer is refused, naming what is accepted") {
        test::TempDir dir;
        std::filesystem::copy_file(mlm_dir("roberta-mlm") / "model.safetensors", dir.path() / "model.safetensors");
        std::ifstream in(mlm_dir("roberta-mlm") / "config.json");
        auto config = nlohmann::json::parse(in);
        config["model_type"] = "xlm-roberta";
        dir.write("config.json", config.dump());
        dir.write("sentencepiece.bpe.model", "not read");
        const auto sentencepiece = error_of({{"checkpoint", dir.path().string()}});
        CHECK_THAT(sentencepiece, Contains("checkpoint") && Contains("model_type 'xlm-roberta' with sentencepiece.bpe.model") &&
                                      Contains("SentencePiece tokenizer is not supported") &&
                                      Contains("accepted: model_type bert with a WordPiece tokenizer, roberta"));
        dir.write("tokenizer.json", R"({"model": {"type": "Unigram"}, "pre_tokenizer": {"type": "Metaspace"}})");
        CHECK_THAT(error_of({{"checkpoint", dir.path().string()}}),
                   Contains("a tokenizer.json of model Unigram and pre_tokenizer Metaspace"));
    }
    SECTION("a checkpoint without an MLM head, and trainable layers it does not have") {
        CHECK_THAT(error_of({{"checkpoint", test::parity_fixture_dir("bert").string()}}),
                   Contains("cls.predictions") && Contains("BertForMaskedLM"));
        CHECK_THAT(error_of({{"trainable_layers", std::int64_t{3}}}),
                   Contains("trainable_layers = 3") && Contains("accepted: 1 to 2"));
        CHECK_THAT(error_of({{"checkpoint", std::string("/no/such/folder")}}),
                   Contains("/no/such/folder") && Contains("does not exist"));
    }
}

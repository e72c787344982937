// The real all-MiniLM-L6-v2 (scripts/fetch-models) through the hf-text plugin gives
// sentence-transformers' sentence embeddings on 50 mvsa-ecnu texts (expected values made
// by scripts/make-real-fixtures-minilm.py); and the same through BertModel alone, so that a
// difference points at the model or at the plugin around it.
#include "test_helpers.hpp"
#include "test_skip.hpp"

#include <msa/encoder.hpp>
#include <msa/media/text.hpp>
#include <msa/models/bert.hpp>
#include <msa/models/checkpoint.hpp>
#include <msa/models/tokenizer.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

using namespace msa;
using namespace msa::test;

TEST_CASE("hf-text on all-MiniLM-L6-v2 gives sentence-transformers' embeddings on mvsa-ecnu texts", "[real]") {
    const auto folder = models_dir() / "all-MiniLM-L6-v2";
    const auto data = mvsa_ecnu_dir() / "data";
    if (!std::filesystem::exists(folder / "model.safetensors") || !std::filesystem::exists(data))
        MSA_SKIP("needs " << folder << " (scripts/fetch-models) and " << data << " (../shared)");
    const auto fixtures = std::filesystem::path(MSA_FIXTURE_DIR) / "real";
    const auto about = nlohmann::json::parse(std::ifstream(fixtures / "minilm-mvsa50.json"));
    const at::Tensor expected = models::read_safetensors(fixtures / "minilm-mvsa50.safetensors").at("embeddings");

    std::vector<Sample> samples;
    for (const auto& guid : about["guids"]) {
        std::ifstream in(data / (guid.get<std::string>() + ".txt"), std::ios::binary);
        Sample s;
        s.id = guid.get<std::string>();
        // GB18030 throughout, as the dataset reader decides for this dataset.
        s.text = media::decode_text(std::string(std::istreambuf_iterator<char>(in), {}), "gb18030");
        samples.push_back(s);
    }
    REQUIRE(samples.size() == 50);
    auto encoder = builtin_catalog().create_encoder(
        "hf-text", properties(PluginKind::encoder, "hf-text",
                              {{"checkpoint", folder.string()},
                               {"max_length", about["max_seq_length"].get<std::int64_t>()},
                               {"pooling", std::string("mean")},
                               {"normalize", true},
                               {"batch_size", std::int64_t{16}}}));
    std::vector<at::Tensor> rows;
    for (std::size_t begin = 0; begin < samples.size(); begin += 16) {
        EncoderBatch batch;
        for (std::size_t i = begin; i < std::min(samples.size(), begin + 16); ++i) batch.samples.push_back(&samples[i]);
        rows.push_back(encoder->encode(batch).pooled);
    }
    const at::Tensor ours = at::cat(rows);
    REQUIRE(ours.sizes() == expected.sizes());
    const double diff = (ours - expected).abs().max().item<double>();
    const double cosine = torch::cosine_similarity(ours, expected, 1).min().item<double>();
    WARN("all-MiniLM-L6-v2 on 50 mvsa-ecnu texts: max abs diff " << diff << ", min cosine " << cosine);
    CHECK(diff <= 1e-4);
    CHECK(cosine >= 0.9999);
}

TEST_CASE("BertModel alone on all-MiniLM-L6-v2 gives sentence-transformers' embeddings on mvsa-ecnu texts", "[real][bert]") {
    const auto folder = models_dir() / "all-MiniLM-L6-v2";
    const auto data = mvsa_ecnu_dir() / "data";
    if (!std::filesystem::exists(folder / "model.safetensors") || !std::filesystem::exists(data))
        MSA_SKIP("needs " << folder << " (scripts/fetch-models) and " << data << " (../shared)");
    const auto fixtures = std::filesystem::path(MSA_FIXTURE_DIR) / "real";
    const auto about = nlohmann::json::parse(std::ifstream(fixtures / "minilm-mvsa50.json"));
    const at::Tensor expected = models::read_safetensors(fixtures / "minilm-mvsa50.safetensors").at("embeddings");

    std::vector<std::string> texts;
    for (const auto& guid : about["guids"]) {
        std::ifstream in(data / (guid.get<std::string>() + ".txt"), std::ios::binary);
        texts.push_back(media::decode_text(std::string(std::istreambuf_iterator<char>(in), {}), "gb18030"));
    }
    REQUIRE(texts.size() == 50);

    torch::NoGradGuard no_grad;
    auto model = models::bert_from_checkpoint(models::load_checkpoint(folder));
    REQUIRE(model->num_layers() == 6);
    REQUIRE(model->has_pooler());
    const auto tokenizer = models::load_tokenizer(folder, "wordpiece");
    // One padded batch of all 50: padding and the mask are exercised on every row but the longest.
    const auto batch = models::tokenize_batch(*tokenizer, texts, about["max_seq_length"].get<std::int64_t>());
    const auto out = model->forward(batch.ids, batch.mask);
    // sentence-transformers' Pooling (mean over real tokens) and Normalize.
    const auto mask = batch.mask.unsqueeze(-1).to(out.last_hidden_state.scalar_type());
    auto ours = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp_min(1e-9);
    ours = ours / ours.norm(2, 1, true).clamp_min(1e-12);

    REQUIRE(ours.sizes() == expected.sizes());
    const double diff = (ours - expected).abs().max().item<double>();
    const double cosine = torch::cosine_similarity(ours, expected, 1).min().item<double>();
    WARN("BertModel, all-MiniLM-L6-v2, 50 mvsa-ecnu texts in one batch of " << batch.ids.size(1)
         << " tokens: max abs diff " << diff << ", min cosine " << cosine);
    CHECK(diff <= 1e-4);
    CHECK(cosine >= 0.9999);

    // The top layer run alone from the hidden state cached below it gives the same output.
    const auto top = model->run_layers(out.hidden_states[5], batch.mask, 5, 6);
    CHECK((top - out.last_hidden_state).abs().max().item<double>() == 0.0);
}

// The real all-mpnet-base-v2 (scripts/fetch-models --extra all-mpnet-base-v2) through the
// hf-text plugin gives sentence-transformers' sentence embeddings on 20 mvsa-ecnu texts
// (expected values made by scripts/make-real-fixtures-mpnet.py); and the same through
// MPNetModel alone, so that a difference points at the model or at the plugin around it;
// the tokenizer's ids are checked by their digests first.
#include "test_helpers.hpp"
#include "test_skip.hpp"

#include <msa/encoder.hpp>
#include <msa/media/digest.hpp>
#include <msa/media/text.hpp>
#include <msa/models/checkpoint.hpp>
#include <msa/models/mpnet.hpp>
#include <msa/models/tokenizer.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

using namespace msa;
using namespace msa::test;

namespace {

// The texts of the fixture's guids, GB18030 throughout, as the dataset reader decides for
// this dataset.
std::vector<std::string> fixture_texts(const nlohmann::json& about, const std::filesystem::path& data) {
    std::vector<std::string> texts;
    for (const auto& guid : about["guids"]) {
        std::ifstream in(data / (guid.get<std::string>() + ".txt"), std::ios::binary);
        texts.push_back(media::decode_text(std::string(std::istreambuf_iterator<char>(in), {}), "gb18030"));
    }
    return texts;
}

// The sentence-transformers reference: which texts (mpnet-mvsa20.json) and their embeddings.
struct Fixture {
    nlohmann::json about;
    at::Tensor embeddings;
};

Fixture read_fixture() {
    const auto fixtures = std::filesystem::path(MSA_FIXTURE_DIR) / "real";
    return {nlohmann::json::parse(std::ifstream(fixtures / "mpnet-mvsa20.json")),
            models::read_safetensors(fixtures / "mpnet-mvsa20.safetensors").at("embeddings")};
}

std::string id_digest(const std::vector<std::int64_t>& ids) {
    std::string joined;
    for (std::size_t i = 0; i < ids.size(); ++i) joined += (i ? "," : "") + std::to_string(ids[i]);
    return media::sha256_hex(joined).substr(0, 16);
}

} // namespace

TEST_CASE("hf-text on all-mpnet-base-v2 gives sentence-transformers' embeddings on mvsa-ecnu texts", "[real]") {
    const auto folder = models_dir() / "all-mpnet-base-v2";
    const auto data = mvsa_ecnu_dir() / "data";
    if (!std::filesystem::exists(folder / "model.safetensors") || !std::filesystem::exists(data))
        MSA_SKIP("needs " << folder << " (scripts/fetch-models --extra all-mpnet-base-v2) and " << data
                          << " (../shared)");
    const Fixture fixture = read_fixture();
    const auto& about = fixture.about;
    const at::Tensor& expected = fixture.embeddings;

    std::vector<Sample> samples;
    const auto texts = fixture_texts(about, data);
    for (std::size_t i = 0; i < texts.size(); ++i) {
        Sample s;
        s.id = about["guids"][i].get<std::string>();
        s.text = texts[i];
        samples.push_back(s);
    }
    REQUIRE(samples.size() == 20);
    auto encoder = builtin_catalog().create_encoder(
        "hf-text", properties(PluginKind::encoder, "hf-text",
                              {{"checkpoint", folder.string()},
                               {"max_length", about["max_seq_length"].get<std::int64_t>()},
                               {"pooling", std::string("mean")},
                               {"normalize", true},
                               {"batch_size", std::int64_t{16}}}));
    REQUIRE(encoder->dim() == 768);
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
    WARN("all-mpnet-base-v2 on 20 mvsa-ecnu texts: max abs diff " << diff << ", min cosine " << cosine);
    CHECK(diff <= 1e-4);
    CHECK(cosine >= 0.9999);
}

TEST_CASE("MPNetModel alone on all-mpnet-base-v2 gives sentence-transformers' embeddings on mvsa-ecnu texts",
          "[real][mpnet]") {
    const auto folder = models_dir() / "all-mpnet-base-v2";
    const auto data = mvsa_ecnu_dir() / "data";
    if (!std::filesystem::exists(folder / "model.safetensors") || !std::filesystem::exists(data))
        MSA_SKIP("needs " << folder << " (scripts/fetch-models --extra all-mpnet-base-v2) and " << data
                          << " (../shared)");
    const Fixture fixture = read_fixture();
    const auto& about = fixture.about;
    const at::Tensor& expected = fixture.embeddings;
    const auto texts = fixture_texts(about, data);
    REQUIRE(texts.size() == 20);

    // transformers' ids first: a tokenizer difference shows here, not as a model one.
    const auto tokenizer = models::load_tokenizer(folder, "wordpiece");
    const auto max_length = about["max_seq_length"].get<std::int64_t>();
    for (std::size_t i = 0; i < texts.size(); ++i) {
        INFO("guid " << about["guids"][i].get<std::string>());
        const auto ids = tokenizer->encode(texts[i], max_length);
        CHECK(static_cast<std::int64_t>(ids.size()) == about["id_counts"][i].get<std::int64_t>());
        CHECK(id_digest(ids) == about["id_digests"][i].get<std::string>());
    }

    torch::NoGradGuard no_grad;
    auto model = models::mpnet_from_checkpoint(models::load_checkpoint(folder));
    REQUIRE(model->num_layers() == 12);
    REQUIRE(model->has_pooler());
    // One padded batch of all 20: padding and the mask are exercised on every row but the longest.
    const auto batch = models::tokenize_batch(*tokenizer, texts, max_length);
    CHECK(tokenizer->pad_id() == models::MPNetConfig::padding_idx);
    const auto out = model->forward(batch.ids, batch.mask);
    // sentence-transformers' Pooling (mean over real tokens) and Normalize.
    const auto mask = batch.mask.unsqueeze(-1).to(out.last_hidden_state.scalar_type());
    auto ours = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp_min(1e-9);
    ours = ours / ours.norm(2, 1, true).clamp_min(1e-12);

    REQUIRE(ours.sizes() == expected.sizes());
    const double diff = (ours - expected).abs().max().item<double>();
    const double cosine = torch::cosine_similarity(ours, expected, 1).min().item<double>();
    WARN("MPNetModel, all-mpnet-base-v2, 20 mvsa-ecnu texts in one batch of " << batch.ids.size(1)
         << " tokens: max abs diff " << diff << ", min cosine " << cosine);
    CHECK(diff <= 1e-4);
    CHECK(cosine >= 0.9999);

    // The top layer run alone from the hidden state cached below it gives the same output.
    const auto top = model->run_layers(out.hidden_states[11], batch.mask, 11, 12);
    CHECK((top - out.last_hidden_state).abs().max().item<double>() == 0.0);
}

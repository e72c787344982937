// The built-in plugins, constructed through the catalog as the host does and used for
// real: one of each kind.
#include "test_helpers.hpp"

#include <msa/augmenter.hpp>
#include <msa/encoder.hpp>
#include <msa/fusion.hpp>
#include <msa/loss.hpp>
#include <msa/sampler.hpp>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <map>

using namespace msa;
using Catch::Matchers::Contains;

namespace {

const PluginCatalog& catalog() { return test::builtin_catalog(); }

std::vector<int> class_counts(const std::vector<Sample>& pool, const std::vector<std::size_t>& chosen, int classes) {
    std::vector<int> counts(static_cast<std::size_t>(classes));
    for (auto i : chosen) ++counts[static_cast<std::size_t>(pool[i].label)];
    return counts;
}

Features encode(Encoder& encoder, const std::vector<std::string>& texts) {
    std::vector<Sample> samples;
    for (std::size_t i = 0; i < texts.size(); ++i) samples.push_back({std::to_string(i), texts[i], "", -1, ""});
    EncoderBatch batch;
    for (const auto& s : samples) batch.samples.push_back(&s);
    return encoder.encode(batch);
}

} // namespace

TEST_CASE("hashed-ngram: deterministic unit vectors that separate different texts") {
    auto encoder = catalog().create_encoder("hashed-ngram", test::properties(PluginKind::encoder, "hashed-ngram",
                                                                             {{"dim", Value{std::int64_t{256}}}}));
    CHECK(encoder->modality() == Modality::text);
    CHECK(encoder->dim() == 256);
    const auto f = encode(*encoder, {"I love this!", "I love this!", "what a terrible day", "", "I LOVE THIS!"});
    REQUIRE(f.pooled.sizes() == std::vector<std::int64_t>{5, 256});
    const auto norms = f.pooled.norm(2, 1);
    CHECK(norms[0].item<float>() == Approx(1.0f));
    CHECK(norms[3].item<float>() == 0.0f); // empty text: no n-grams, zero vector
    CHECK(torch::equal(f.pooled[0], f.pooled[1]));
    CHECK(torch::equal(f.pooled[0], f.pooled[4])); // lower-cased
    CHECK(torch::dot(f.pooled[0], f.pooled[2]).item<float>() < 0.5f);
}

TEST_CASE("hashed-ngram: char analyzer works on Chinese text and the key reflects the settings") {
    auto props = test::properties(PluginKind::encoder, "hashed-ngram",
                                  {{"analyzer", Value{std::string("char")}}, {"ngram_max", Value{std::int64_t{3}}}});
    auto encoder = catalog().create_encoder("hashed-ngram", props);
    const auto f = encode(*encoder, {"今天天气很好", "今天天气很差"});
    CHECK(f.pooled[0].norm().item<float>() == Approx(1.0f));
    const float similarity = torch::dot(f.pooled[0], f.pooled[1]).item<float>();
    CHECK(similarity > 0.3f);
    CHECK(similarity < 0.99f);
    auto other = catalog().create_encoder("hashed-ngram", test::properties(PluginKind::encoder, "hashed-ngram"));
    CHECK(encoder->cache_key() != other->cache_key());
}

TEST_CASE("hashed-ngram: ngram_min above ngram_max is refused with its location") {
    auto props = test::properties(PluginKind::encoder, "hashed-ngram",
                                  {{"ngram_min", Value{std::int64_t{3}}}, {"ngram_max", Value{std::int64_t{2}}}});
    CHECK_THROWS_WITH(catalog().create_encoder("hashed-ngram", props),
                      Contains("test: encoder 'hashed-ngram'") && Contains("ngram_min (3) is larger than ngram_max (2)"));
}

TEST_CASE("concat: concatenates, projects, and copes with a missing modality") {
    torch::manual_seed(0);
    const FusionContext context{8, 4, 3};
    auto raw = catalog().create_fusion("concat", test::properties(PluginKind::fusion, "concat", {{"hidden", Value{std::int64_t{0}}}}), context);
    CHECK(raw->output_dim() == 12);
    const Features text{torch::randn({2, 8}), {}, {}}, image{torch::randn({2, 4}), {}, {}};
    CHECK(torch::equal(raw->forward(text, image), torch::cat({text.pooled, image.pooled}, 1)));

    auto projected = catalog().create_fusion("concat", test::properties(PluginKind::fusion, "concat", {{"hidden", Value{std::int64_t{16}}}}), context);
    projected->eval();
    CHECK(projected->output_dim() == 16);
    CHECK(projected->forward(text, image).sizes() == std::vector<std::int64_t>{2, 16});
    CHECK(projected->parameters().size() == 2); // the projection's weight and bias train

    auto text_only = catalog().create_fusion("concat", test::properties(PluginKind::fusion, "concat", {{"hidden", Value{std::int64_t{0}}}}),
                                             FusionContext{8, 0, 3});
    CHECK(text_only->forward(text, Features{}).sizes() == std::vector<std::int64_t>{2, 8});
}

TEST_CASE("cross-entropy: matches -log softmax, with class weights and label smoothing") {
    const auto logits = torch::tensor({{2.0f, 0.5f, -1.0f}, {0.1f, 0.2f, 3.0f}});
    const auto targets = torch::tensor({0, 2}, torch::kLong);
    const LossContext context{3, {10, 20, 30}};
    auto plain = catalog().create_loss("cross-entropy", test::properties(PluginKind::loss, "cross-entropy"), context);
    const auto expected = -(torch::log_softmax(logits, 1)[0][0] + torch::log_softmax(logits, 1)[1][2]) / 2;
    CHECK(plain->forward({logits, targets, {}, {}}).item<float>() == Approx(expected.item<float>()));

    auto weighted = catalog().create_loss(
        "cross-entropy",
        test::properties(PluginKind::loss, "cross-entropy", {{"class_weights", Value{std::vector<double>{1.0, 1.0, 3.0}}}}),
        context);
    const auto log_p = torch::log_softmax(logits, 1);
    const float weighted_expected = -(log_p[0][0] + 3 * log_p[1][2]).item<float>() / 4;
    CHECK(weighted->forward({logits, targets, {}, {}}).item<float>() == Approx(weighted_expected));

    auto smoothed = catalog().create_loss(
        "cross-entropy", test::properties(PluginKind::loss, "cross-entropy", {{"label_smoothing", Value{0.2}}}), context);
    CHECK(smoothed->forward({logits, targets, {}, {}}).item<float>() > expected.item<float>());

    CHECK_THROWS_WITH(catalog().create_loss("cross-entropy",
                                            test::properties(PluginKind::loss, "cross-entropy",
                                                             {{"class_weights", Value{std::vector<double>{1.0}}}}),
                                            context),
                      Contains("class_weights has 1 entries; the study has 3 classes"));
}

TEST_CASE("all: every index in order") {
    auto sampler = catalog().create_sampler("all", test::properties(PluginKind::sampler, "all"));
    CHECK(sampler->select(test::labelled_pool({2, 1}), {2, 0}) == std::vector<std::size_t>{0, 1, 2});
}

TEST_CASE("stratified: keeps class proportions, is seeded, and rejects bad labels") {
    auto sampler = catalog().create_sampler("stratified",
                                            test::properties(PluginKind::sampler, "stratified", {{"fraction", Value{0.5}}}));
    const auto pool = test::labelled_pool({10, 20, 31});
    const auto chosen = sampler->select(pool, {3, 7});
    CHECK(class_counts(pool, chosen, 3) == std::vector<int>{5, 10, 16});
    CHECK(sampler->select(pool, {3, 7}) == chosen);
    CHECK(sampler->select(pool, {3, 8}) != chosen);

    auto tiny = catalog().create_sampler("stratified", test::properties(PluginKind::sampler, "stratified",
                                                                        {{"fraction", Value{0.01}}, {"min_per_class", Value{std::int64_t{2}}}}));
    CHECK(class_counts(pool, tiny->select(pool, {3, 1}), 3) == std::vector<int>{2, 2, 2});

    auto bad = test::labelled_pool({2});
    bad[1].label = 5;
    CHECK_THROWS_WITH(sampler->select(bad, {3, 1}), Contains("sample '0-1' has label 5; expected 0..2"));
}

TEST_CASE("identity: copies keep their source's group and get new ids") {
    auto augmenter = catalog().create_augmenter("identity", test::properties(PluginKind::augmenter, "identity",
                                                                             {{"copies", Value{std::int64_t{2}}}}));
    const auto added = augmenter->augment(test::labelled_pool({1, 1}));
    REQUIRE(added.size() == 4);
    CHECK(added[0].id == "0-0#identity1");
    CHECK(added[1].id == "0-0#identity2");
    CHECK(added[0].group == "0-0");
    CHECK(added[3].group == "1-0");
    CHECK(added[3].label == 1);
}

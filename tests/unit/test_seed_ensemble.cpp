// Seed ensembles: the mean of the seeds' probabilities, scored on a shared test split as a
// trial's metrics are, and refused with the reason when the seeds' test splits differ.
#include "train/metrics.hpp"
#include "train/seed_ensemble.hpp"

#include <msa/error.hpp>

#include <catch2/catch.hpp>
#include <torch/torch.h>

using Catch::Matchers::Contains;
using msa::Prediction;
using msa::Predictions;
using msa::train::SeedPredictions;

namespace {

const std::vector<std::string> kLabels{"negative", "neutral", "positive"};

// predictions.csv of one seed: `test` rows (id, label, probabilities), plus a train row
// and an unlabelled one, which the ensemble must leave out.
Predictions seed_predictions(const std::vector<std::tuple<std::string, int, std::vector<double>>>& test) {
    Predictions p;
    p.labels = kLabels;
    p.rows.push_back({"train-1", "train", 0, 0, {0.9, 0.05, 0.05}, 2});
    for (const auto& [id, label, probs] : test) {
        Prediction row{id, "test", label, 0, probs, 0};
        row.predicted = int(std::max_element(probs.begin(), probs.end()) - probs.begin());
        p.rows.push_back(row);
    }
    p.rows.push_back({"u-1", "unlabelled", -1, 2, {0.1, 0.1, 0.8}, 0});
    return p;
}

} // namespace

TEST_CASE("seed ensemble: the row-wise mean of the members' probabilities", "[ensemble][predict]") {
    const at::Tensor a = torch::tensor({{0.6, 0.3, 0.1}, {0.2, 0.2, 0.6}}, torch::kFloat);
    const at::Tensor b = torch::tensor({{0.2, 0.7, 0.1}, {0.1, 0.3, 0.6}}, torch::kFloat);
    const at::Tensor c = torch::tensor({{0.1, 0.8, 0.1}, {0.4, 0.4, 0.2}}, torch::kFloat);
    const at::Tensor mean = msa::train::average_probabilities({a, b, c});
    CHECK(mean.scalar_type() == torch::kDouble);
    REQUIRE(mean.sizes() == at::IntArrayRef({2, 3}));
    const auto expected = (a.to(torch::kDouble) + b.to(torch::kDouble) + c.to(torch::kDouble)) / 3.0;
    CHECK(torch::allclose(mean, expected, 0, 1e-12));
    // Row 0: each model alone would say negative (a) or neutral (b, c); the mean says neutral.
    CHECK(mean[0].argmax().item<std::int64_t>() == 1);
    CHECK(mean.sum(1).allclose(torch::ones({2}, torch::kDouble), 0, 1e-6));
    // One member is itself: `msa predict --single` labels as the model alone.
    CHECK(torch::equal(msa::train::average_probabilities({a}).to(torch::kFloat), a));

    CHECK_THROWS_WITH(msa::train::average_probabilities({}), Contains("at least one model"));
    CHECK_THROWS_WITH(msa::train::average_probabilities({a, torch::zeros({3, 3})}),
                      Contains("model 2 gave probabilities [3, 3], model 1 [2, 3]"));
}

TEST_CASE("seed ensemble: a shared test split is scored from the mean of the seeds' test rows",
          "[ensemble][report]") {
    // Three test rows; the seeds list them in different orders.
    std::vector<SeedPredictions> seeds{
        {"p/c-s1", 1, seed_predictions({{"a", 0, {0.6, 0.3, 0.1}}, {"b", 1, {0.5, 0.4, 0.1}}, {"c", 2, {0.1, 0.2, 0.7}}})},
        {"p/c-s2", 2, seed_predictions({{"c", 2, {0.5, 0.1, 0.4}}, {"a", 0, {0.2, 0.7, 0.1}}, {"b", 1, {0.1, 0.8, 0.1}}})},
        {"p/c-s3", 3, seed_predictions({{"b", 1, {0.3, 0.6, 0.1}}, {"a", 0, {0.7, 0.2, 0.1}}, {"c", 2, {0.3, 0.1, 0.6}}})},
    };
    const msa::records::EnsembleScores e = msa::train::test_ensemble(seeds);
    REQUIRE(e.scored());
    CHECK(e.trials == std::vector<std::string>{"p/c-s1", "p/c-s2", "p/c-s3"});
    CHECK(e.seeds == std::vector<std::int64_t>{1, 2, 3});
    CHECK(e.samples == 3);
    // Means: a (0.5, 0.4, 0.1) → negative, right; b (0.3, 0.6, 0.1) → neutral, right;
    // c (0.3, 0.133, 0.567) → positive, right; though seed 1 misses b and seed 2 misses a and c.
    CHECK(e.accuracy == Approx(1.0));
    CHECK(e.weighted_f1 == Approx(1.0));
    CHECK(e.macro_f1 == Approx(1.0));
    CHECK(e.per_class_f1.at("neutral") == Approx(1.0));

    // The same scores compute_metrics gives the averaged rows, when the mean is wrong too.
    seeds[0].predictions.rows[1].probabilities = {0.05, 0.15, 0.8}; // a: mean (0.317, 0.35, 0.333): neutral, wrong
    seeds[1].predictions.rows[3].probabilities = {0.1, 0.1, 0.8};   // b: mean (0.3, 0.367, 0.333): still neutral
    const msa::records::EnsembleScores changed = msa::train::test_ensemble(seeds);
    const at::Tensor expected = torch::tensor({{(0.05 + 0.2 + 0.7) / 3, (0.15 + 0.7 + 0.2) / 3, (0.8 + 0.1 + 0.1) / 3},
                                               {(0.5 + 0.1 + 0.3) / 3, (0.4 + 0.1 + 0.6) / 3, (0.1 + 0.8 + 0.1) / 3},
                                               {(0.1 + 0.5 + 0.3) / 3, (0.2 + 0.1 + 0.1) / 3, (0.7 + 0.4 + 0.6) / 3}},
                                              torch::kDouble);
    const msa::train::Metrics m = msa::train::compute_metrics({0, 1, 2}, expected, 3);
    CHECK(changed.accuracy == Approx(2.0 / 3));
    CHECK(changed.per_class_f1.at("negative") == Approx(0.0));
    CHECK(changed.per_class_f1.at("neutral") == Approx(2.0 / 3));
    CHECK(changed.macro_f1 == Approx((0.0 + 2.0 / 3 + 1.0) / 3));
    CHECK(changed.accuracy == Approx(m.accuracy));
    CHECK(changed.weighted_f1 == Approx(m.weighted_f1));
    CHECK(changed.macro_f1 == Approx(m.macro_f1));
    CHECK(changed.per_class_f1.at("negative") == Approx(m.per_class[0].f1));
    CHECK(changed.per_class_f1.at("positive") == Approx(m.per_class[2].f1));
}

TEST_CASE("seed ensemble: seeds with different test splits are not scored, and the reason names test_seed",
          "[ensemble][report]") {
    const std::vector<SeedPredictions> differ{
        {"p/c-s1", 1, seed_predictions({{"a", 0, {0.6, 0.3, 0.1}}, {"b", 1, {0.5, 0.4, 0.1}}})},
        {"p/c-s2", 2, seed_predictions({{"a", 0, {0.6, 0.3, 0.1}}, {"x", 1, {0.5, 0.4, 0.1}}})},
    };
    const auto e = msa::train::test_ensemble(differ);
    CHECK_FALSE(e.scored());
    CHECK(e.trials == std::vector<std::string>{"p/c-s1", "p/c-s2"});
    CHECK_THAT(e.unavailable, Contains("the seeds' test splits differ (seed 1 (p/c-s1) and seed 2 (p/c-s2) share 1 of 2 "
                                       "and 2 test rows)") &&
                                  Contains("set [split] test_seed"));

    const std::vector<SeedPredictions> fewer{
        {"p/c-s1", 1, seed_predictions({{"a", 0, {0.6, 0.3, 0.1}}, {"b", 1, {0.5, 0.4, 0.1}}})},
        {"p/c-s2", 2, seed_predictions({{"a", 0, {0.6, 0.3, 0.1}}})},
    };
    CHECK_THAT(msa::train::test_ensemble(fewer).unavailable, Contains("share 1 of 2 and 1 test rows"));

    const std::vector<SeedPredictions> relabelled{
        {"p/c-s1", 1, seed_predictions({{"a", 0, {0.6, 0.3, 0.1}}})},
        {"p/c-s2", 2, seed_predictions({{"a", 2, {0.6, 0.3, 0.1}}})},
    };
    CHECK_THAT(msa::train::test_ensemble(relabelled).unavailable,
               Contains("test sample 'a' is labelled 'positive' by seed 2 (p/c-s2) but 'negative' by seed 1"));

    const std::vector<SeedPredictions> no_test{{"p/c-s1", 1, seed_predictions({})}, {"p/c-s2", 2, seed_predictions({})}};
    CHECK_THAT(msa::train::test_ensemble(no_test).unavailable, Contains("no test rows"));
    CHECK(msa::train::test_ensemble({}).unavailable == "no finished seed");
}

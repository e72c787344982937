// Trial metrics on cases computed by hand (and cross-checked with scikit-learn's
// classification_report conventions: zero_division = 0).
#include "train/metrics.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

using namespace msa::train;
using msa::Metric;

TEST_CASE("metrics: accuracy, per-class precision / recall / F1, macro and weighted F1, confusion matrix",
          "[metrics]") {
    // true:      0 0 0 1 1 2
    // predicted: 0 0 1 1 2 2
    const std::vector<std::int64_t> labels{0, 0, 0, 1, 1, 2};
    const auto probs = torch::tensor({{0.8, 0.1, 0.1}, {0.6, 0.3, 0.1}, {0.2, 0.7, 0.1},
                                      {0.1, 0.8, 0.1}, {0.1, 0.3, 0.6}, {0.2, 0.2, 0.6}});
    const Metrics m = compute_metrics(labels, probs, 3);
    CHECK(m.samples == 6);
    CHECK(m.accuracy == Approx(4.0 / 6));
    CHECK(m.confusion == std::vector<std::vector<std::int64_t>>{{2, 1, 0}, {0, 1, 1}, {0, 0, 1}});
    // class 0: P 2/2, R 2/3, F1 0.8; class 1: P 1/2, R 1/2, F1 0.5; class 2: P 1/2, R 1, F1 2/3
    CHECK(m.per_class[0].precision == Approx(1.0));
    CHECK(m.per_class[0].recall == Approx(2.0 / 3));
    CHECK(m.per_class[0].f1 == Approx(0.8));
    CHECK(m.per_class[1].f1 == Approx(0.5));
    CHECK(m.per_class[2].precision == Approx(0.5));
    CHECK(m.per_class[2].recall == Approx(1.0));
    CHECK(m.per_class[2].f1 == Approx(2.0 / 3));
    CHECK(m.per_class[1].support == 2);
    CHECK(m.macro_f1 == Approx((0.8 + 0.5 + 2.0 / 3) / 3));
    CHECK(m.weighted_f1 == Approx((3 * 0.8 + 2 * 0.5 + 1 * 2.0 / 3) / 6));
    CHECK(m.get({Metric::weighted_f1, {}}) == m.weighted_f1);
    CHECK(m.get({Metric::ece, {}}) == m.ece);
    CHECK_THROWS_WITH(m.get({Metric::loss, {}}), Catch::Matchers::Contains("accepted here: accuracy, macro_f1, weighted_f1, ece"));

    const msa::records::SplitScores scores = to_scores(m, {"negative", "neutral", "positive"});
    CHECK(scores.per_class.at("positive").support == 1);
    CHECK(scores.per_class.at("neutral").f1 == Approx(0.5));
    CHECK(scores.confusion->matrix[0][1] == 1);
    CHECK(scores.confusion->labels.back() == "positive");
}

TEST_CASE("metrics: a class never predicted has precision 0, and F1 0 when it has no hits", "[metrics]") {
    const std::vector<std::int64_t> labels{0, 1, 2};
    const auto probs = torch::tensor({{0.9, 0.05, 0.05}, {0.9, 0.05, 0.05}, {0.1, 0.1, 0.8}});
    const Metrics m = compute_metrics(labels, probs, 3);
    CHECK(m.per_class[1].precision == 0.0);
    CHECK(m.per_class[1].recall == 0.0);
    CHECK(m.per_class[1].f1 == 0.0);
    CHECK(m.per_class[0].precision == Approx(0.5));
    CHECK(m.macro_f1 == Approx((2.0 / 3 + 0 + 1) / 3));
}

TEST_CASE("metrics: expected calibration error over equal-width confidence bins", "[metrics]") {
    // Confidences 0.9, 0.9 (one right, one wrong) share bin (0.8667, 0.9333]: |0.5 - 0.9| * 2/4.
    // Confidences 0.6 (right) and 0.55 (right) share bin (0.5333, 0.6]: |1 - 0.575| * 2/4.
    const std::vector<std::int64_t> labels{0, 1, 0, 1};
    const auto probs = torch::tensor({{0.9, 0.1}, {0.9, 0.1}, {0.6, 0.4}, {0.45, 0.55}});
    const Metrics m = compute_metrics(labels, probs, 2);
    CHECK(m.ece == Approx(0.4 * 0.5 + 0.425 * 0.5));
    // Perfectly calibrated certainty: ECE 0.
    const Metrics sure = compute_metrics({0, 1}, torch::tensor({{1.0, 0.0}, {0.0, 1.0}}), 2);
    CHECK(sure.ece == Approx(0.0).margin(1e-12));
}

TEST_CASE("metrics: shapes and labels that do not fit are errors", "[metrics]") {
    CHECK_THROWS_WITH(compute_metrics({0, 1}, torch::rand({3, 2}), 2), Catch::Matchers::Contains("expected probabilities [2, 2]"));
    CHECK_THROWS_WITH(compute_metrics({0, 5}, torch::rand({2, 2}), 2), Catch::Matchers::Contains("label 5 of row 1"));
}

// Distillation's pieces: which pool posts pass the per-class thresholds and what targets
// they get (hard, soft at a temperature, gold rows beside them), the soft-target loss,
// and the teacher's coverage and accuracy at the thresholds.
#include "train/distillation.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>

using namespace msa;
using namespace msa::train;

namespace {

const std::vector<std::string> kLabels{"negative", "neutral", "positive"};

std::vector<Sample> posts(const std::vector<int>& labels) {
    std::vector<Sample> out;
    for (std::size_t i = 0; i < labels.size(); ++i)
        out.push_back({"p" + std::to_string(i), "text", "", labels[i], "p" + std::to_string(i)});
    return out;
}

// Teacher probabilities of four pool posts: confident negative, unsure, confident
// positive, neutral at 0.8.
at::Tensor teacher() {
    return torch::tensor({0.90, 0.05, 0.05, 0.40, 0.35, 0.25, 0.10, 0.15, 0.75, 0.10, 0.80, 0.10}).view({4, 3});
}

} // namespace

TEST_CASE("distillation: the pool posts whose top probability reaches their class's threshold, as hard targets",
          "[distill]") {
    const auto samples = posts({0, 1, 2, -1, -1, -1, -1});
    const std::vector<std::size_t> pool{3, 4, 5, 6};
    DistillConfig config;
    config.threshold = 0.7;
    DistillRound round = distill_round(config, kLabels, samples, pool, teacher(), {0, 1, 2});
    CHECK(round.rows == std::vector<std::size_t>{3, 5, 6});
    CHECK(round.kept_per_class == std::vector<std::int64_t>{1, 1, 1});
    CHECK(torch::equal(round.targets.probs, torch::tensor({1.f, 0.f, 0.f, 0.f, 0.f, 1.f, 0.f, 1.f, 0.f}).view({3, 3})));
    CHECK(torch::equal(round.targets.temperature, torch::ones({3})));
    CHECK(torch::equal(round.targets.weight, torch::ones({3})));

    SECTION("a class's own threshold wins over the common one") {
        config.thresholds["neutral"] = 0.9; // T4SA keeps neutral only when very sure
        round = distill_round(config, kLabels, samples, pool, teacher(), {});
        CHECK(round.rows == std::vector<std::size_t>{3, 5});
        CHECK(round.kept_per_class == std::vector<std::int64_t>{1, 0, 1});
    }
    SECTION("threshold 0 keeps every post, 1 none but certainties") {
        config.threshold = 0;
        CHECK(distill_round(config, kLabels, samples, pool, teacher(), {}).rows.size() == 4);
        config.threshold = 1;
        CHECK(distill_round(config, kLabels, samples, pool, teacher(), {}).rows.empty());
    }
    SECTION("gold rows join with their labels at gold_weight") {
        config.gold_weight = 0.5;
        round = distill_round(config, kLabels, samples, pool, teacher(), {0, 2});
        CHECK(round.rows == std::vector<std::size_t>{3, 5, 6, 0, 2});
        CHECK(round.targets.weight[3].item<float>() == 0.5f);
        CHECK(torch::equal(round.targets.probs[4], torch::tensor({0.f, 0.f, 1.f})));
        CHECK(round.kept_per_class == std::vector<std::int64_t>{1, 1, 1}); // pool posts only
    }
}

TEST_CASE("distillation: soft targets are the teacher's probabilities at the temperature", "[distill]") {
    const auto samples = posts({-1, -1, -1, -1});
    DistillConfig config;
    config.threshold = 0.7;
    config.targets = "soft";
    config.temperature = 2.0;
    const DistillRound round = distill_round(config, kLabels, samples, {0, 1, 2, 3}, teacher(), {});
    REQUIRE(round.rows == std::vector<std::size_t>{0, 2, 3});
    // p^(1/T) normalised is softmax(log p / T): flatter than p for T > 1.
    const at::Tensor p = torch::tensor({0.90, 0.05, 0.05}, torch::kDouble);
    const at::Tensor expected = p.pow(0.5) / p.pow(0.5).sum();
    CHECK(torch::allclose(round.targets.probs[0].to(torch::kDouble), expected, 1e-6, 1e-6));
    CHECK(round.targets.probs[0][0].item<double>() < 0.9);
    CHECK(torch::allclose(round.targets.probs.sum(1), torch::ones({3})));
    CHECK(torch::equal(round.targets.temperature, torch::full({3}, 2.0f)));
}

TEST_CASE("distillation: the soft-target loss is T^2 times the cross-entropy, weighted per row", "[distill]") {
    const at::Tensor logits = torch::tensor({2.0f, 0.0f, -1.0f, 0.5f, 0.5f, 0.0f}).view({2, 3});
    SoftTargets hard{torch::tensor({1.f, 0.f, 0.f, 0.f, 0.f, 1.f}).view({2, 3}), torch::ones({2}), torch::ones({2})};
    // One-hot targets at T = 1: exactly the cross-entropy.
    const double ce = torch::nn::functional::cross_entropy(logits, torch::tensor({0, 2})).item<double>();
    CHECK(soft_target_loss(logits, hard).item<double>() == Approx(ce));
    // A row's weight scales its share; weight 0 leaves it out.
    SoftTargets weighted = hard;
    weighted.weight = torch::tensor({1.f, 0.f});
    const double first = torch::nn::functional::cross_entropy(logits.narrow(0, 0, 1), torch::tensor({0})).item<double>();
    CHECK(soft_target_loss(logits, weighted).item<double>() == Approx(first));
    // Temperature T: T^2 * CE(softmax(logits / T)).
    SoftTargets warm = hard;
    warm.temperature = torch::full({2}, 2.0f);
    const double warm_ce = torch::nn::functional::cross_entropy(logits / 2, torch::tensor({0, 2})).item<double>();
    CHECK(soft_target_loss(logits, warm).item<double>() == Approx(4 * warm_ce));
}

TEST_CASE("distillation: the teacher's coverage and accuracy on labelled rows at the thresholds", "[distill]") {
    DistillConfig config;
    config.threshold = 0.7;
    // Gold: negative, neutral, positive, positive. The teacher says negative (0.9, right),
    // negative (0.4, unsure, wrong), positive (0.75, right), neutral (0.8, wrong).
    const auto report = teacher_at_thresholds(config, kLabels, teacher(), {0, 1, 2, 2});
    CHECK(report["rows"] == 4);
    CHECK(report["coverage"].get<double>() == Approx(0.75));
    CHECK(report["accuracy_confident"].get<double>() == Approx(2.0 / 3.0));
    CHECK(report["accuracy"].get<double>() == Approx(0.5));
}

// The linear probe's logistic regression: it learns labels that are a function of the
// features, reaches the minimum of its penalised objective (checked against the gradient
// written out by hand), is deterministic, shrinks with the penalty, and chooses the
// penalty on validation rows from the grid.
#include "train/logistic_regression.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

using msa::Metric;
using msa::MetricName;
using namespace msa::train;
using Catch::Matchers::Contains;

namespace {

struct Problem {
    at::Tensor x, y;
};

// Labels are the arg-max of a fixed random linear map of the features, so a linear model
// can get every one right; `flip` of them are then set to another class (noise).
Problem linear_labels(std::int64_t n, std::uint64_t seed, double flip = 0.0) {
    auto teacher = at::detail::createCPUGenerator(1234); // the same map for every split
    const auto w = torch::randn({10, 4}, teacher);
    auto generator = at::detail::createCPUGenerator(seed);
    const auto x = torch::randn({n, 10}, generator);
    auto y = x.matmul(w).argmax(1);
    const auto flipped = torch::rand({n}, generator) < flip;
    y = torch::where(flipped, (y + 1) % 4, y);
    return {x, y};
}

double accuracy(const LogisticRegression& fit, const Problem& p) {
    return (fit.probabilities(p.x).argmax(1) == p.y).to(torch::kDouble).mean().item<double>();
}

} // namespace

TEST_CASE("logistic regression learns labels that are a linear function of the features", "[probe]") {
    const Problem train = linear_labels(400, 1), test = linear_labels(400, 2);
    const LogisticRegression fit = fit_logistic_regression(train.x, train.y, 4, 1e-3);
    INFO("train accuracy " << accuracy(fit, train) << ", test " << accuracy(fit, test));
    CHECK(accuracy(fit, train) > 0.95); // chance: 0.25
    CHECK(accuracy(fit, test) > 0.85);
    CHECK(fit.converged);
    CHECK(fit.layer->weight.sizes() == at::IntArrayRef{4, 10});
    CHECK(fit.layer->weight.scalar_type() == at::kFloat);
    const at::Tensor p = fit.probabilities(test.x);
    CHECK(p.sizes() == at::IntArrayRef{400, 4});
    CHECK(torch::allclose(p.sum(1), torch::ones({400}), 1e-5, 1e-5));
}

TEST_CASE("logistic regression ends at the minimum of cross-entropy plus l2/2 ||W||^2", "[probe]") {
    const Problem train = linear_labels(300, 3, 0.2);
    for (double l2 : {1e-2, 1.0}) {
        INFO("l2 " << l2);
        const LogisticRegression fit = fit_logistic_regression(train.x, train.y, 4, l2);
        // The gradient, by hand: X^T (P - onehot(y)) / N + l2 W for W, mean(P - onehot) for b.
        const auto x = train.x.to(torch::kDouble);
        const auto w = fit.layer->weight.to(torch::kDouble), b = fit.layer->bias.to(torch::kDouble);
        const auto residual = torch::softmax(x.matmul(w.t()) + b, 1) - torch::one_hot(train.y, 4).to(torch::kDouble);
        const auto grad_w = residual.t().matmul(x) / 300.0 + l2 * w;
        const auto grad_b = residual.mean(0);
        CHECK(grad_w.abs().max().item<double>() < 1e-4);
        CHECK(grad_b.abs().max().item<double>() < 1e-4);
        CHECK(fit.gradient < 1e-4);
    }
}

TEST_CASE("logistic regression is deterministic and shrinks with a stronger penalty", "[probe]") {
    const Problem train = linear_labels(200, 4, 0.1);
    const auto a = fit_logistic_regression(train.x, train.y, 4, 1e-2);
    const auto b = fit_logistic_regression(train.x, train.y, 4, 1e-2);
    CHECK(torch::equal(a.layer->weight, b.layer->weight));
    CHECK(torch::equal(a.layer->bias, b.layer->bias));
    double previous = INFINITY;
    for (double l2 : {1e-3, 1e-1, 10.0}) {
        const double norm = fit_logistic_regression(train.x, train.y, 4, l2).layer->weight.norm().item<double>();
        CHECK(norm < previous);
        previous = norm;
    }
}

TEST_CASE("choose_l2 keeps the grid value best on the validation rows", "[probe]") {
    const Problem train = linear_labels(200, 5, 0.3), valid = linear_labels(200, 6, 0.3);
    const std::vector<double> grid{1e-4, 1e-2, 1.0, 100.0};
    const L2Sweep sweep = choose_l2(train.x, train.y, valid.x, valid.y, 4, grid, MetricName{Metric::loss, {}});
    REQUIRE(sweep.points.size() == grid.size());
    CHECK(std::find(grid.begin(), grid.end(), sweep.best.l2) != grid.end());
    double best_loss = INFINITY;
    for (const auto& p : sweep.points) best_loss = std::min(best_loss, p.valid_score);
    for (const auto& p : sweep.points)
        if (p.l2 == sweep.best.l2) CHECK(p.valid_score == best_loss);
    // A penalty of 100 flattens the model: its validation loss is near log(4).
    CHECK(sweep.points.back().valid_score > sweep.points.front().valid_score - 1.0);
    CHECK(sweep.points.back().valid_score == Approx(std::log(4.0)).margin(0.05));

    // Far-apart clusters are told apart by any of these penalties: the tie of validation
    // accuracy 1 goes to the strongest.
    auto clusters = [](std::uint64_t seed) {
        auto generator = at::detail::createCPUGenerator(seed);
        const auto y = torch::arange(60) % 4;
        return Problem{torch::one_hot(y, 4).to(torch::kFloat) * 5 + torch::randn({60, 4}, generator) * 0.1, y};
    };
    const Problem clean = clusters(7), clean_valid = clusters(8);
    const L2Sweep tie = choose_l2(clean.x, clean.y, clean_valid.x, clean_valid.y, 4, {1e-4, 1e-2, 1e-3}, MetricName{Metric::accuracy, {}});
    for (const auto& p : tie.points) CHECK(p.valid_score == 1.0);
    CHECK(tie.best.l2 == 1e-2);
}

TEST_CASE("choose_l2 needs validation rows for a grid, and the fit refuses bad shapes and labels", "[probe]") {
    const Problem train = linear_labels(50, 9);
    const at::Tensor none = torch::empty({0}, torch::kLong);
    CHECK_THROWS_WITH(choose_l2(train.x, train.y, torch::empty({0, 10}), none, 4, {1e-3, 1e-2}, MetricName{Metric::accuracy, {}}),
                      Contains("needs validation rows"));
    CHECK(choose_l2(train.x, train.y, torch::empty({0, 10}), none, 4, {1e-3}, MetricName{Metric::accuracy, {}}).best.l2 == 1e-3);
    CHECK_THROWS_WITH(fit_logistic_regression(train.x, train.y.slice(0, 0, 10), 4, 1e-3), Contains("[N, D]"));
    CHECK_THROWS_WITH(fit_logistic_regression(train.x, train.y, 2, 1e-3), Contains("[0, 2)"));
}

#include "train/logistic_regression.hpp"

#include "train/metrics.hpp"

#include <msa/error.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <optional>

namespace msa::train {

namespace {

// L-BFGS with a strong-Wolfe line search needs a few dozen to a few hundred iterations on
// these problems; the limit only stops a nearly unpenalised fit of separable data, whose
// weights would otherwise grow without end.
constexpr std::int64_t kMaxIterations = 1000;
constexpr std::int64_t kMaxEvaluations = kMaxIterations * 5 / 4; // LBFGS's own default ratio
constexpr double kGradientTolerance = 1e-5;
constexpr double kChangeTolerance = 1e-12;
constexpr std::int64_t kHistory = 20;
// Where the objective counts as minimised: its largest partial derivative (mean
// cross-entropy gradients start near 1).
constexpr double kConvergedGradient = 1e-4;

double mean_cross_entropy(const at::Tensor& probs, const at::Tensor& y) {
    return torch::nll_loss(probs.to(torch::kDouble).clamp_min(1e-300).log(), y).item<double>();
}

} // namespace

at::Tensor LogisticRegression::probabilities(const at::Tensor& x) const {
    torch::NoGradGuard no_grad;
    torch::nn::Linear model = layer; // the same module; LibTorch's forward() is not const
    return torch::softmax(model->forward(x.to(torch::kCPU, torch::kFloat)), 1);
}

LogisticRegression fit_logistic_regression(const at::Tensor& x, const at::Tensor& y, std::int64_t num_classes,
                                           double l2) {
    if (x.dim() != 2 || y.dim() != 1 || x.size(0) != y.size(0) || x.size(0) == 0)
        throw Error("logistic regression: expected features [N, D] and labels [N] with N > 0, got " +
                    c10::str(x.sizes()) + " and " + c10::str(y.sizes()));
    const at::Tensor features = x.to(torch::kCPU, torch::kDouble);
    const at::Tensor labels = y.to(torch::kCPU, torch::kLong);
    if (labels.min().item<std::int64_t>() < 0 || labels.max().item<std::int64_t>() >= num_classes)
        throw Error("logistic regression: labels must lie in [0, " + std::to_string(num_classes) + ")");

    torch::nn::Linear layer(features.size(1), num_classes);
    layer->to(torch::kDouble);
    {
        torch::NoGradGuard no_grad;
        layer->weight.zero_();
        layer->bias.zero_();
    }
    torch::optim::LBFGS optimizer(layer->parameters(), torch::optim::LBFGSOptions(1.0)
                                                           .max_iter(kMaxIterations)
                                                           .max_eval(kMaxEvaluations)
                                                           .tolerance_grad(kGradientTolerance)
                                                           .tolerance_change(kChangeTolerance)
                                                           .history_size(kHistory)
                                                           .line_search_fn("strong_wolfe"));
    LogisticRegression out;
    out.l2 = l2;
    auto objective = [&] {
        optimizer.zero_grad();
        at::Tensor loss = torch::cross_entropy_loss(layer->forward(features), labels) +
                          0.5 * l2 * layer->weight.pow(2).sum();
        loss.backward();
        ++out.evaluations;
        return loss;
    };
    optimizer.step(objective);
    objective();
    --out.evaluations; // that one was ours, for the final gradient
    for (const auto& p : layer->parameters())
        out.gradient = std::max(out.gradient, p.grad().abs().max().item<double>());
    out.converged = out.gradient <= kConvergedGradient;
    layer->to(torch::kFloat);
    out.layer = layer;
    out.train_loss = mean_cross_entropy(out.probabilities(features), labels);
    return out;
}

L2Sweep choose_l2(const at::Tensor& train_x, const at::Tensor& train_y, const at::Tensor& valid_x,
                  const at::Tensor& valid_y, std::int64_t num_classes, const std::vector<double>& grid,
                  const MetricName& monitor) {
    if (grid.empty()) throw Error("choosing the L2 strength: the grid is empty");
    const bool validate = valid_y.defined() && valid_y.numel() > 0;
    if (!validate && grid.size() > 1)
        throw Error("choosing the L2 strength among " + std::to_string(grid.size()) +
                    " values needs validation rows, and there are none");
    const bool lower_is_better = monitor.metric == Metric::loss;
    L2Sweep sweep;
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < grid.size(); ++i) {
        LogisticRegression fit = fit_logistic_regression(train_x, train_y, num_classes, grid[i]);
        L2Point point{grid[i], fit.train_loss, 0.0, fit.evaluations, fit.converged};
        if (validate) {
            const at::Tensor probs = fit.probabilities(valid_x);
            if (lower_is_better) {
                point.valid_score = mean_cross_entropy(probs, valid_y.to(torch::kLong));
            } else {
                const at::Tensor labels = valid_y.to(torch::kCPU, torch::kLong).contiguous();
                const std::vector<std::int64_t> y(labels.data_ptr<std::int64_t>(),
                                                  labels.data_ptr<std::int64_t>() + labels.numel());
                point.valid_score = compute_metrics(y, probs, num_classes).get(monitor);
            }
        }
        sweep.points.push_back(point);
        const L2Point* incumbent = best ? &sweep.points[*best] : nullptr;
        const bool better = !incumbent ||
                            (lower_is_better ? point.valid_score < incumbent->valid_score
                                             : point.valid_score > incumbent->valid_score) ||
                            (point.valid_score == incumbent->valid_score && point.l2 > incumbent->l2);
        if (better) {
            best = i;
            sweep.best = std::move(fit);
        }
    }
    return sweep;
}

} // namespace msa::train

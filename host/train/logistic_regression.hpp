// Multinomial logistic regression on fixed features, the linear probe of CLIP's paper:
// one linear layer trained full-batch by L-BFGS on cross-entropy plus an L2 penalty,
// with the penalty's strength chosen on validation rows from a grid.
#pragma once

#include "manifest/vocabulary.hpp"

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>
#include <vector>

namespace msa::train {

struct LogisticRegression {
    torch::nn::Linear layer{nullptr}; // weight [C, D], bias [C], float32
    double l2 = 0;
    double train_loss = 0;        // mean cross-entropy on the training rows at the end, without the penalty
    double gradient = 0;          // largest |gradient| of the objective at the end
    std::int64_t evaluations = 0; // objective evaluations L-BFGS made (line search included)
    bool converged = false;       // gradient at most 1e-4: at the minimum, not stopped by the limit

    // softmax(layer(x)) [N, C], float32 on the CPU.
    at::Tensor probabilities(const at::Tensor& x) const;
};

// Minimises  mean cross-entropy(layer(x), y) + l2 / 2 * ||W||²  (the bias is not
// penalised; scikit-learn's C is 1 / (l2 * rows)) over `x` [N, D] and `y` [N] (class
// indices in [0, num_classes)), in float64, from zero weights: the problem is convex,
// so the result depends on the data alone, never on a seed or the thread count's luck.
LogisticRegression fit_logistic_regression(const at::Tensor& x, const at::Tensor& y, std::int64_t num_classes,
                                           double l2);

// One strength of the grid: how it fitted and what it scored on the validation rows.
struct L2Point {
    double l2 = 0;
    double train_loss = 0;
    double valid_score = 0; // the `monitor` value
    std::int64_t evaluations = 0;
    bool converged = false;
};

struct L2Sweep {
    LogisticRegression best;
    std::vector<L2Point> points; // in grid order
};

// Fits one model per strength of `grid` on the training rows and keeps the one with the
// best validation `monitor`: accuracy, macro_f1 or weighted_f1 (higher is better) or
// loss (mean cross-entropy, lower is better). Ties go to the stronger penalty, the
// simpler model. A grid of one needs no validation rows; a longer one does.
L2Sweep choose_l2(const at::Tensor& train_x, const at::Tensor& train_y, const at::Tensor& valid_x,
                  const at::Tensor& valid_y, std::int64_t num_classes, const std::vector<double>& grid,
                  const MetricName& monitor);

} // namespace msa::train

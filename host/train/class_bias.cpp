// Threshold moving (see class_bias.hpp).
#include "train/class_bias.hpp"

#include "train/metrics.hpp"

#include <msa/error.hpp>
#include <msa/random.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace msa::train {

namespace {

// The offsets tried for a class, nearest to 0 first, so that a tie keeps the smaller move.
std::vector<double> offset_grid() {
    std::vector<double> grid{0.0};
    for (int step = 1; step <= 60; ++step) {
        grid.push_back(0.05 * step);
        grid.push_back(-0.05 * step);
    }
    return grid;
}

double score(const at::Tensor& log_probs, const std::vector<std::int64_t>& labels, const at::Tensor& offsets,
             const MetricName& metric) {
    return compute_metrics(labels, with_offsets(log_probs, offsets), log_probs.size(1)).get(metric);
}

} // namespace

at::Tensor with_offsets(const at::Tensor& log_probs, const at::Tensor& offsets) {
    return torch::softmax(log_probs.to(torch::kFloat) + offsets.to(torch::kFloat).unsqueeze(0), 1);
}

ClassBias fit_class_bias(const at::Tensor& log_probs, const std::vector<std::int64_t>& labels,
                         const MetricName& metric) {
    if (log_probs.dim() != 2 || log_probs.size(0) != static_cast<std::int64_t>(labels.size()) || labels.empty())
        throw Error("[train] class_bias: expected log-probabilities [rows, classes] of labelled rows, got " +
                    c10::str(log_probs.sizes()) + " for " + std::to_string(labels.size()) + " labels");
    const auto classes = log_probs.size(1);
    const auto lp = log_probs.detach().to(torch::kCPU, torch::kFloat);
    ClassBias out;
    out.offsets = torch::zeros({classes}, torch::kFloat);
    out.before = score(lp, labels, out.offsets, metric);
    double best = out.before;
    const auto grid = offset_grid();
    for (int round = 0; round < 10; ++round) {
        bool moved = false;
        for (std::int64_t c = 1; c < classes; ++c) {
            const float kept = out.offsets[c].item<float>();
            float chosen = kept;
            for (double value : grid) {
                out.offsets[c] = value;
                const double s = score(lp, labels, out.offsets, metric);
                if (s > best + 1e-12) {
                    best = s;
                    chosen = static_cast<float>(value);
                }
            }
            out.offsets[c] = chosen;
            moved = moved || chosen != kept;
        }
        if (!moved) break;
    }
    out.after = best;
    return out;
}

at::Tensor cross_fitted_probabilities(const at::Tensor& log_probs, const std::vector<std::int64_t>& labels,
                                      const MetricName& metric, std::uint64_t seed) {
    const auto lp = log_probs.detach().to(torch::kCPU, torch::kFloat);
    const auto classes = lp.size(1);
    // Each class's rows in a seeded order, dealt alternately into the two halves.
    std::vector<std::vector<std::size_t>> halves(2);
    std::mt19937_64 rng(seed);
    for (std::int64_t c = 0; c < classes; ++c) {
        std::vector<std::size_t> rows;
        for (std::size_t i = 0; i < labels.size(); ++i)
            if (labels[i] == c) rows.push_back(i);
        seeded_shuffle(rows, rng);
        for (std::size_t k = 0; k < rows.size(); ++k) halves[k % 2].push_back(rows[k]);
    }
    at::Tensor out = torch::softmax(lp, 1);
    for (int h = 0; h < 2; ++h) {
        const auto& fit_on = halves[1 - h];
        const auto& apply_to = halves[h];
        if (fit_on.empty() || apply_to.empty()) continue; // too few rows to hold any out: left as they are
        std::vector<std::int64_t> fit_index(fit_on.begin(), fit_on.end()), apply_index(apply_to.begin(), apply_to.end());
        std::vector<std::int64_t> fit_labels;
        for (auto i : fit_on) fit_labels.push_back(labels[i]);
        const auto offsets =
            fit_class_bias(lp.index_select(0, torch::tensor(fit_index, torch::kLong)), fit_labels, metric).offsets;
        const auto index = torch::tensor(apply_index, torch::kLong);
        out.index_copy_(0, index, with_offsets(lp.index_select(0, index), offsets));
    }
    return out;
}

} // namespace msa::train

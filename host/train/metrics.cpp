// Classification metrics (see metrics.hpp), computed on the CPU in double precision.
#include "train/metrics.hpp"

#include <msa/error.hpp>

#include <torch/torch.h>

#include <cmath>

namespace msa::train {

double Metrics::get(const MetricName& metric) const {
    switch (metric.metric) {
    case Metric::accuracy: return accuracy;
    case Metric::macro_f1: return macro_f1;
    case Metric::weighted_f1: return weighted_f1;
    case Metric::ece: return ece;
    case Metric::class_f1: // by label, which these metrics (by class index) do not know
    case Metric::loss: break;
    }
    throw Error("metric '" + metric.str() + "' is not computed from predictions; accepted here: accuracy, macro_f1, "
                "weighted_f1, ece");
}

Metrics compute_metrics(const std::vector<std::int64_t>& labels, const at::Tensor& probabilities,
                        std::int64_t num_classes, int bins) {
    const auto n = static_cast<std::int64_t>(labels.size());
    if (probabilities.dim() != 2 || probabilities.size(0) != n || probabilities.size(1) != num_classes)
        throw Error("metrics: expected probabilities [" + std::to_string(n) + ", " + std::to_string(num_classes) +
                    "], got " + c10::str(probabilities.sizes()));
    const auto probs = probabilities.detach().to(torch::kCPU, torch::kDouble).contiguous();
    const auto p = probs.accessor<double, 2>();
    Metrics m;
    m.samples = n;
    m.confusion.assign(static_cast<std::size_t>(num_classes), std::vector<std::int64_t>(num_classes, 0));
    std::vector<double> bin_confidence(static_cast<std::size_t>(bins)), bin_correct(static_cast<std::size_t>(bins));
    std::vector<std::int64_t> bin_count(static_cast<std::size_t>(bins));
    std::int64_t correct = 0;
    for (std::int64_t i = 0; i < n; ++i) {
        const auto label = labels[static_cast<std::size_t>(i)];
        if (label < 0 || label >= num_classes)
            throw Error("metrics: label " + std::to_string(label) + " of row " + std::to_string(i) +
                        " is outside [0, " + std::to_string(num_classes) + ")");
        std::int64_t predicted = 0;
        for (std::int64_t c = 1; c < num_classes; ++c)
            if (p[i][c] > p[i][predicted]) predicted = c;
        ++m.confusion[static_cast<std::size_t>(label)][static_cast<std::size_t>(predicted)];
        const bool hit = predicted == label;
        correct += hit;
        // Bin b holds confidences in (b/B, (b+1)/B]; a confidence of 0 goes to bin 0.
        const double confidence = p[i][predicted];
        auto b = static_cast<int>(std::ceil(confidence * bins)) - 1;
        b = std::clamp(b, 0, bins - 1);
        bin_confidence[static_cast<std::size_t>(b)] += confidence;
        bin_correct[static_cast<std::size_t>(b)] += hit;
        ++bin_count[static_cast<std::size_t>(b)];
    }
    m.accuracy = n ? static_cast<double>(correct) / static_cast<double>(n) : 0.0;
    for (int b = 0; b < bins; ++b)
        if (bin_count[static_cast<std::size_t>(b)] > 0)
            m.ece += std::abs(bin_correct[static_cast<std::size_t>(b)] - bin_confidence[static_cast<std::size_t>(b)]) /
                     static_cast<double>(n);
    for (std::int64_t c = 0; c < num_classes; ++c) {
        ClassMetrics k;
        std::int64_t predicted_as = 0;
        for (std::int64_t r = 0; r < num_classes; ++r) predicted_as += m.confusion[static_cast<std::size_t>(r)][c];
        for (std::int64_t col = 0; col < num_classes; ++col) k.support += m.confusion[static_cast<std::size_t>(c)][col];
        const auto tp = static_cast<double>(m.confusion[static_cast<std::size_t>(c)][c]);
        k.precision = predicted_as ? tp / static_cast<double>(predicted_as) : 0.0;
        k.recall = k.support ? tp / static_cast<double>(k.support) : 0.0;
        k.f1 = k.precision + k.recall > 0 ? 2 * k.precision * k.recall / (k.precision + k.recall) : 0.0;
        m.macro_f1 += k.f1 / static_cast<double>(num_classes);
        if (n) m.weighted_f1 += k.f1 * static_cast<double>(k.support) / static_cast<double>(n);
        m.per_class.push_back(k);
    }
    return m;
}

records::SplitScores to_scores(const Metrics& m, const std::vector<std::string>& names) {
    records::SplitScores out{m.samples, m.accuracy, m.macro_f1, m.weighted_f1, m.ece, {}, records::Confusion{names, m.confusion}};
    for (std::size_t c = 0; c < m.per_class.size(); ++c) {
        const auto& k = m.per_class[c];
        out.per_class[c < names.size() ? names[c] : std::to_string(c)] = {k.precision, k.recall, k.f1, k.support};
    }
    return out;
}

} // namespace msa::train

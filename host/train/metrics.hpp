// Classification metrics of a trial: accuracy, macro and weighted F1, per-class
// precision / recall / F1, the confusion matrix and the expected calibration error.
#pragma once

#include "manifest/vocabulary.hpp"
#include "records/trial_files.hpp"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace msa::train {

struct ClassMetrics {
    double precision = 0; // 0 when the class is never predicted (scikit-learn's zero_division=0)
    double recall = 0;    // 0 when the class has no samples
    double f1 = 0;        // 0 when precision + recall is 0
    std::int64_t support = 0;
};

struct Metrics {
    std::int64_t samples = 0;
    double accuracy = 0;
    double macro_f1 = 0;    // mean F1 over every class of the study, present or not
    double weighted_f1 = 0; // F1 weighted by support
    double ece = 0;         // expected calibration error over equal-width confidence bins
    std::vector<ClassMetrics> per_class;
    std::vector<std::vector<std::int64_t>> confusion; // [true class][predicted class]

    // The value of `metric` (vocabulary.hpp); Metric::loss is not a classification metric
    // and is an Error here.
    double get(const MetricName& metric) const;
};

// Metrics of predictions `probabilities` [N, C] (rows sum to 1; the prediction is the
// arg-max, the lowest class on ties) against `labels` (N class indices in [0, C)).
// `bins`: confidence bins of the ECE.
Metrics compute_metrics(const std::vector<std::int64_t>& labels, const at::Tensor& probabilities,
                        std::int64_t num_classes, int bins = 15);

// The scores metrics.json keeps of a split, classes by their names.
records::SplitScores to_scores(const Metrics& metrics, const std::vector<std::string>& class_names);

} // namespace msa::train

// Threshold moving ([train] class_bias): per-class offsets added to a trained model's
// log-probabilities, chosen on the validation rows to maximise a metric. A model trained on
// imbalanced classes under-predicts the minority ones (mvsa-ecnu's neutral: 10% of the
// posts); an offset moves the decision boundary without retraining.
#pragma once

#include "manifest/vocabulary.hpp"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace msa::train {

struct ClassBias {
    at::Tensor offsets; // [C] float32, offsets[0] = 0 (only differences matter)
    double before = 0;  // the metric on the rows with no offsets
    double after = 0;   // with `offsets`, on the rows they were chosen on (optimistic)
};

// The offsets that maximise `metric` (accuracy, macro or weighted F1) of arg-max(log_probs
// + offsets) on `labels`: coordinate ascent over each class's offset on a grid of -3 ... 3
// in steps of 0.05, from zero, until a round changes nothing; ties keep the offset nearer 0.
ClassBias fit_class_bias(const at::Tensor& log_probs, const std::vector<std::int64_t>& labels,
                         const MetricName& metric);

// Probabilities [N, C] for the rows of `log_probs` that no offset saw fitted on them: the
// rows fall into two halves (by label, in a seeded order), each half takes the offsets
// fitted on the other. Their metric is an honest validation score of threshold moving.
at::Tensor cross_fitted_probabilities(const at::Tensor& log_probs, const std::vector<std::int64_t>& labels,
                                      const MetricName& metric, std::uint64_t seed);

// softmax(log_probs + offsets), row by row.
at::Tensor with_offsets(const at::Tensor& log_probs, const at::Tensor& offsets);

} // namespace msa::train

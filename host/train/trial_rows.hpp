// The rows of a trial, shared by every kind of trial: the dataset and its split, the
// sampler's training rows, and what is written about every sample at the end
// (predictions.csv with its split column, metrics on the validation and test rows).
#pragma once

#include "data/dataset_reader.hpp"
#include "data/split.hpp"
#include "manifest/study.hpp"
#include "train/metrics.hpp"

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace msa {
class PluginCatalog;
}

namespace msa::train {

using TrialLogFn = std::function<void(const std::string&)>;

// The dataset read by [dataset] and split by [split] with the study's seed.
struct TrialData {
    data::Dataset dataset;
    data::Split split;
};
TrialData read_trial_data(const Study& study, const TrialLogFn& log);

// The rows the [sampler] picks from the train split, as indices into the samples. In a
// few-shot trial ([few_shot] k) the sampler is told k (SamplerContext::shots) and must
// return k x classes rows.
std::vector<std::size_t> sample_training_rows(const Study& study, const PluginCatalog& catalog,
                                              const TrialData& data);

// A few-shot trial's validation rows: k per class drawn with the trial's seed from the
// train split's rows the sampler did not choose (LM-BFF's few-shot development set), so
// that selecting an epoch never sees more labels than the curve point claims. They
// become the split's valid rows and leave its train rows; the validation split itself
// is not used (its rows are "unused" in predictions.csv). Returns a line for the log and
// metrics.json.
nlohmann::json draw_few_shot_validation(const Study& study, TrialData& data,
                                        const std::vector<std::size_t>& train_rows);

// The training rows of each class, logged as the sampler's line.
std::vector<std::int64_t> count_training_rows(const Study& study, const std::vector<Sample>& samples,
                                              const std::vector<std::size_t>& rows, const TrialLogFn& log);

// `rows` as an int64 index tensor.
at::Tensor index_tensor(const std::vector<std::size_t>& rows);

// Metrics of `probs` ([samples, C], one row per sample) on the samples `rows`.
Metrics metrics_of_rows(const std::vector<Sample>& samples, const std::vector<std::size_t>& rows,
                        const at::Tensor& probs, std::int64_t num_classes);

} // namespace msa::train

// An [evaluate] trial (a study's ablation phase, docs/studies.md): a trained model
// evaluated, not retrained, on this trial's dataset and split with one modality kept and
// the other replaced by zeros or by its mean over the training rows.
#pragma once

#include "manifest/study.hpp"
#include "train/run_folder.hpp"
#include "train/trainer.hpp"

#include <filesystem>

namespace msa {
class PluginCatalog;
}

namespace msa::train {

// `set` with the modality `config.keep` drops replaced: keep = "text" replaces the image
// features, "image" the text features, "both" nothing (nor does a modality `set` lacks).
// fill = "zeros" gives zeros; "mean" the mean over the rows `train_rows` ([M] int64) of
// `set`: the mean vector for pooled features, and for a token sequence the mean of its
// real tokens (mask 1) at every position, the mask kept as it is.
FeatureSet ablate(const FeatureSet& set, const EvaluateConfig& config, const at::Tensor& train_rows);

// Runs the [evaluate] trial `study` into `out`, where run_trial has written config.toml
// and opened the log: the model of evaluate.model on this trial's dataset, split and
// seed; writes predictions.csv and fills `metrics` (valid and test metrics as a trial's,
// plus what it evaluated: MetricsWriter::evaluated). No history.csv and no model.pt.
void run_evaluation(const Study& study, const PluginCatalog& catalog, const std::filesystem::path& out,
                    TrialLog& log, records::MetricsWriter& metrics);

} // namespace msa::train

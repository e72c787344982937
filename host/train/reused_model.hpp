// [train] reuse_model: a trial that takes another trial's trained model instead of
// training its own. Training is deterministic given the configuration, seed and split, so
// a trial whose configuration differs from a finished one only in what applies after
// training ([train] class_bias) would train the very same model; a study's threshold-
// moving phase therefore refits its offsets on the incumbent's models rather than
// training each one again.
#pragma once

#include "manifest/study.hpp"
#include "train/run_folder.hpp"
#include "train/trainer.hpp"

#include <filesystem>

namespace msa {
class PluginCatalog;
}

namespace msa::train {

// `model` (built for `study`) given the weights study.train.reuse_model trained, but not
// that trial's class_bias offsets; that trial's history.csv copied into `out`. Throws
// msa::Error unless that folder is a finished trial whose config.toml is `study`'s but for
// class_bias, reuse_model, threads, name, description and output, naming the first
// setting that differs, with both values. The result describes that training (its best
// epoch, epochs, solver), with 0 seconds spent here.
FitResult take_reused_model(Classifier& model, const Study& study, const PluginCatalog& catalog,
                            const std::filesystem::path& out, TrialLog& log);

} // namespace msa::train

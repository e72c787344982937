// One trial: a fully resolved manifest in, a run folder out (ARCHITECTURE.md, Outputs):
// config.toml (resolved), metrics.json, predictions.csv, history.csv, model.pt, log.txt.
// The unit every executor runs (`msa trial`).
#pragma once

#include "manifest/study.hpp"
#include "records/trial_files.hpp"

#include <filesystem>
#include <string>

namespace msa {
class PluginCatalog;
}

namespace msa::train {

// Runs the trial `study` describes and writes its run folder `out` (a study with [clip]
// runs run_clip_trial of clip_trial.hpp instead of training). A trial that fails
// writes error.txt and a metrics.json with "status": "failed" before the error goes on.
// `store_keys` (msa run's store_keys.json) lets frozen encoders' features be read by key,
// without loading the encoders.
void run_trial(const Study& study, const PluginCatalog& catalog, const std::filesystem::path& out,
               const records::StoreKeys& store_keys = {});

// The run folder of a trial when none is given: <output>/<name>.
std::filesystem::path default_run_folder(const Study& study);

} // namespace msa::train

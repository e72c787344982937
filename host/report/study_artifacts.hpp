// The trial files a study's report draws from besides results.json: each phase
// incumbent's history.csv and metrics.json, and the final incumbent's confusion matrices.
#pragma once

#include "records/results_file.hpp"
#include "records/trial_files.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace msa::report {

// The reports read the run-folder records.
using namespace msa::records;

struct IncumbentFiles {
    std::string folder;                 // the best trial, relative to the study folder; empty when none
    std::optional<TrialMetrics> metrics;
    std::vector<EpochRow> history;      // empty when there is none
    std::string missing;                // why there is no training curve, for the report
};

struct StudyArtifacts {
    std::vector<IncumbentFiles> phases; // parallel to StudyResults::phases
    std::optional<TrialMetrics> final_metrics;
    std::string final_missing;          // why the final incumbent's metrics are absent
    // Files that exist but could not be read, or the final incumbent's missing
    // metrics.json: the report is still written, and `msa report` prints these.
    std::vector<std::string> warnings;
};

// Reads what exists; an absent history.csv (an evaluated-only trial has none) is noted
// in IncumbentFiles::missing, a malformed file also becomes a warning.
StudyArtifacts read_study_artifacts(const StudyResults& results, const std::filesystem::path& study_folder);

} // namespace msa::report

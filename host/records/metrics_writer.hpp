// The one writer of a trial's metrics.json; its reader is read_trial_metrics
// (trial_files.hpp), and both live in trial_files.cpp with the file's key names.
#pragma once

#include "records/trial_files.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace msa::records {

// What msa reads back (TrialMetrics) is set through typed members; `details` holds the
// rest (what trained, on what, with how many threads), which only people and the trial
// pages read. A detail may not reuse a typed member's name.
struct MetricsWriter {
    std::string trial;
    std::uint64_t seed = 0;
    std::optional<SplitScores> valid, test;
    std::optional<std::int64_t> best_epoch;
    std::optional<double> encode_seconds, train_seconds; // total: given to ok_json
    // An [evaluate] trial: the trial folder whose model it evaluated, and how.
    struct Evaluation {
        std::string model, keep, fill;
    };
    std::optional<Evaluation> evaluated;
    // By modality: the features' report (plugin, key, from_store, encoded, ...).
    nlohmann::json features = nlohmann::json::object();
    nlohmann::json details = nlohmann::json::object();

    // metrics.json of a trial that finished in `total_seconds`.
    std::string ok_json(double total_seconds) const;
    // metrics.json of a trial that failed with `error`, with what it had recorded.
    std::string failed_json(const std::string& error) const;
};

// "test: accuracy …, weighted F1 …, macro F1 …" for the trial's log.
std::string test_summary(const SplitScores& test);

} // namespace msa::records

// What the reports read from a trial folder besides results.json: the confusion matrices
// and best epoch of metrics.json, the per-epoch rows of history.csv (README, Trials).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace msa::report {

struct Confusion {
    std::vector<std::string> labels;
    std::vector<std::vector<std::int64_t>> matrix; // [true class][predicted class]
};

struct TrialMetrics {
    std::optional<std::int64_t> best_epoch;
    std::optional<Confusion> valid_confusion;
    std::optional<Confusion> test_confusion;
};

struct EpochRow {
    double epoch = 0;
    double train_loss = 0;
    double valid_loss = 0;
    double valid_weighted_f1 = 0;
};

// Reads `trial_folder`/metrics.json; throws msa::Error naming the file and the problem.
TrialMetrics read_trial_metrics(const std::filesystem::path& trial_folder);

// Reads `trial_folder`/history.csv by its header's column names (epoch, train_loss,
// valid_loss, valid_weighted_f1; others are ignored); throws msa::Error with file:line.
std::vector<EpochRow> read_history(const std::filesystem::path& trial_folder);

} // namespace msa::report

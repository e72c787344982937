// The files of a trial folder that other parts of msa read (README, Trials): metrics.json,
// history.csv and store_keys.json, each with its one writer and its one reader here. predictions.csv is
// part of the SDK (msa/predictions.hpp), because plugins read it too.
#pragma once

#include "manifest/vocabulary.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace msa::records {

struct Confusion {
    std::vector<std::string> labels;
    std::vector<std::vector<std::int64_t>> matrix; // [true class][predicted class]
};

struct ClassScores {
    double precision = 0;
    double recall = 0;
    double f1 = 0;
    std::int64_t support = 0;
};

// The scores of one split (metrics.json's "valid" or "test").
struct SplitScores {
    std::int64_t samples = 0;
    double accuracy = 0;
    double macro_f1 = 0;
    double weighted_f1 = 0;
    double ece = 0;                               // expected calibration error
    std::map<std::string, ClassScores> per_class; // by class label
    std::optional<Confusion> confusion;

    // The value of `metric`; nullopt for a class this split has no F1 of, or for the
    // loss, which metrics.json does not keep per split.
    std::optional<double> get(const MetricName& metric) const;
};

// What msa run, msa predict and the reports read of metrics.json.
// What a [distill] trial's metrics.json says of its pool and teacher.
struct DistillSummary {
    std::int64_t pool = 0;                 // posts the teacher labelled
    std::vector<std::int64_t> kept;        // per class, posts that trained the last round's student
    double teacher_coverage = 0;           // validation rows the teacher was confident of (share)
    double teacher_accuracy = 0;           // its accuracy on those
};

struct TrialMetrics {
    TrialStatus status = TrialStatus::failed; // ok or failed
    std::string error;                        // failed: why
    std::optional<SplitScores> valid, test;
    std::optional<std::int64_t> best_epoch;
    double total_seconds = 0;
    std::size_t encoded = 0; // features the trial encoded itself (augmented copies)
    std::string evaluated_model; // an [evaluate] trial: the trial folder whose model it evaluated
    std::optional<DistillSummary> distill; // a [distill] trial
    std::optional<std::int64_t> parameters; // trained: the head's and trainable encoder tops' parameters
    std::string solver; // trained: how it was fitted, "adamw" or "lbfgs"; empty for other trials
    std::int64_t trainable_layers = 0; // trained: the most top layers any of its encoders trained

    // The confusion matrix of "test" or "valid", or nullptr.
    const Confusion* confusion(bool test_split) const {
        const auto& split = test_split ? test : valid;
        return split && split->confusion ? &*split->confusion : nullptr;
    }
};

// Reads `trial_folder`/metrics.json; throws msa::Error naming the file and the problem.
TrialMetrics read_trial_metrics(const std::filesystem::path& trial_folder);

// metrics.json of a trial that died before it could write its own (a crashed worker).
// Trials write theirs with MetricsWriter (records/metrics_writer.hpp).
std::string failed_trial_metrics(const std::string& trial, std::uint64_t seed, const std::string& error);

// One row of history.csv: an epoch of training.
struct EpochRow {
    std::int64_t epoch = 0;
    double train_loss = 0;
    double valid_loss = 0;
    double valid_accuracy = 0;
    double valid_macro_f1 = 0;
    double valid_weighted_f1 = 0;
    double learning_rate = 0;
    double seconds = 0;
    std::vector<double> valid_class_f1; // per class, in the order of the writer's labels (valid_f1_<label>)
};

// Writes history.csv row by row as training goes (each row flushed, so a killed trial
// keeps the epochs it finished). Beside the fixed columns, one valid_f1_<label> per class.
class HistoryWriter {
public:
    HistoryWriter(const std::filesystem::path& trial_folder, const std::vector<std::string>& labels);
    void add(const EpochRow& row);

private:
    std::ofstream out_;
    std::size_t classes_;
};

// Reads `trial_folder`/history.csv by its header's column names (the per-class columns
// where the header has them, in its order); throws msa::Error with file:line.
std::vector<EpochRow> read_history(const std::filesystem::path& trial_folder);

// store_keys.json, written by msa run beside a trial's trial.toml: for each encoder of the
// trial that has no trainable top, by modality ("text", "image"), the feature-store key
// its features were stored under when the study encoded the dataset, and the precision
// it encoded in. The worker reads those features by key without loading the encoder's
// weights (`msa trial --store-keys`); where the store lacks some it builds the encoder.
struct StoredFeatures {
    std::string key;       // 64 hex digits
    std::string precision; // Encoder::precision()
    bool operator==(const StoredFeatures& other) const { return key == other.key && precision == other.precision; }
};
using StoreKeys = std::map<std::string, StoredFeatures>;

std::string store_keys_json(const StoreKeys& keys);

// Reads a store_keys.json; throws msa::Error naming the file and what is wrong.
StoreKeys read_store_keys(const std::filesystem::path& file);

// counts.json, written by the encode step of msa run (msa encode --counts): what each
// encoder of each trial manifest encoded.
struct EncodeCount {
    std::string what;   // "text", "image", or what else the features were for
    std::string plugin;
    std::int64_t encoded = 0;
};

// Reads a counts.json; throws msa::Error naming the file and what is wrong.
std::vector<EncodeCount> read_encode_counts(const std::filesystem::path& file);

} // namespace msa::records

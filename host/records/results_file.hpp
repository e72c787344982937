// A study's results.json (docs/studies.md) as plain structs, with its one writer (msa run)
// and its one reader (the reports, msa predict).
#pragma once

#include "manifest/vocabulary.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace msa::records {

// A metric over a configuration's finished seeds.
struct Stat {
    double mean = 0;
    double std = 0; // sample standard deviation; 0 with one seed
    std::int64_t n = 0;
};

// The metrics of one split; a metric is absent when no seed finished.
struct SplitStats {
    std::optional<Stat> weighted_f1;
    std::optional<Stat> macro_f1;
    std::optional<Stat> accuracy;
    std::map<std::string, Stat> per_class_f1; // by class label

    // The F1 of class `label`, when known.
    std::optional<Stat> class_f1(const std::string& label) const;
    // The field of a summarized metric (vocabulary.hpp, metric_summarized); nullptr for others.
    std::optional<Stat>* of(Metric metric) {
        return metric == Metric::weighted_f1 ? &weighted_f1
               : metric == Metric::macro_f1  ? &macro_f1
               : metric == Metric::accuracy  ? &accuracy
                                             : nullptr;
    }
    const std::optional<Stat>* of(Metric metric) const { return const_cast<SplitStats*>(this)->of(metric); }
};

struct TrialRecord {
    std::string folder; // relative to the study folder
    std::optional<std::int64_t> seed;
    TrialStatus status = TrialStatus::pending;
    std::string error;  // empty when none
    std::optional<double> seconds;
    std::optional<std::int64_t> fold; // its validation fold, in a phase with select_folds
};

// A configuration's seed ensemble on the test split: its finished seeds' test
// probabilities (each trial's predictions.csv) averaged row by row, then scored once.
// msa run records it for each phase's incumbent; reports show it beside the mean ± std.
struct EnsembleScores {
    std::vector<std::string> trials;  // the trial folders averaged, relative to the study folder
    std::vector<std::int64_t> seeds;  // their seeds, in the same order
    std::string unavailable;          // why it was not scored (the seeds' test splits differ); empty when scored
    std::int64_t samples = 0;         // test rows
    double weighted_f1 = 0;
    double macro_f1 = 0;
    double accuracy = 0;
    std::map<std::string, double> per_class_f1; // by class label

    bool scored() const { return unavailable.empty(); }
};

struct ConfigResult {
    std::string label;
    std::vector<std::pair<std::string, std::string>> changes; // the sweep point: manifest path -> value
    std::vector<TrialRecord> trials;
    SplitStats valid;
    SplitStats test;
    std::string best_trial; // empty when no seed finished
    bool reference = false; // another phase's incumbent, shown beside this phase's configurations
    std::optional<EnsembleScores> test_ensemble; // a phase's incumbent with two or more finished seeds
    std::optional<std::int64_t> shots; // few-shot phases: the training samples per class of this point
    // Distill phases' students: over the finished seeds, the mean pool size, posts kept per
    // class (by label) and the teacher's coverage and accuracy on the validation rows.
    struct Distill {
        double pool = 0;
        std::map<std::string, double> kept;
        double teacher_coverage = 0;
        double teacher_accuracy = 0;
    };
    std::optional<Distill> distill;

    // The sweep point as compact JSON ({"fusion":"gated"}; "{}" when none).
    std::string changes_json() const;
    std::size_t finished_trials() const;
};

struct PhaseResult {
    std::string name;
    PhaseKind kind = PhaseKind::train;
    std::string from; // empty when the phase starts from the base configuration
    std::string select = "weighted_f1";
    PhaseStatus status = PhaseStatus::pending;
    std::string reason; // why, when skipped or failed; empty otherwise
    std::optional<std::size_t> incumbent; // index into configs; none in a phase of a kind without one
    std::string selection; // why the incumbent is not the best mean (the one-SE rule); empty when it is
    std::vector<ConfigResult> configs;

    const ConfigResult* incumbent_config() const { return incumbent ? &configs[*incumbent] : nullptr; }
    // Whether the phase's kind picks an incumbent of its own: train and augmentation do;
    // an ablation phase takes the incumbent of its `from` apart, a clip phase compares
    // CLIP with it.
    bool has_own_incumbent() const { return hands_on_incumbent(kind); }
    std::size_t planned_trials() const;
    std::size_t finished_trials() const;
};

struct StoreUse {
    std::int64_t from_store = 0;
    std::int64_t encoded = 0;
    double hit_rate = 0;
};

struct StudyResults {
    std::filesystem::path file; // the results.json read
    std::string study;
    std::string description;
    std::string manifest;
    std::vector<std::string> labels; // class names, in class-index order
    StudyStatus status = StudyStatus::running;
    std::string started;
    std::optional<double> seconds;
    std::optional<StoreUse> store;
    std::string final_incumbent; // a trial folder relative to the study folder; empty when none
    std::vector<PhaseResult> phases;

    const PhaseResult* find_phase(const std::string& name) const;
    // The configuration whose best trial is the final incumbent, and its phase: the
    // incumbent of the last phase that hands one on. {nullptr, nullptr} when none is.
    std::pair<const PhaseResult*, const ConfigResult*> final_incumbent_config() const;
};

// Reads `file`. Unknown keys are ignored (later versions may add some); a missing
// required key, a wrong type or an incumbent out of range throws msa::Error naming the
// file and the key path, e.g. "…/results.json: phases[1].configs[0].valid.accuracy.mean:
// expected a number, found a string".
StudyResults read_study_results(const std::filesystem::path& file);

// results.json's text for `results` (its `file` is not written into it).
std::string results_json(const StudyResults& results);

} // namespace msa::records

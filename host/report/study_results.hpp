// A study's results.json (docs/studies.md) read into plain structs, for the reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace msa::report {

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
};

struct TrialRecord {
    std::string folder; // relative to the study folder
    std::optional<std::int64_t> seed;
    std::string status; // "ok", "failed", ...
    std::string error;  // empty when none
    std::optional<double> seconds;
};

struct ConfigResult {
    std::string label;
    std::string changes; // the sweep point as compact JSON ("{}" when none)
    std::vector<TrialRecord> trials;
    SplitStats valid;
    SplitStats test;
    std::string best_trial; // empty when no seed finished

    std::size_t finished_trials() const;
};

struct PhaseResult {
    std::string name;
    std::string kind;
    std::string from; // empty when the phase starts from the base configuration
    std::string select;
    std::string status;
    std::string reason; // why, when skipped or failed; empty otherwise
    std::optional<std::size_t> incumbent; // index into configs; none in a phase of a kind without one
    std::vector<ConfigResult> configs;

    const ConfigResult* incumbent_config() const { return incumbent ? &configs[*incumbent] : nullptr; }
    // Whether the phase's kind picks an incumbent of its own: train and augmentation do;
    // an ablation phase takes the incumbent of its `from` apart, a clip phase compares
    // CLIP with it.
    bool has_own_incumbent() const { return kind == "train" || kind == "augmentation"; }
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
    std::string status;
    std::string started;
    std::optional<double> seconds;
    std::optional<StoreUse> store;
    std::string final_incumbent; // a trial folder relative to the study folder; empty when none
    std::vector<PhaseResult> phases;

    const PhaseResult* find_phase(const std::string& name) const;
};

// Reads `file`. Unknown keys are ignored (later versions may add some); a missing
// required key, a wrong type or an incumbent out of range throws msa::Error naming the
// file and the key path, e.g. "…/results.json: phases[1].configs[0].valid.accuracy.mean:
// expected a number, found a string".
StudyResults read_study_results(const std::filesystem::path& file);

} // namespace msa::report

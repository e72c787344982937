// Planning a study (docs/studies.md), as pure functions: which configurations and trials
// a phase runs, given the phase it starts from; which configuration becomes the phase's
// incumbent, given the trials' outcomes. Nothing here touches files or processes, so the
// runner's decisions are unit-tested directly (tests/unit/test_study_plan.cpp).
#pragma once

#include "manifest/study.hpp"
#include "manifest/vocabulary.hpp"
#include "records/results_file.hpp"
#include "records/trial_files.hpp"
#include "study/trial_manifest.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace msa::study {

// What became of a planned trial.
struct TrialOutcome {
    TrialStatus status = TrialStatus::pending;
    std::string error;
    double seconds = 0;
    std::optional<records::SplitScores> valid, test; // when ok
    std::optional<records::DistillSummary> distill;  // a [distill] trial's pool and teacher
    std::optional<std::int64_t> parameters;          // trained: head and trainable encoder tops
    std::string solver;                              // trained: "adamw" or "lbfgs"
    std::int64_t trainable_layers = 0;               // trained: the most top layers an encoder trained
};

struct PlannedTrial {
    std::string folder; // relative to the study folder: <phase>/<configuration>-s<seed>[-f<fold>]
    std::uint64_t seed = 0;
    std::optional<std::int64_t> fold; // its validation fold, in a phase with select_folds
    std::int64_t folds = 0;           // with `fold`: how many folds its phase dealt
    std::vector<Change> changes; // the configuration's, then this trial's own
    // Changes of this trial alone, which phases starting from it inherit for the same
    // seed: the hard samples an augmentation trial was given.
    std::vector<Change> own;
    TrialOutcome outcome;
};

struct PlannedConfig {
    std::string label; // "fusion=gated, train.learning_rate=3e-4"
    std::string slug;  // folder-name part
    // The folder-name part as earlier versions of msa named it (tables written out in
    // full, cut at 60 characters), which a study they began keeps (PlanContext::trial_exists).
    std::string legacy_slug;
    std::vector<std::pair<std::string, std::string>> changes; // manifest path -> value, as results.json shows
    std::vector<Change> chain; // from the base configuration, without any trial's own changes
    std::vector<PlannedTrial> trials;
    bool reference = false; // another phase's incumbent, shown beside (not run here)
    std::string trained_as; // a reference: its label in the phase that trained its trials
    bool candidate = false; // a reference that may stay the incumbent (no augmentation at all)
    std::optional<std::int64_t> shots; // few-shot: the k per class of this curve point
};

struct PhasePlan {
    PhaseSpec spec;
    PhaseStatus status = PhaseStatus::pending;
    std::string reason; // why it was skipped or failed, or why its sweep was not run (the incumbent carried on)
    std::vector<PlannedConfig> configs;
    std::optional<std::size_t> incumbent; // index into configs
    // The incumbent's seed ensemble on the test split, which the runner scores from the
    // trials' predictions.csv once the incumbent is chosen (reported only, never chosen by).
    std::optional<records::EnsembleScores> incumbent_ensemble;
    std::string selection; // when the one-SE rule kept another configuration than the best mean: why
};

struct PlanContext {
    std::uint64_t study_seed = 42;
    std::filesystem::path study_folder; // absolute; trial folders are made absolute with it
    // For msa validate: plan every phase as if each incumbent were its first configuration
    // with every trial finished, and leave out what only finished trials decide (hard
    // samples, models to evaluate, the no-augmentation candidate).
    bool dry_run = false;
    // Why a phase cannot run here (a CLIP phase without its model folder); nullopt when it can.
    std::function<std::optional<std::string>(const PhaseSpec&)> unavailable;
    // Whether a trial folder (relative to study_folder) was begun; null: none was. Trials
    // of a study begun with older folder names keep them (PlannedConfig::legacy_slug).
    std::function<bool(const std::string& folder)> trial_exists;
};

// The sweep points of a phase: one element index per axis; `search = "random"` draws n of
// the grid with msa's seeded shuffle, kept in grid order.
std::vector<std::vector<std::size_t>> sweep_points(const PhaseSpec& spec, std::uint64_t study_seed);

// A folder name for `text`: letters, digits, '.', '_', '-'; one longer than `limit` is cut
// and ends in a stable hash of the whole (the same on every platform, so resume finds it).
std::string folder_slug(const std::string& text, std::size_t limit = 80);
// The limit of legacy_slug (PlannedConfig).
inline constexpr std::size_t kLegacySlugLimit = 60;

// A finished trial's line on stderr: "[tuning 3/24] tuning/64_3e-4-s1: valid weighted_f1
// 0.7241, test weighted F1 0.6970 (41.2 s; phase ETA 7 min 05 s)"; `seconds` the trial's,
// `phase_seconds` the wall time since the phase's trials started, which times the ETA
// (the phase's pace so far, whatever the workers) from the second trial and 10 s on.
std::string progress_line(const PhasePlan& phase, std::size_t finished, std::size_t total, const PlannedTrial& trial,
                          double seconds, double phase_seconds);

// The configurations and trials of `spec`. `from` is the plan of the phase it starts from
// (with its incumbent chosen), null for the base configuration.
PhasePlan plan_phase(const PhaseSpec& spec, const PlanContext& context, const PhasePlan* from);

// Chooses the incumbent and the phase's status from the trials' outcomes. Among the
// configurations run here and candidates (none in a phase whose kind hands none on), the
// best mean validation `select`; with select_rule = "one-se" (the default), the simplest
// configuration whose mean is within one standard error of that best (the best's sample
// standard deviation over its trials / sqrt(trials); with one trial there is no estimate
// and the best is kept). Simpler (config_complexity): no augmenter before an augmenter,
// then fewer trained parameters (head and trainable encoder tops); equally simple ones go
// by their means. phase.selection says why when it is not the best mean.
void choose_incumbent(PhasePlan& phase);

// How complex a configuration of `phase` is, for the one-SE rule: (1 for an augmentation
// phase's configurations with an augmenter, 0 otherwise; the mean trained parameters over
// its finished trials, 0 when unknown). Lower is simpler.
std::pair<int, double> config_complexity(const PhasePlan& phase, const PlannedConfig& config);

// The finished trial of `config` with the best validation `select`.
const PlannedTrial* best_trial(const PlannedConfig& config, const MetricName& select);

// The mean validation `select` over the finished trials of `config`.
std::optional<double> mean_valid(const PlannedConfig& config, const MetricName& select);

// The phase as results.json records it: every configuration with its trials and the mean ±
// std of each summarized metric over its finished trials, per split; the incumbent with
// its seed ensemble, when scored.
records::PhaseResult phase_result(const PhasePlan& phase, const std::vector<std::string>& labels);

} // namespace msa::study

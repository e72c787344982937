// The report's tables as plain text cells, built once from results.json so that
// report.md and report.html show the same numbers; each writer only adds its markup.
#pragma once

#include "records/results_file.hpp"

#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace msa::report {

// The reports read the run-folder records.
using namespace msa::records;

struct Table {
    std::vector<std::string> headers;
    std::vector<std::vector<std::string>> rows;
    std::vector<bool> highlighted; // per row: the incumbent
    std::size_t text_columns = 1;  // the leading columns that hold names; the rest numbers
    std::string note;              // a line under the table; empty for none
};

// "0.712 ± 0.010"; "—" when absent. Every number in the reports has 3 decimals.
std::string format_stat(const std::optional<Stat>& stat);

// The study's header: (name, value) pairs, e.g. ("wall time", "13 min 32 s").
std::vector<std::pair<std::string, std::string>> study_facts(const StudyResults& results);

// "complete", or "skipped: <reason>" / "failed: <reason>".
std::string phase_status(const PhaseResult& phase);

// One row per phase: kind, from, status, configs, trials, incumbent and its metrics.
Table phase_table(const StudyResults& results);

// How much a phase's choice can be trusted. The incumbent was chosen for its mean validation
// score, so that score flatters it: the optimism is how much it exceeds the test score. The
// gaps say how far the incumbent stands from the configuration that came next, and from the
// incumbent it started from, in standard errors of the difference of the mean validation
// scores (Welch: sqrt(sd1²/n1 + sd2²/n2)); within one, the two are not told apart.
struct PhaseOptimism {
    MetricName metric;                // the phase's `select`
    const ConfigResult* incumbent = nullptr;
    Stat valid;                       // the incumbent's, of `metric`
    std::optional<Stat> test;         // none when no seed of it was scored on test
    std::optional<double> optimism;   // valid mean − test mean; positive when validation flatters it

    struct Comparison {
        const ConfigResult* config = nullptr;
        Stat valid;                   // its validation score, of `metric`
        double difference = 0;        // incumbent mean − its mean; positive when the incumbent is better
        // difference / standard error; none when either has one seed (no sd to go on) or
        // the standard error is 0 (every seed of both scored the same).
        std::optional<double> standard_errors;
    };
    // The configuration with the next-best validation mean among those the phase could
    // have chosen; none when it had one.
    std::optional<Comparison> runner_up;
    // The incumbent of `from`, on this phase's metric; none without a `from`, or when this
    // phase kept that incumbent (kept_from).
    std::optional<Comparison> from;
    bool kept_from = false;           // no configuration beat the incumbent of `from`: it stays (or
                                      // the phase chose that configuration again: equal scores)

    // The incumbent is not told apart from the one it started from: |gap| < 1 standard error.
    bool within_one_se_of_from() const {
        return from && from->standard_errors && std::abs(*from->standard_errors) < 1;
    }
};

// The optimism and gaps of a phase with an incumbent of its own; none for other phases,
// a phase with no incumbent, or an incumbent without a validation score of `select`.
std::optional<PhaseOptimism> phase_optimism(const StudyResults& results, const PhaseResult& phase);

// One row per phase that phase_optimism describes: its incumbent's valid and test scores of
// `select`, the optimism, the runner-up and the gaps; none when no phase has one.
std::optional<Table> optimism_table(const StudyResults& results);

// "Warning: in phase tuning, the incumbent is within one standard error of the incumbent of
// encoders (gap +0.4 SE): …"; empty when the incumbent stands clear of it (or kept it),
// or the gap cannot be measured.
std::string optimism_warning(const StudyResults& results, const PhaseResult& phase);

// The final incumbent's optimism in a sentence; empty when there is no final incumbent or
// it has no test score.
std::string study_optimism_line(const StudyResults& results);

// "Kind train, from baseline, incumbent by valid weighted_f1. Status: complete.", and
// "No configurations were run." after it when none were.
std::string phase_description(const PhaseResult& phase);

// The table of a phase's configurations: ablation_table for an ablation phase,
// config_table otherwise; none when the phase ran no configuration.
std::optional<Table> phase_configs_table(const StudyResults& results, const PhaseResult& phase);

// One row per configuration of `phase`: valid and test metrics, mean ± std over seeds.
Table config_table(const StudyResults& results, const PhaseResult& phase);

// An ablation phase: each configuration's test metrics and its weighted F1 against the
// full model (the incumbent of the phase it comes from).
Table ablation_table(const StudyResults& results, const PhaseResult& phase);

// "weighted F1", "macro F1", "accuracy": a summarized metric as the reports name it.
std::string metric_title(Metric metric);

// A few-shot phase's configurations as learning curves: one curve per sweep configuration
// (its label), one point per k (the configuration of that k, or null where the curve has
// none); k increasing.
struct LearningCurves {
    std::vector<std::int64_t> shots;
    struct Curve {
        std::string label;
        std::vector<const ConfigResult*> points; // one per shots entry
    };
    std::vector<Curve> curves;
};
LearningCurves learning_curves(const PhaseResult& phase);

// A few-shot phase's curves as a table of a test metric (weighted_f1, macro_f1): a row per
// curve, a column per k, mean ± std over the draws; none for other phases.
std::optional<Table> learning_curve_table(const PhaseResult& phase, Metric metric);

// A distill phase's students beside the gold-label one: the teacher's pool, the posts kept
// per class, the teacher's coverage and accuracy on the validation rows at the thresholds,
// and test weighted F1 with its difference to the gold-label student; none for other phases.
std::optional<Table> distill_table(const StudyResults& results, const PhaseResult& phase);

// One row per phase whose incumbent has a seed ensemble (results.json's test_ensemble):
// the test metrics of its seeds (mean ± std) beside the ensemble's; none when no phase has one.
std::optional<Table> ensemble_table(const StudyResults& results);

// The seed ensemble of the phase's incumbent in a sentence, beside its seeds' mean ± std, or
// why it was not scored; empty when results.json has none for it.
std::string ensemble_line(const StudyResults& results, const PhaseResult& phase);

// "folder (seed 2): first line of the error" for each trial of `phase` that did not finish.
std::vector<std::string> unfinished_trials(const PhaseResult& phase);

} // namespace msa::report

// The closed sets of names that manifests, run folders and results.json use: phase kinds,
// trial status, learning-rate schedules and metrics. Each is an enum with one table of
// names; reading an unknown name is an error that lists the accepted ones, and nothing
// else in msa compares these names as strings.
#pragma once

#include <msa/error.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace msa {

enum class PhaseKind { train, augmentation, ablation, clip, few_shot, distill };
enum class TrialStatus { pending, ok, failed, skipped, interrupted };
enum class PhaseStatus { pending, complete, failed, skipped, interrupted };
enum class StudyStatus { running, complete, failed, interrupted };
enum class Schedule { constant, linear, cosine };
enum class Solver { auto_, adamw, lbfgs };
enum class SelectRule { one_se, best };
enum class Metric { accuracy, macro_f1, weighted_f1, class_f1, ece, loss };

// Whether a phase of this kind picks an incumbent that later phases and msa predict use:
// train and augmentation phases do; an ablation phase takes the incumbent of its `from`
// apart and a clip phase compares CLIP with it, so neither has one of its own; a few-shot
// phase draws learning curves, whose points no later phase starts from; a distill phase
// compares students (often of one modality) with gold-trained ones.
inline bool hands_on_incumbent(PhaseKind kind) { return kind == PhaseKind::train || kind == PhaseKind::augmentation; }

// Where a metric may be named.
enum MetricUse : unsigned {
    metric_select = 1,    // a phase's `select` (picks the incumbent on validation)
    metric_monitor = 2,   // [train] monitor (picks the best epoch)
    metric_summarized = 4 // averaged per configuration in results.json and the reports
};

struct MetricInfo {
    Metric metric;
    const char* name;
    bool higher_is_better;
    unsigned uses;      // MetricUse bits
    const char* how;    // how it is computed, for docs and errors
};

// Every metric msa computes. class_f1 is named `f1.<label>` (one per class).
inline constexpr std::array<MetricInfo, 6> metric_table{{
    {Metric::weighted_f1, "weighted_f1", true, metric_select | metric_monitor | metric_summarized,
     "F1 per class averaged with the classes' support as weights"},
    {Metric::macro_f1, "macro_f1", true, metric_select | metric_monitor | metric_summarized,
     "unweighted mean of the per-class F1"},
    {Metric::accuracy, "accuracy", true, metric_select | metric_monitor | metric_summarized,
     "share of rows whose most probable class is their label"},
    {Metric::class_f1, "f1.<label>", true, metric_select, "F1 of one class, e.g. f1.neutral"},
    {Metric::ece, "ece", false, 0, "expected calibration error over 15 equal-width confidence bins"},
    {Metric::loss, "loss", false, metric_monitor, "the objective on the validation rows"},
}};

inline const MetricInfo& info(Metric metric) {
    for (const auto& m : metric_table)
        if (m.metric == metric) return m;
    throw Error("unknown metric");
}

// A metric as a manifest names it: `weighted_f1`, or `f1.neutral` (class_f1 with its label).
struct MetricName {
    Metric metric = Metric::weighted_f1;
    std::string label; // class_f1 only

    std::string str() const { return metric == Metric::class_f1 ? "f1." + label : info(metric).name; }
    bool higher_is_better() const { return info(metric).higher_is_better; }
    bool operator==(const MetricName& o) const { return metric == o.metric && label == o.label; }
};

// The names accepted for `use` ("weighted_f1, macro_f1, accuracy, f1.<label>").
std::vector<std::string> metric_names(unsigned use);

// Reads a metric name accepted for `use`; nullopt when it is not one (the caller words
// the error with metric_names(use)).
std::optional<MetricName> parse_metric(const std::string& name, unsigned use);

// The metrics every configuration is summarized by (results.json, reports).
std::vector<MetricName> summarized_metrics();

// Name tables of the other enums, in enum order.
inline constexpr std::array<const char*, 6> phase_kind_names{"train",    "augmentation", "ablation",
                                                                "clip",     "few-shot",     "distill"};
inline constexpr std::array<const char*, 5> trial_status_names{"pending", "ok", "failed", "skipped", "interrupted"};
inline constexpr std::array<const char*, 5> phase_status_names{"pending", "complete", "failed", "skipped",
                                                               "interrupted"};
inline constexpr std::array<const char*, 4> study_status_names{"running", "complete", "failed", "interrupted"};
inline constexpr std::array<const char*, 3> schedule_names{"constant", "linear", "cosine"};
inline constexpr std::array<const char*, 3> solver_names{"auto", "adamw", "lbfgs"};
inline constexpr std::array<const char*, 2> select_rule_names{"one-se", "best"};

inline const char* to_string(PhaseKind v) { return phase_kind_names[static_cast<std::size_t>(v)]; }
inline const char* to_string(TrialStatus v) { return trial_status_names[static_cast<std::size_t>(v)]; }
inline const char* to_string(PhaseStatus v) { return phase_status_names[static_cast<std::size_t>(v)]; }
inline const char* to_string(StudyStatus v) { return study_status_names[static_cast<std::size_t>(v)]; }
inline const char* to_string(Schedule v) { return schedule_names[static_cast<std::size_t>(v)]; }
inline const char* to_string(Solver v) { return solver_names[static_cast<std::size_t>(v)]; }
inline const char* to_string(SelectRule v) { return select_rule_names[static_cast<std::size_t>(v)]; }

// Reads a name of the enum (parse_name<Schedule>(schedule_names, "cosine")); nullopt when
// it is none (see names_of for the accepted ones).
template <class E, std::size_t N>
std::optional<E> parse_name(const std::array<const char*, N>& names, const std::string& name) {
    for (std::size_t i = 0; i < N; ++i)
        if (name == names[i]) return static_cast<E>(i);
    return std::nullopt;
}
template <std::size_t N> std::vector<std::string> names_of(const std::array<const char*, N>& names) {
    return {names.begin(), names.end()};
}

// Reads `name` or throws Error("unknown <what> '<name>'; accepted: ...").
template <class E, std::size_t N>
E require_name(const std::array<const char*, N>& names, const std::string& name, const std::string& what) {
    if (auto value = parse_name<E>(names, name)) return *value;
    std::string accepted;
    for (const char* n : names) accepted += (accepted.empty() ? "" : ", ") + std::string(n);
    throw Error("unknown " + what + " '" + name + "'; accepted: " + accepted);
}

} // namespace msa

// The report's charts, drawn from a study's results and its incumbents' trial files.
#pragma once

#include "records/results_file.hpp"
#include "records/trial_files.hpp"

#include <optional>
#include <string>
#include <vector>

namespace msa::report {

// The reports read the run-folder records.
using namespace msa::records;

// The class label named "neutral" (any case), when the study has one.
std::optional<std::string> neutral_label(const std::vector<std::string>& labels);

// A part of a chart title: its text, and what sets it off from the part before it:
// " ", ": ", or " (" and ")" for an aside. The title's first part has neither.
struct TitlePart {
    std::string text;
    std::string before = " ";
    std::string after;
};

// A chart title from `parts` in order, less each part whose words (runs of letters and
// digits, in any case) the rest of the title already has, so that a part never repeats
// another; of two alike, the earlier goes. {"Ablation", "ablation"} → "ablation";
// {"Ablation", "modalities"} → "Ablation modalities"; {"loss", aside "loss=acb", "loss"}
// → "loss=acb".
std::string chart_title(const std::vector<TitlePart>& parts);

// (a) Each phase's incumbent test weighted F1, and neutral F1 when there is such a class,
// as lines over the phases with ± std error bars; a phase whose trials all failed is a
// gap, and phases of a kind without an incumbent (ablation, clip) are left out.
std::string phase_evolution_chart(const StudyResults& results);

// (b) The per-class test F1 of each phase's incumbent, grouped by phase (the same phases).
std::string per_class_chart(const StudyResults& results);

// (c) An ablation phase's configurations on radar axes: accuracy, macro F1, weighted F1
// and each class's F1 (test, means).
std::string ablation_chart(const StudyResults& results, const PhaseResult& phase);

// (c') A few-shot phase's learning curves: a test metric (weighted or macro F1) against k
// on a log scale, one line per configuration, error bars of ± one std over the draws.
std::string learning_curve_chart(const PhaseResult& phase, Metric metric);

// A distill phase that sweeps distill.threshold: the posts kept, then the students' test
// weighted F1 (the gold-label student as a flat line), against the threshold; one line per
// setting of the other swept keys. Empty when the phase has fewer than two thresholds.
std::vector<std::string> distill_threshold_charts(const PhaseResult& phase);

// (d) A confusion matrix as a heat map; `trial` and `split` ("test split") name it in the title.
std::string confusion_chart(const Confusion& confusion, const std::string& trial, const std::string& split);

// (e) Two charts of a phase's incumbent's training (`label`: its configuration):
// validation weighted F1, and train and validation loss, by epoch, with the best epoch
// marked when known.
std::vector<std::string> training_curve_charts(const std::string& phase, const std::string& label,
                                               const std::vector<EpochRow>& history,
                                               std::optional<std::int64_t> best_epoch);

} // namespace msa::report

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

// (a) Each phase's incumbent test weighted F1, and neutral F1 when there is such a class,
// as lines over the phases with ± std error bars; a phase without incumbent is a gap.
std::string phase_evolution_chart(const StudyResults& results);

// (b) The per-class test F1 of each phase's incumbent, grouped by phase.
std::string per_class_chart(const StudyResults& results);

// (c) An ablation phase's configurations on radar axes: accuracy, macro F1, weighted F1
// and each class's F1 (test, means).
std::string ablation_chart(const StudyResults& results, const PhaseResult& phase);

// (d) A confusion matrix as a heat map; `what` names the trial and split for the title.
std::string confusion_chart(const Confusion& confusion, const std::string& what);

// (e) Two charts of an incumbent's training: validation weighted F1, and train and
// validation loss, by epoch, with the best epoch marked when known.
std::vector<std::string> training_curve_charts(const std::string& what, const std::vector<EpochRow>& history,
                                               std::optional<std::int64_t> best_epoch);

} // namespace msa::report

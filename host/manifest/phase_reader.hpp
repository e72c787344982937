// Internal to host/manifest: a study manifest's [[phase]] tables.
#pragma once

#include "manifest/study.hpp"
#include "manifest/table_reader.hpp"

#include <vector>

namespace msa {

class PluginCatalog;

// [[phase]] tables: checked here; their `set` and `sweep` values are checked when the
// study runner builds each trial's manifest from them.
std::vector<PhaseSpec> read_phases(TableReader& top);

// An ablation phase retrains on one modality: its text_fusion must read text alone and
// its image_fusion images alone, as their declarations (PluginInfo::needs) say.
void check_ablation_fusions(const std::vector<PhaseSpec>& phases, const PluginCatalog& catalog, Problems& problems);

// A few-shot phase compares its points on one test split: the study needs [split]
// test_seed (or given split files, or folds). Label descriptions (a few-shot phase's for
// k = 0, a trial's [zero_shot]) name every label of the study and no other.
void check_few_shot(const Study& study, Problems& problems);

// A phase's select_folds needs the ratio split: not given split files, not [split] folds.
void check_select_folds(const Study& study, Problems& problems);

} // namespace msa

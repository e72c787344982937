// Seed ensembles: a configuration's models, one per seed, combined by averaging their
// class probabilities; what `msa predict --run <study>` labels with, and what a study
// reports for each phase's incumbent on the shared test split.
#pragma once

#include "records/results_file.hpp"

#include <msa/predictions.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace msa::train {

// The row-wise mean of `members` (each [N, C] class probabilities on the CPU, all of one
// shape), as float64 [N, C]. One member gives itself back. Throws msa::Error for none or
// for shapes that differ.
at::Tensor average_probabilities(const std::vector<at::Tensor>& members);

// One seed's trial and its predictions.csv.
struct SeedPredictions {
    std::string trial; // the trial folder, as results.json names it
    std::int64_t seed = 0;
    Predictions predictions;
};

// The test metrics of the seeds' ensemble: when every seed's test rows are the same ids
// with the same labels (a shared test split, [split] test_seed), their probabilities are
// averaged (average_probabilities) and scored as a trial's are (compute_metrics: the
// arg-max, the lowest class on ties). Otherwise the result is not scored and
// `unavailable` says why: different test splits (with how many rows two seeds share, and
// that [split] test_seed gives one), no test rows, or a label that differs.
records::EnsembleScores test_ensemble(const std::vector<SeedPredictions>& seeds);

} // namespace msa::train

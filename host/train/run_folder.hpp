// Pieces every kind of trial writes its run folder with (README, Trials): the log, the
// predictions table, files replaced atomically, and the device choice.
#pragma once

#include "data/split.hpp"
#include "records/metrics_writer.hpp"
#include "util/atomic_file.hpp"

#include <msa/sample.hpp>


#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace msa::train {

// Files replaced whole (util/atomic_file.hpp).
using msa::write_file_atomically;

// Lines to stderr and to log.txt at once.
class TrialLog {
public:
    explicit TrialLog(const std::filesystem::path& file);
    void operator()(const std::string& line);

private:
    std::ofstream file_;
};

// `x` with `digits` decimals.
std::string fixed(double x, int digits = 4);

// predictions.csv: `id,split,label,predicted,p_<label>...`, one row per sample.
// `split_of[i]` names sample i's split (train, valid, test, unlabelled, unused);
// `probs` is [N, C] float on the CPU.
std::string predictions_csv(const std::vector<Sample>& samples, const std::vector<std::string>& split_of,
                            const at::Tensor& probs, const std::vector<std::string>& labels);

// predictions.csv's split column for `samples`: train, valid or test as `split` says,
// unlabelled for a sample without a label, unused for the others.
std::vector<std::string> split_names(const std::vector<Sample>& samples, const data::Split& split);

// predictions.csv for every sample (`split_of` names each one's split), and the
// "valid" and "test" scores of metrics.json from the rows of `split`. `probs` is [N, C] float on
// the CPU, a row per sample.
void write_predictions_and_metrics(const std::filesystem::path& out, const std::vector<Sample>& samples,
                                   const std::vector<std::string>& split_of, const data::Split& split,
                                   const at::Tensor& probs, const std::vector<std::string>& labels,
                                   records::MetricsWriter& metrics);

// The device [train] device names; CUDA is refused clearly when LibTorch sees none.
c10::Device choose_device(const std::string& name);

} // namespace msa::train

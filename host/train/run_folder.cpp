#include "train/run_folder.hpp"

#include "train/trial_rows.hpp"

#include "train/metrics.hpp"

#include <msa/error.hpp>
#include <msa/predictions.hpp>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <iomanip>
#include <iostream>
#include <sstream>

namespace msa::train {

namespace fs = std::filesystem;

TrialLog::TrialLog(const fs::path& file) : file_(file) {}

void TrialLog::operator()(const std::string& line) {
    std::cerr << line << "\n";
    file_ << line << "\n";
    file_.flush();
}

std::string fixed(double x, int digits) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(digits) << x;
    return s.str();
}

std::string predictions_csv(const std::vector<Sample>& samples, const std::vector<std::string>& split_of,
                            const at::Tensor& probs, const std::vector<std::string>& labels) {
    const auto num_classes = static_cast<std::int64_t>(labels.size());
    Predictions table;
    table.labels = labels;
    const auto p = probs.accessor<float, 2>();
    for (std::size_t i = 0; i < samples.size(); ++i) {
        const auto row = static_cast<std::int64_t>(i);
        Prediction prediction{samples[i].id, split_of[i], samples[i].label, 0, {}, 0};
        for (std::int64_t c = 0; c < num_classes; ++c) {
            prediction.probabilities.push_back(p[row][c]);
            if (p[row][c] > p[row][prediction.predicted]) prediction.predicted = static_cast<int>(c);
        }
        table.rows.push_back(std::move(prediction));
    }
    return msa::predictions_csv(table);
}

std::vector<std::string> split_names(const std::vector<Sample>& samples, const data::Split& split) {
    std::vector<std::string> split_of(samples.size(), "unused");
    for (auto i : split.train) split_of[i] = "train";
    for (auto i : split.valid) split_of[i] = "valid";
    for (auto i : split.test) split_of[i] = "test";
    for (std::size_t i = 0; i < samples.size(); ++i)
        if (samples[i].label < 0) split_of[i] = "unlabelled";
    return split_of;
}

void write_predictions_and_metrics(const fs::path& out, const std::vector<Sample>& samples,
                                   const std::vector<std::string>& split_of, const data::Split& split,
                                   const at::Tensor& probs, const std::vector<std::string>& labels,
                                   records::MetricsWriter& metrics) {
    write_file_atomically(out / "predictions.csv", predictions_csv(samples, split_of, probs, labels));

    const auto num_classes = static_cast<std::int64_t>(labels.size());
    metrics.valid = to_scores(metrics_of_rows(samples, split.valid, probs, num_classes), labels);
    metrics.test = to_scores(metrics_of_rows(samples, split.test, probs, num_classes), labels);
}

c10::Device choose_device(const std::string& name) {
    if (name == "cuda") {
        if (!torch::cuda::is_available())
            throw Error("[train] device = \"cuda\", but LibTorch sees no CUDA device (this LibTorch build may lack "
                        "CUDA support, or no GPU is visible); use device = \"cpu\"");
        return c10::Device(c10::kCUDA);
    }
    return c10::Device(c10::kCPU);
}

} // namespace msa::train

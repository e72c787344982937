// [evaluate] trials: a saved model on this trial's split, one modality replaced (see
// evaluate_trial.hpp).
#include "train/evaluate_trial.hpp"

#include "data/dataset_reader.hpp"
#include "data/split.hpp"
#include "train/saved_model.hpp"
#include "util/suggest.hpp"
#include "util/thread_budget.hpp"

#include <nlohmann/json.hpp>
#include <torch/torch.h>


namespace msa::train {

namespace fs = std::filesystem;

namespace {

// `f` with every row replaced. Expanded views, not copies: a token sequence of every
// sample is large, and rows() copies only the rows it selects.
Features filled(const Features& f, const std::string& fill, const at::Tensor& train_rows) {
    Features out = f; // the mask stays: which positions are tokens does not change
    if (f.pooled.defined())
        out.pooled = (fill == "zeros" ? torch::zeros({1, f.pooled.size(1)}, f.pooled.options())
                                      : f.pooled.index_select(0, train_rows).mean(0, /*keepdim=*/true))
                         .expand_as(f.pooled);
    if (f.tokens.defined()) {
        at::Tensor mean_token = torch::zeros({f.tokens.size(2)}, f.tokens.options());
        if (fill == "mean") {
            const at::Tensor tokens = f.tokens.index_select(0, train_rows);
            const at::Tensor real = f.mask.defined()
                                        ? f.mask.index_select(0, train_rows).to(tokens.scalar_type()).unsqueeze(-1)
                                        : torch::ones({tokens.size(0), tokens.size(1), 1}, tokens.options());
            if (real.sum().item<double>() == 0)
                throw Error("[evaluate] fill = \"mean\": the training rows hold no real token to average");
            mean_token = (tokens * real).sum(at::IntArrayRef{0, 1}) / real.sum();
        }
        out.tokens = mean_token.view({1, 1, -1}).expand_as(f.tokens);
    }
    return out;
}

bool present(const Features& f) { return f.pooled.defined() || f.tokens.defined(); }

} // namespace

FeatureSet ablate(const FeatureSet& set, const EvaluateConfig& config, const at::Tensor& train_rows) {
    if (config.keep == "both") return set;
    if (config.fill == "mean" && train_rows.numel() == 0)
        throw Error("[evaluate] fill = \"mean\" averages the training rows, and the split has none");
    FeatureSet out = set;
    Features& replaced = config.keep == "text" ? out.image : out.text;
    if (present(replaced)) replaced = filled(replaced, config.fill, train_rows.to(torch::kLong));
    return out;
}

void run_evaluation(const Study& study, const PluginCatalog& catalog, const fs::path& out, TrialLog& log,
                    records::MetricsWriter& metrics) {
    const EvaluateConfig& config = *study.evaluate;
    set_intra_op_threads(resolve_threads(study.train.threads));
    const torch::Device device = choose_device(study.train.device);

    SavedModel model(config.model, catalog);
    if (model.labels() != study.dataset.labels)
        throw Error(study.file.string() + ": [evaluate] model " + model.folder().string() + " was trained on the " +
                    "labels [" + join(model.labels()) + "], this trial's dataset.labels are [" +
                    join(study.dataset.labels) + "]: they must be the same, in the same order");
    const std::string dropped = config.keep == "text" ? "image" : "text";
    std::string how = config.keep + " only: " + dropped + " features replaced by " +
                      (config.fill == "zeros" ? "zeros" : "their mean over the training rows");
    if (config.keep == "both")
        how = "both modalities";
    else if (!model.study().encoders.count(dropped))
        how = "keep = \"" + config.keep + "\": the model reads no " + dropped + " features, so nothing is replaced";
    log("model " + model.folder().string() + " (fusion " + model.study().fusion.plugin + "), evaluated with " + how);

    const data::Dataset dataset = data::read_dataset(study.dataset);
    const data::Split split = data::make_split(dataset.samples, study.split, study.seed);
    log("dataset " + study.dataset.root.string() + ": " + std::to_string(dataset.samples.size()) + " samples; split " +
        std::to_string(split.train.size()) + " train, " + std::to_string(split.valid.size()) + " valid, " +
        std::to_string(split.test.size()) + " test");
    const LoadedFeatures features = model.features(dataset.samples, std::ref(log), &study);
    std::vector<std::int64_t> labels, train_rows(split.train.begin(), split.train.end());
    for (const auto& s : dataset.samples) labels.push_back(s.label);
    const FeatureSet everything{features.text, features.image, torch::tensor(labels, torch::kLong)};

    const at::Tensor probs =
        model.probabilities(ablate(everything, config, torch::tensor(train_rows, torch::kLong)), device);
    write_predictions_and_metrics(out, dataset.samples, split_names(dataset.samples, split), split, probs,
                                  study.dataset.labels, metrics);
    metrics.evaluated = records::MetricsWriter::Evaluation{model.folder().string(), config.keep, config.fill};
    metrics.features = features.report;
    metrics.details["device"] = device.str();
}

} // namespace msa::train

#include "train/zero_shot_trial.hpp"

#include "plugin/plugin_catalog.hpp"
#include "train/run_folder.hpp"
#include "train/trial_features.hpp"
#include "train/trial_rows.hpp"
#include "util/thread_budget.hpp"

#include <msa/encoder.hpp>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>
#include <functional>

namespace msa::train {

namespace fs = std::filesystem;

at::Tensor description_class_embeddings(const at::Tensor& description_embeds, const std::vector<std::int64_t>& owner,
                                        std::int64_t num_classes) {
    const at::Tensor unit = torch::nn::functional::normalize(
        description_embeds.to(torch::kFloat), torch::nn::functional::NormalizeFuncOptions().dim(1));
    at::Tensor classes = torch::zeros({num_classes, unit.size(1)});
    std::vector<double> count(static_cast<std::size_t>(num_classes));
    for (std::size_t d = 0; d < owner.size(); ++d) {
        classes[owner[d]] += unit[static_cast<std::int64_t>(d)];
        ++count[static_cast<std::size_t>(owner[d])];
    }
    for (std::size_t c = 0; c < count.size(); ++c)
        if (count[c] == 0) throw Error("zero-shot: class " + std::to_string(c) + " has no description");
    return torch::nn::functional::normalize(classes, torch::nn::functional::NormalizeFuncOptions().dim(1));
}

at::Tensor cosine_probabilities(const at::Tensor& post_embeds, const at::Tensor& class_embeds, double scale) {
    const at::Tensor posts = torch::nn::functional::normalize(post_embeds.to(torch::kFloat),
                                                              torch::nn::functional::NormalizeFuncOptions().dim(1));
    return torch::softmax(scale * posts.matmul(class_embeds.t()), 1);
}

void run_zero_shot_trial(const Study& study, const PluginCatalog& catalog, const fs::path& out, TrialLog& log,
                         records::MetricsWriter& metrics) {
    const ZeroShotConfig& zero_shot = *study.zero_shot;
    const auto text = study.encoders.find("text");
    if (text == study.encoders.end())
        throw ConfigError(zero_shot.where, "[zero_shot] compares text embeddings with label descriptions: the trial "
                                           "needs an [encoders.text]");
    set_intra_op_threads(resolve_threads(study.train.threads));
    const auto& labels = study.dataset.labels;
    const TrialData data = read_trial_data(study, std::ref(log));
    const auto start = std::chrono::steady_clock::now();

    // The posts through the store, as any trial's; only the text encoder is asked, whole:
    // nothing trains here, so an encoder set to fine-tune its top (a SetFit curve's k = 0)
    // gives its ordinary embeddings.
    Study text_only = study;
    PluginChoice whole = text->second;
    if (whole.params.has("trainable_layers") && whole.params.get_int("trainable_layers") > 0) {
        whole.params.set("trainable_layers", Value{std::int64_t{0}});
        if (whole.params.has("cached_prefix")) whole.params.set("cached_prefix", Value{false});
        log("zero-shot: the text encoder runs whole (nothing trains, so trainable_layers does not apply)");
    }
    text_only.encoders = {{"text", whole}};
    const LoadedFeatures posts = load_features(text_only, catalog, data.dataset.samples,
                                               std::ref(log));
    if (!posts.text.pooled.defined())
        throw ConfigError(text->second.where, "[zero_shot] needs pooled text embeddings; encoder '" +
                                                  text->second.plugin + "' gives token sequences (set its pooling)");
    // The descriptions through the same encoder, but not into the store: they are not samples.
    std::vector<Sample> descriptions;
    std::vector<std::int64_t> owner;
    for (std::size_t c = 0; c < labels.size(); ++c)
        for (const auto& description : zero_shot.descriptions.at(labels[c])) {
            descriptions.push_back({"description-" + std::to_string(descriptions.size()), description});
            owner.push_back(static_cast<std::int64_t>(c));
        }
    const PluginEntry& entry = catalog.get(PluginKind::encoder, whole.plugin, whole.where);
    const auto encoder = catalog.create_encoder(whole.plugin, whole.params);
    EncoderBatch batch;
    for (const auto& s : descriptions) batch.samples.push_back(&s);
    const Features described = call_plugin(entry, "encode()", [&] { return encoder->encode(batch); });
    const at::Tensor classes =
        description_class_embeddings(described.pooled, owner, static_cast<std::int64_t>(labels.size()));
    log("zero-shot: " + std::to_string(descriptions.size()) + " label descriptions against " +
        std::to_string(data.dataset.samples.size()) + " posts' " + text->second.plugin + " embeddings");

    const at::Tensor probs = cosine_probabilities(posts.text.pooled, classes, kZeroShotScale);
    metrics.features = posts.report;
    metrics.details["zero_shot"] = {{"descriptions", zero_shot.descriptions}, {"scale", kZeroShotScale}};
    metrics.details["parameters"] = {{"head", 0}, {"encoder_top", 0}};
    metrics.encode_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    metrics.train_seconds = 0.0;
    write_predictions_and_metrics(out, data.dataset.samples, split_names(data.dataset.samples, data.split),
                                  data.split, probs, labels, metrics);
}

} // namespace msa::train

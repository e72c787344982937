// The [clip] trial (see clip_trial.hpp): CLIP's embeddings come from a pair of encoder
// plugins of one joint space (builtin_defaults.hpp) through the feature store, like any
// trial's features, so a rerun or the other method reads them back instead of encoding again.
#include "train/clip_trial.hpp"

#include "manifest/builtin_defaults.hpp"
#include "plugin/plugin_catalog.hpp"
#include "train/logistic_regression.hpp"
#include "train/run_folder.hpp"
#include "train/trial_features.hpp"
#include "train/trial_rows.hpp"
#include "train/zero_shot_trial.hpp"
#include "util/thread_budget.hpp"

#include <msa/encoder.hpp>
#include <msa/models/checkpoint.hpp>
#include <msa/models/clip.hpp>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

namespace msa::train {

namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// What a [clip] trial needs beside the dataset: the checkpoint (its config, and its
// weights for logit_scale) and where to point errors.
struct ClipContext {
    const Study& study;
    const ClipConfig& clip;
    const PluginCatalog& catalog;
    models::Checkpoint checkpoint;
};

// The encoder of `modality` on the [clip] checkpoint, as [encoders.<modality>] would
// state it: the built-in CLIP plugin, its declared model folder set to the checkpoint,
// its other parameters at their defaults (clip-text then reads as many ids as the
// checkpoint has positions). Both must declare the same joint space: zero-shot compares
// text with image embeddings, and the probe's embeddings are normalised in that space.
PluginChoice clip_encoder(const ClipContext& ctx, Modality modality) {
    const PluginEntry& text = ctx.catalog.get(PluginKind::encoder, builtin_defaults::clip_text_encoder, ctx.clip.where);
    const PluginEntry& image =
        ctx.catalog.get(PluginKind::encoder, builtin_defaults::clip_image_encoder, ctx.clip.where);
    if (text.info.joint_space.empty() || text.info.joint_space != image.info.joint_space)
        throw ConfigError(ctx.clip.where, "[clip] pairs " + describe(text) + " with " + describe(image) +
                                              ", which must declare one joint image-text space (PluginInfo::"
                                              "joint_space); they declare '" + text.info.joint_space + "' and '" +
                                              image.info.joint_space + "'");
    const PluginEntry& entry = modality == Modality::text ? text : image;
    const std::string& plugin = entry.info.name;
    PluginChoice choice{plugin, Properties("encoder '" + plugin + "'"), ctx.clip.where};
    const auto folder = std::find_if(entry.info.params.begin(), entry.info.params.end(),
                                     [](const ParamSpec& spec) { return spec.is_model_folder; });
    if (folder == entry.info.params.end())
        throw ConfigError(ctx.clip.where, "[clip] needs " + describe(entry) +
                                              " to declare its checkpoint parameter a model folder");
    choice.params.set(folder->name, ctx.clip.checkpoint.string(), ctx.clip.where, true);
    // [clip] dtype goes to the encoders' compute type, where they have one.
    if (std::any_of(entry.info.params.begin(), entry.info.params.end(),
                    [](const ParamSpec& spec) { return spec.name == "dtype"; }))
        choice.params.set("dtype", ctx.clip.dtype, ctx.clip.where, true);
    fill_defaults(entry.info, choice.params);
    return choice;
}

at::Tensor normalized(const Features& f) { return models::clip_normalize(f.pooled.to(torch::kFloat)); }

// The probe's input: the L2-normalised embeddings of every sample, image then text, and
// the feature groups' report.
at::Tensor probe_features(const ClipContext& ctx, const std::vector<Sample>& samples, const TrialLogFn& log,
                          nlohmann::json& report) {
    Study encoded = ctx.study;
    encoded.encoders.clear();
    for (const auto& modality : ctx.clip.modalities)
        encoded.encoders[modality] = clip_encoder(ctx, modality == "image" ? Modality::image : Modality::text);
    const LoadedFeatures features = load_features(encoded, ctx.catalog, samples, log);
    report = features.report;
    std::vector<at::Tensor> parts;
    if (features.image.pooled.defined()) parts.push_back(normalized(features.image));
    if (features.text.pooled.defined()) parts.push_back(normalized(features.text));
    return torch::cat(parts, 1);
}

at::Tensor labels_of(const std::vector<Sample>& samples, const std::vector<std::size_t>& rows) {
    std::vector<std::int64_t> y;
    for (auto i : rows) y.push_back(samples[i].label);
    return torch::tensor(y, torch::kLong);
}

at::Tensor linear_probe(const ClipContext& ctx, TrialData& data, const fs::path& out, const TrialLogFn& log,
                        records::MetricsWriter& metrics) {
    const ClipConfig& clip = ctx.clip;
    const auto& samples = data.dataset.samples;
    const auto num_classes = static_cast<std::int64_t>(ctx.study.dataset.labels.size());
    // Said before anything is encoded: the grid is chosen on the validation rows.
    if (clip.l2.size() > 1 && data.split.valid.empty())
        throw ConfigError(clip.where, "[clip] l2 lists " + std::to_string(clip.l2.size()) +
                                          " strengths, chosen on the validation split, which is empty: set "
                                          "split.valid above 0, or give one l2 value");
    const std::vector<std::size_t> rows = sample_training_rows(ctx.study, ctx.catalog, data);
    // A few-shot point: the probe's l2 is chosen on k per class from the rest of the train split.
    if (ctx.study.few_shot) metrics.details["few_shot"] = draw_few_shot_validation(ctx.study, data, rows);
    const std::vector<std::int64_t> class_counts = count_training_rows(ctx.study, samples, rows, log);

    const auto encode_start = std::chrono::steady_clock::now();
    nlohmann::json report;
    const at::Tensor x = probe_features(ctx, samples, log, report);
    const double encode_seconds = seconds_since(encode_start);

    const auto fit_start = std::chrono::steady_clock::now();
    const MetricName& monitor_metric = ctx.study.train.monitor;
    const std::string monitor = monitor_metric.str();
    const L2Sweep sweep = choose_l2(x.index_select(0, index_tensor(rows)), labels_of(samples, rows),
                                    x.index_select(0, index_tensor(data.split.valid)),
                                    labels_of(samples, data.split.valid), num_classes, clip.l2, monitor_metric);
    const double fit_seconds = seconds_since(fit_start);
    nlohmann::json points = nlohmann::json::array();
    for (const auto& p : sweep.points) {
        log("l2 " + format_value(Value{p.l2}) + ": train loss " + fixed(p.train_loss) + ", valid " + monitor + " " +
            fixed(p.valid_score) + " (" + std::to_string(p.evaluations) + " L-BFGS evaluations" +
            (p.converged ? "" : ", not converged") + ")");
        points.push_back({{"l2", p.l2}, {"train_loss", p.train_loss}, {"valid_" + monitor, p.valid_score},
                          {"evaluations", p.evaluations}, {"converged", p.converged}});
    }
    const LogisticRegression& probe = sweep.best;
    log("linear probe on " + std::to_string(x.size(1)) + " features: chose l2 = " + format_value(Value{probe.l2}) +
        " by validation " + monitor + "; fitted in " + fixed(fit_seconds, 2) + " s");

    const at::Tensor probs = probe.probabilities(x);
    const Metrics train = metrics_of_rows(samples, rows, probs, num_classes);
    torch::save(probe.layer, (out / "model.pt").string());
    metrics.details["clip"].update({{"modalities", clip.modalities},
                            {"features", x.size(1)},
                            {"l2_grid", clip.l2},
                            {"l2", probe.l2},
                            {"select", monitor},
                            {"sweep", points},
                            {"train_loss", probe.train_loss},
                            {"train_accuracy", train.accuracy},
                            {"converged", probe.converged}});
    metrics.details.update({{"monitor", monitor},
                            {"train_rows", rows.size()},
                            {"class_counts", class_counts},
                            {"parameters", {{"head", probe.layer->weight.numel() + probe.layer->bias.numel()},
                                            {"encoder_top", 0}}}});
    metrics.features = report;
    metrics.encode_seconds = encode_seconds;
    metrics.train_seconds = fit_seconds;
    return probs;
}

at::Tensor zero_shot(const ClipContext& ctx, const TrialData& data, const TrialLogFn& log,
                     records::MetricsWriter& metrics) {
    const ClipConfig& clip = ctx.clip;
    const auto& labels = ctx.study.dataset.labels;
    const auto scale = ctx.checkpoint.weights.find("logit_scale");
    if (scale == ctx.checkpoint.weights.end())
        throw ConfigError(clip.where, "[clip] method = \"zero-shot\" needs a CLIPModel checkpoint (both towers and "
                                      "logit_scale); " + clip.checkpoint.string() +
                                      " has no logit_scale (a single tower?); use method = \"linear-probe\"");
    const double logit_scale = scale->second.item<double>();

    const auto encode_start = std::chrono::steady_clock::now();
    Study encoded = ctx.study;
    encoded.encoders = {{"image", clip_encoder(ctx, Modality::image)}};
    const LoadedFeatures images = load_features(encoded, ctx.catalog, data.dataset.samples, log);

    // The prompts go through the same text encoder as the probe's texts (tokenizer, tower,
    // projection), but not into the store: they are not samples.
    const PluginChoice text = clip_encoder(ctx, Modality::text);
    const PluginEntry& entry = ctx.catalog.get(PluginKind::encoder, text.plugin, text.where);
    const auto encoder = ctx.catalog.create_encoder(text.plugin, text.params);
    const std::vector<std::string> prompts = zero_shot_prompts(labels, clip.templates);
    std::vector<Sample> prompt_samples;
    for (std::size_t i = 0; i < prompts.size(); ++i) prompt_samples.push_back({"prompt-" + std::to_string(i), prompts[i]});
    EncoderBatch batch;
    for (const auto& s : prompt_samples) batch.samples.push_back(&s);
    const Features prompt_features = call_plugin(entry, "encode()", [&] { return encoder->encode(batch); });
    const double encode_seconds = seconds_since(encode_start);
    const at::Tensor classes =
        zero_shot_class_embeddings(prompt_features.pooled, static_cast<std::int64_t>(labels.size()));
    log("zero-shot: " + std::to_string(prompts.size()) + " prompts (templates per label: " +
        std::to_string(clip.templates.size()) + "; e.g. \"" + prompts.front() + "\"), logit scale " +
        fixed(std::exp(logit_scale), 2));

    metrics.details["clip"].update({{"templates", clip.templates},
                            {"prompts", prompts},
                            {"logit_scale", std::exp(logit_scale)}});
    metrics.features = images.report;
    metrics.details["parameters"] = {{"head", 0}, {"encoder_top", 0}};
    metrics.encode_seconds = encode_seconds;
    metrics.train_seconds = 0.0;
    return zero_shot_probabilities(images.image.pooled, classes, logit_scale);
}

} // namespace

bool clip_checkpoint_present(const ClipConfig& clip, std::string& reason) {
    const std::string where_from =
        "CLIP checkpoints cannot be fetched by scripts/fetch-models: put a Hugging Face CLIP model folder there "
        "(config.json, model.safetensors or pytorch_model.bin, and the tokenizer: vocab.json + merges.txt or "
        "tokenizer.json), e.g. a snapshot of openai/clip-vit-base-patch32";
    std::error_code ec;
    const fs::path& folder = clip.checkpoint;
    if (!fs::exists(folder, ec)) reason = "CLIP checkpoint folder " + folder.string() + " does not exist; ";
    else if (!fs::is_directory(folder, ec)) reason = "CLIP checkpoint " + folder.string() + " is a file, not a folder; ";
    else if (!fs::is_regular_file(folder / "config.json", ec))
        reason = "CLIP checkpoint folder " + folder.string() + " has no config.json; ";
    else return true;
    reason += where_from;
    return false;
}

void run_clip_trial(const Study& study, const PluginCatalog& catalog, const fs::path& out, TrialLog& log,
                    records::MetricsWriter& metrics) {
    const ClipConfig& clip = *study.clip;
    std::string reason;
    if (!clip_checkpoint_present(clip, reason)) throw ConfigError(clip.where, reason);
    set_intra_op_threads(resolve_threads(study.train.threads));
    ClipContext ctx{study, clip, catalog, {}};
    try {
        ctx.checkpoint = models::load_checkpoint(clip.checkpoint);
    } catch (const models::CheckpointError& e) {
        throw ConfigError(clip.where, std::string("[clip] checkpoint: ") + e.what());
    }
    // A few-shot phase's k = 0 is CLIP's own zero-shot, whatever the configuration's method.
    const std::string method = study.few_shot && study.few_shot->k == 0 ? "zero-shot" : clip.method;
    log("clip " + method + ": " + clip.checkpoint.string());
    // A clip phase starts from an incumbent whose manifest may carry these; CLIP replaces
    // the model they belong to, so they are said to be unused rather than refused.
    if (study.augmenter || study.augmentation)
        log("clip: [augmenter] and [augmentation] are not applied: the probe trains on the sampler's rows alone");
    if (study.evaluate) log("clip: [evaluate] is not applied: a [clip] trial evaluates its own CLIP model");
    TrialData data = read_trial_data(study, std::ref(log));
    metrics.details["clip"] = {{"method", method}, {"checkpoint", clip.checkpoint.string()},
                               {"digest", ctx.checkpoint.digest}};
    const at::Tensor probs = method == "zero-shot" ? zero_shot(ctx, data, std::ref(log), metrics)
                                                   : linear_probe(ctx, data, out, std::ref(log), metrics);
    write_predictions_and_metrics(out, data.dataset.samples, split_names(data.dataset.samples, data.split),
                                  data.split, probs, study.dataset.labels, metrics);
    metrics.details["device"] = "cpu";
    metrics.details["threads"] = {{"train", intra_op_threads()}};
}

std::vector<std::string> zero_shot_prompts(const std::vector<std::string>& labels,
                                           const std::vector<std::string>& templates) {
    std::vector<std::string> out;
    for (const auto& label : labels)
        for (std::string prompt : templates) {
            for (auto at = prompt.find("{}"); at != std::string::npos; at = prompt.find("{}", at + label.size()))
                prompt.replace(at, 2, label);
            out.push_back(std::move(prompt));
        }
    return out;
}

at::Tensor zero_shot_class_embeddings(const at::Tensor& prompt_embeds, std::int64_t num_classes) {
    if (prompt_embeds.dim() != 2 || num_classes <= 0 || prompt_embeds.size(0) % num_classes != 0)
        throw Error("zero-shot: " + std::to_string(prompt_embeds.dim() == 2 ? prompt_embeds.size(0) : 0) +
                    " prompt embeddings do not divide into " + std::to_string(num_classes) + " classes");
    // The prompts come class by class, the same number each: prompt p is class p / per_class's.
    const std::int64_t per_class = prompt_embeds.size(0) / num_classes;
    std::vector<std::int64_t> owner;
    for (std::int64_t p = 0; p < prompt_embeds.size(0); ++p) owner.push_back(p / per_class);
    return description_class_embeddings(prompt_embeds, owner, num_classes);
}

at::Tensor zero_shot_probabilities(const at::Tensor& image_embeds, const at::Tensor& class_embeds,
                                   double logit_scale) {
    const at::Tensor images = models::clip_normalize(image_embeds.to(torch::kFloat));
    return torch::softmax(models::clip_logits_per_image(images, class_embeds, logit_scale), 1);
}

} // namespace msa::train

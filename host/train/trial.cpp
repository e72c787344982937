// One trial from manifest to run folder (see trial.hpp): split, sample, encode what is
// missing, train, evaluate, predict, write.
#include "train/trial.hpp"

#include "manifest/resolved_manifest.hpp"
#include "plugin/plugin_catalog.hpp"
#include "records/trial_files.hpp"
#include "train/augmentation.hpp"
#include "train/class_bias.hpp"
#include "train/evaluate_trial.hpp"
#include "train/reused_model.hpp"
#include "train/clip_trial.hpp"
#include "train/contrastive.hpp"
#include "train/distillation.hpp"
#include "train/zero_shot_trial.hpp"
#include "train/run_folder.hpp"
#include "train/metrics.hpp"
#include "train/trainer.hpp"
#include "train/trial_features.hpp"
#include "train/trial_rows.hpp"
#include "util/thread_budget.hpp"

#include <msa/models/cpu_features.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>
#include <fstream>
#include <optional>

namespace msa::train {

namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The fusion and head on the trainable encoder tops, or the prompt model when there is one.
Classifier build_classifier(const Study& study, const PluginCatalog& catalog, const LoadedFeatures& features,
                            const LoadedPrompt& prompt) {
    const auto num_classes = static_cast<std::int64_t>(study.dataset.labels.size());
    if (prompt.model) return Classifier(prompt.model, *prompt.entry, num_classes);
    const FusionContext fusion_context{features.text_dim, features.image_dim, num_classes};
    const PluginEntry& fusion_entry = catalog.get(PluginKind::fusion, study.fusion.plugin, study.fusion.where);
    const auto fusion = catalog.create_fusion(study.fusion.plugin, study.fusion.params, fusion_context);
    // Token-level fusions declare that they read the sequences; say so before any training starts.
    if (fusion_entry.info.needs.tokens)
        for (const auto& [modality, choice] : study.encoders) {
            const Features& f = modality == "text" ? features.text : features.image;
            if (!f.tokens.defined())
                throw ConfigError(choice.where, describe(fusion_entry) + " works on token sequences: set tokens = "
                                                "true in [encoders." + modality + "]");
        }
    return Classifier(fusion, fusion_entry, num_classes, features.text_top, features.image_top,
                      standardization(study.train, fusion_context, features.text_top, features.image_top),
                      top_precision(study.train));
}

// The classifier and the objective (main and auxiliary losses) of a trial, built from its plugins.
std::pair<Classifier, Objective> build_model(const Study& study, const PluginCatalog& catalog,
                                             const LoadedFeatures& features, const LoadedPrompt& prompt,
                                             const std::vector<std::int64_t>& class_counts) {
    const auto num_classes = static_cast<std::int64_t>(study.dataset.labels.size());
    Classifier model = build_classifier(study, catalog, features, prompt);
    if (study.train.class_bias) model->add_class_bias();
    const LossContext loss_context{num_classes, class_counts, features.text_dim, features.image_dim};
    Objective objective;
    objective.main = {catalog.create_loss(study.loss.plugin, study.loss.params, loss_context),
                      &catalog.get(PluginKind::loss, study.loss.plugin, study.loss.where), 1.0, study.loss.params};
    for (const auto& aux : study.auxiliary_losses)
        objective.auxiliary.push_back({catalog.create_loss(aux.choice.plugin, aux.choice.params, loss_context),
                                       &catalog.get(PluginKind::loss, aux.choice.plugin, aux.choice.where), aux.weight,
                                       aux.choice.params});
    return {model, objective};
}

// [train] class_bias: offsets chosen on the validation rows (their `probabilities` from
// the model as trained) go into the model; returns every row's probabilities moved by
// them, except the validation rows': they take cross-fitted ones, each half of them moved
// by offsets chosen on the other half, so that their metrics stay an honest validation score.
at::Tensor move_thresholds(Classifier& model, const at::Tensor& probabilities, const std::vector<std::size_t>& valid_rows,
                           const std::vector<Sample>& samples, const Study& study, records::MetricsWriter& metrics,
                           TrialLog& log) {
    const MetricName& metric = *study.train.class_bias;
    if (valid_rows.empty())
        throw Error("[train] class_bias = \"" + metric.str() + "\" chooses its offsets on the validation rows, but "
                    "this trial has none (check [split] valid)");
    std::vector<std::int64_t> index, labels;
    for (auto row : valid_rows) {
        index.push_back(static_cast<std::int64_t>(row));
        labels.push_back(samples[row].label);
    }
    const at::Tensor rows = torch::tensor(index, torch::kLong);
    const at::Tensor log_probs = probabilities.index_select(0, rows).clamp_min(1e-12).log();
    const ClassBias bias = fit_class_bias(log_probs, labels, metric);
    const at::Tensor cross_fitted = cross_fitted_probabilities(log_probs, labels, metric, study.seed);
    model->set_class_bias(bias.offsets);
    // softmax(log softmax(logits) + offsets) = softmax(logits + offsets), what the model now
    // computes: no second pass over every row.
    at::Tensor out = with_offsets(probabilities.clamp_min(1e-12).log(), bias.offsets);
    out.index_copy_(0, rows, cross_fitted);
    const double honest = compute_metrics(labels, cross_fitted, probabilities.size(1)).get(metric);
    nlohmann::json offsets = nlohmann::json::object();
    std::string listed;
    for (std::size_t c = 0; c < study.dataset.labels.size(); ++c) {
        const double value = bias.offsets[static_cast<std::int64_t>(c)].item<double>();
        offsets[study.dataset.labels[c]] = value;
        listed += (c ? ", " : "") + study.dataset.labels[c] + " " + fmt::format("{:+.2f}", value);
    }
    metrics.details["class_bias"] = {{"metric", metric.str()},
                                     {"offsets", offsets},
                                     {"valid_before", bias.before},
                                     {"valid_fitted", bias.after},
                                     {"valid_cross_fitted", honest}};
    log("class_bias: log-probability offsets " + listed + " chosen on " + std::to_string(valid_rows.size()) +
        " validation rows; valid " + metric.str() + " " + fmt::format("{:.4f}", bias.before) + " without, " +
        fmt::format("{:.4f}", bias.after) + " with them on the rows they were chosen on, " +
        fmt::format("{:.4f}", honest) + " cross-fitted (the validation metrics report this one)");
    return out;
}

// fit() with each epoch written to history.csv and the log as it ends.
FitResult fit_logged(Classifier& model, const Objective& objective, const FeatureSet& train, const FeatureSet& valid,
                     const Study& study, const torch::Device& device, const fs::path& out, TrialLog& log) {
    const auto& labels = study.dataset.labels;
    records::HistoryWriter history(out, labels);
    const bool probe = resolve_solver(study.train, model, objective, train) == Solver::lbfgs;
    const auto heading = [&](std::int64_t epoch) {
        return probe ? std::string("linear probe (L-BFGS)")
                     : "epoch " + std::to_string(epoch) + "/" + std::to_string(study.train.epochs);
    };
    if (!model->encoder_parameters().empty() && model->top_precision() == at::kBFloat16)
        log("encoder tops train in bfloat16 mixed precision ([train] precision = \"" + study.train.precision +
            "\"; weights and optimizer state in float32)");
    const FitResult fitted = fit(model, objective, train, valid, study.train, study.seed, device,
                                 [&](const EpochRecord& r) {
                                     std::vector<double> class_f1;
                                     std::string per_class;
                                     for (std::size_t c = 0; c < r.valid.per_class.size() && c < labels.size(); ++c) {
                                         class_f1.push_back(r.valid.per_class[c].f1);
                                         per_class += (c ? " " : "") + labels[c] + " " + fixed(class_f1.back());
                                     }
                                     history.add({r.epoch, r.train_loss, r.valid_loss, r.valid.accuracy,
                                                  r.valid.macro_f1, r.valid.weighted_f1, r.learning_rate, r.seconds,
                                                  class_f1});
                                     log(heading(r.epoch) + ": train loss " + fixed(r.train_loss) + ", valid loss " +
                                         fixed(r.valid_loss) + ", valid weighted F1 " + fixed(r.valid.weighted_f1) +
                                         ", macro F1 " + fixed(r.valid.macro_f1) +
                                         (per_class.empty() ? "" : ", F1 per class " + per_class) + " (" +
                                         fixed(r.seconds, 2) + " s)");
                                 });
    if (probe) {
        for (const L2Point& p : fitted.l2_points)
            log("  l2 " + fmt::format("{:g}", p.l2) + ": train loss " + fixed(p.train_loss) + ", valid " +
                study.train.monitor.str() + " " + fixed(p.valid_score) + (p.converged ? "" : " (not converged)") +
                (p.l2 == fitted.l2 ? "  <- kept" : ""));
        log("fitted in " + fixed(fitted.seconds, 1) + " s");
    } else {
        log("best epoch " + std::to_string(fitted.best_epoch) + " of " + std::to_string(fitted.history.size()) +
            (fitted.stopped_early ? " (stopped early)" : "") + "; trained in " + fixed(fitted.seconds, 1) + " s");
    }
    return fitted;
}

void run(const Study& study, const PluginCatalog& catalog, const records::StoreKeys& store_keys, const fs::path& out,
         TrialLog& log, records::MetricsWriter& metrics) {
    if (study.encoders.empty() && !study.prompt)
        throw ConfigError(study.file.string(),
                          "no [encoders.text], [encoders.image] or [prompt]: a trial needs features");
    // A few-shot phase's k = 0: a prompt model scores its label words untrained (its own
    // zero-shot); any other model needs [zero_shot] label descriptions (run_zero_shot_trial).
    const bool untrained = !prompt_trains(study);
    if (untrained && !study.prompt)
        throw ConfigError(study.few_shot->where, "[few_shot] k = 0 trains nothing: it needs [zero_shot] label "
                                                 "descriptions (sentence encoders) or a [prompt] model");
    if (study.prompt && study.contrastive)
        throw ConfigError(study.contrastive->where, "[contrastive] tunes the top of [encoders.text]; a [prompt] "
                                                    "trial reads the texts through its prompt model instead: "
                                                    "remove one of the two");
    if (study.distill && (study.contrastive || study.few_shot))
        throw ConfigError(study.distill->where, std::string("[distill] trains on the teacher's labels of the pool; it "
                                                            "does not combine with ") +
                                                    (study.contrastive ? "[contrastive]" : "[few_shot]"));
    if (study.augmenter && !study.augmentation)
        throw ConfigError(study.augmenter->where,
                          "[augmenter] " + study.augmenter->plugin + " needs [augmentation] hard_samples = \"<an "
                          "earlier trial's predictions.csv>\" (which training rows to augment); a study's "
                          "augmentation phase writes it");
    set_intra_op_threads(resolve_threads(study.train.threads));
    const torch::Device device = choose_device(study.train.device);
    const auto& labels = study.dataset.labels;

    TrialData data = read_trial_data(study, std::ref(log));
    const auto& dataset = data.dataset;
    const auto& split = data.split;
    std::vector<std::size_t> train_rows;
    if (!untrained) train_rows = sample_training_rows(study, catalog, data);
    if (study.few_shot && !untrained) {
        metrics.details["few_shot"] = draw_few_shot_validation(study, data, train_rows);
        log("few-shot k = " + std::to_string(study.few_shot->k) + ": " + std::to_string(split.valid.size()) +
            " validation rows drawn from the train split apart from the " + std::to_string(train_rows.size()) +
            " training rows (the validation split is not used)");
    }
    // Augmented copies of hard training rows join the training rows (their group is
    // their source's, which the split put in train).
    std::vector<Sample> samples = dataset.samples;
    std::vector<std::string> split_of = split_names(samples, split);
    if (study.augmentation) {
        std::vector<Sample> training;
        for (auto i : train_rows) training.push_back(samples[i]);
        for (auto& copy : augment_hard_samples(study, catalog, training, std::ref(log))) {
            train_rows.push_back(samples.size());
            samples.push_back(std::move(copy));
            split_of.push_back("augmented");
        }
    }
    const std::size_t augmented = samples.size() - dataset.samples.size();
    const std::vector<std::int64_t> class_counts = count_training_rows(study, samples, train_rows, std::ref(log));
    std::vector<std::size_t> pool; // [distill]: the posts the teacher labels
    if (study.distill) pool = gather_pool(study, data, samples, split_of, metrics.details["distill"], std::ref(log));

    const auto encode_start = std::chrono::steady_clock::now();
    // Plugins are built after seeding, so initial weights follow the seed.
    torch::manual_seed(study.seed);
    LoadedFeatures features = load_features(study, catalog, samples, std::ref(log), {}, store_keys);
    LoadedPrompt prompt;
    if (study.prompt) {
        prompt = build_prompt(study, catalog, features.image_dim);
        read_prompt_text(study, prompt, samples, features, std::ref(log));
    }
    const double encode_seconds = seconds_since(encode_start);
    std::vector<std::int64_t> all_labels;
    for (const auto& s : samples) all_labels.push_back(s.label);
    const FeatureSet everything{features.text, features.image, torch::tensor(all_labels, torch::kLong)};

    torch::manual_seed(study.seed);
    auto built = build_model(study, catalog, features, prompt, class_counts);
    Classifier& model = built.first;
    const Objective& objective = built.second;

    FeatureSet train = everything.rows(index_tensor(train_rows));
    const FeatureSet valid = everything.rows(index_tensor(split.valid));
    // Distillation: the student trains on the pool rows the teacher is confident of.
    std::optional<Distiller> distiller;
    if (study.distill) {
        distiller.emplace(study, samples, everything, pool, train_rows, std::ref(log));
        train = distiller->from_teacher(catalog, split.valid, device);
    }
    // A reused model is the trained one already (contrastive stage and distillation rounds included).
    const bool reuse = !study.train.reuse_model.empty() && !untrained;
    if (study.contrastive && !reuse) {
        const ContrastiveResult tuned =
            contrastive_tune(model, train, *study.contrastive, study.train.weight_decay, study.seed, device, std::ref(log));
        metrics.details["contrastive"] = {{"pairs", tuned.pairs},         {"same_label", tuned.same_label},
                                          {"steps", tuned.steps},         {"epoch_loss", tuned.epoch_loss},
                                          {"seconds", tuned.seconds},     {"frozen_after", study.contrastive->freeze}};
    }
    FitResult fitted;
    if (untrained)
        log("k = 0: " + study.prompt->plugin + " is evaluated untrained (its template and label words)");
    else if (reuse) {
        fitted = take_reused_model(model, study, catalog, out, log);
        model->to(device);
    } else {
        fitted = fit_logged(model, objective, train, valid, study, device, out, log);
    }
    // Self-training: each round's student labels the pool for the next, trained afresh.
    for (std::int64_t round = 2; distiller && !reuse && round <= study.distill->rounds; ++round) {
        train = distiller->from_student(model, device);
        torch::manual_seed(study.seed);
        built = build_model(study, catalog, features, prompt, class_counts);
        fitted = fit_logged(model, objective, train, valid, study, device, out, log);
    }
    if (distiller) metrics.details["distill"].update(distiller->report());

    // Predictions for every sample, then metrics per labelled split.
    at::Tensor probabilities = predict_probabilities(model, everything, device);
    if (study.train.class_bias && !untrained)
        probabilities = move_thresholds(model, probabilities, split.valid, samples, study, metrics, log);
    write_predictions_and_metrics(out, samples, split_of, split, probabilities, labels, metrics);
    metrics.best_epoch = fitted.best_epoch;
    metrics.features = features.report;
    metrics.encode_seconds = encode_seconds;
    metrics.train_seconds = fitted.seconds;
    std::int64_t encoder_parameters = 0, all_parameters = 0;
    for (const auto& t : model->encoder_parameters()) encoder_parameters += t.numel();
    for (const auto& t : model->parameters()) all_parameters += t.numel();
    if (fitted.solver == Solver::lbfgs && !fitted.l2_points.empty()) {
        nlohmann::json sweep = nlohmann::json::array();
        for (const L2Point& p : fitted.l2_points)
            sweep.push_back({{"l2", p.l2}, {"train_loss", p.train_loss}, {"valid", p.valid_score},
                             {"evaluations", p.evaluations}, {"converged", p.converged}});
        metrics.details["linear_probe"] = {{"l2", fitted.l2}, {"sweep", sweep}};
    }
    if (features.text_top.top || features.image_top.top)
        metrics.details["encoder_top_precision"] = model->top_precision() == at::kBFloat16 ? "bfloat16" : "float32";
    metrics.details.update({{"solver", to_string(fitted.solver)},
                            {"standardized", model->standardized_modalities()},
                            {"epochs_run", fitted.history.size()},
                            {"stopped_early", fitted.stopped_early},
                            {"monitor", study.train.monitor.str()},
                            {"train_rows", train.size()},
                            {"augmented", augmented},
                            {"parameters", {{"head", all_parameters - encoder_parameters},
                                            {"encoder_top", encoder_parameters}}},
                            {"class_counts", class_counts},
                            {"device", device.str()},
                            {"threads", {{"train", intra_op_threads()}, {"encode", features.threads}}}});
    torch::save(model, (out / "model.pt").string());
}

} // namespace

fs::path default_run_folder(const Study& study) { return study.output / study.name; }

void run_trial(const Study& study, const PluginCatalog& catalog, const fs::path& out,
               const records::StoreKeys& store_keys) {
    fs::create_directories(out);
    for (const char* stale : {"metrics.json", "error.txt", "predictions.csv", "history.csv", "model.pt"})
        fs::remove(out / stale);
    write_file_atomically(out / "config.toml", resolved_manifest(study));
    TrialLog log(out / "log.txt");
    const auto start = std::chrono::steady_clock::now();
    records::MetricsWriter metrics;
    metrics.trial = study.name;
    metrics.seed = study.seed;
    // The CPU decides what dtype = "auto" computes in and how fast; say which one ran it.
    const models::CpuFeatures& cpu = models::cpu_features();
    metrics.details["cpu"] = {{"model", cpu.model}, {"flags", cpu.flags()}, {"native_bf16", cpu.native_bf16()}};
    try {
        // An [evaluate] trial (ablation) evaluates a trained model; a [clip] trial runs CLIP;
        // a [zero_shot] one compares text with label descriptions (a prompt model has its own).
        if (study.evaluate)
            run_evaluation(study, catalog, out, log, metrics);
        else if (study.clip)
            run_clip_trial(study, catalog, out, log, metrics);
        else if (study.zero_shot && !study.prompt)
            run_zero_shot_trial(study, catalog, out, log, metrics);
        else
            run(study, catalog, store_keys, out, log, metrics);
        if (metrics.test) log(records::test_summary(*metrics.test));
        write_file_atomically(out / "metrics.json", metrics.ok_json(seconds_since(start)));
    } catch (const std::exception& e) {
        log(std::string("error: ") + e.what());
        write_file_atomically(out / "error.txt", std::string(e.what()) + "\n");
        write_file_atomically(out / "metrics.json", metrics.failed_json(e.what()));
        throw;
    }
}

} // namespace msa::train

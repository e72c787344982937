// Distillation's pool, teacher and targets (see distillation.hpp).
#include "train/distillation.hpp"

#include "data/dataset_reader.hpp"
#include "manifest/manifest_reader.hpp"
#include "train/saved_model.hpp"
#include "util/suggest.hpp"

#include <torch/torch.h>

#include <unordered_set>

namespace msa::train {

std::vector<Sample> read_pool(const Study& study, std::size_t index) {
    const DistillConfig& distill = *study.distill;
    DatasetConfig config = distill.pools.at(index);
    config.labels = study.dataset.labels; // tags are read (and must be labels or null), then ignored
    const data::Dataset extra = data::read_dataset(config);
    if (extra.samples.empty())
        throw ConfigError(distill.where, "[[distill.pool]] " + config.root.string() + " has no readable posts (" +
                                             std::to_string(extra.skipped.size()) + " skipped)");
    // Every dataset format gives each post a text and an image, so a pool has what any
    // student reads; a post without one is the reader's error, with its file and line.
    std::vector<Sample> out;
    const std::string prefix = "pool" + std::to_string(index + 1) + "/";
    for (Sample s : extra.samples) {
        s.id = prefix + s.id;
        s.group = s.id;
        s.label = -1;
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<std::size_t> gather_pool(const Study& study, const TrialData& data, std::vector<Sample>& samples,
                                     std::vector<std::string>& split_of, nlohmann::json& report, const TrialLogFn& log) {
    const DistillConfig& distill = *study.distill;
    std::vector<std::size_t> pool;
    if (distill.unlabelled)
        for (std::size_t i = 0; i < data.dataset.samples.size(); ++i)
            if (data.dataset.samples[i].label < 0) pool.push_back(i);
    report["unlabelled"] = pool.size();

    // The ids an honest evaluation keeps away from every pool.
    std::unordered_set<std::string> held_out;
    for (const auto* rows : {&data.split.valid, &data.split.test})
        for (auto i : *rows) held_out.insert(data.dataset.samples[i].id);
    nlohmann::json pools = nlohmann::json::array();
    for (std::size_t p = 0; p < distill.pools.size(); ++p) {
        const std::vector<Sample> extra = read_pool(study, p);
        const std::string prefix = "pool" + std::to_string(p + 1) + "/";
        std::size_t removed = 0;
        for (const Sample& s : extra) {
            if (held_out.count(s.id.substr(prefix.size()))) {
                ++removed;
                continue;
            }
            pool.push_back(samples.size());
            samples.push_back(s);
            split_of.push_back("pool");
        }
        const std::string root = distill.pools[p].root.string();
        pools.push_back({{"root", root}, {"read", extra.size()}, {"held_out_removed", removed}});
        log("distill pool " + std::to_string(p + 1) + ": " + std::to_string(extra.size()) + " posts from " + root +
            (removed ? ", " + std::to_string(removed) + " left out: their ids are validation or test ids of the dataset"
                     : std::string()));
    }
    report["pools"] = pools;
    report["pool"] = pool.size();
    if (pool.empty())
        throw ConfigError(distill.where, "[distill]: the pool is empty (the dataset has no unlabelled rows" +
                                             std::string(distill.pools.empty() ? " and there is no [[distill.pool]]"
                                                                               : " and the pools gave none") +
                                             "); the teacher needs posts to label");
    return pool;
}

namespace {

// The teacher's labels: those of its trial's config.toml.
std::vector<std::string> teacher_labels(const DistillConfig& distill, const PluginCatalog& catalog) {
    try {
        check_trial_folder(distill.teacher);
        return ManifestDocument::load(distill.teacher / "config.toml").to_study(catalog).dataset.labels;
    } catch (const Error& e) {
        throw ConfigError(distill.where, std::string("[distill] teacher: ") + e.what());
    }
}

void check_labels(const DistillConfig& distill, const std::vector<std::string>& teacher,
                  const std::vector<std::string>& study) {
    if (teacher != study)
        throw ConfigError(distill.where, "[distill] teacher " + distill.teacher.string() + " was trained on the labels " +
                                             join(teacher) + ", this study has " + join(study) +
                                             "; the teacher's labels must be the study's, in the same order");
}

} // namespace

void check_distill(const Study& study, const PluginCatalog& catalog) {
    if (!study.distill) return;
    const DistillConfig& distill = *study.distill;
    std::error_code ec;
    if (std::filesystem::exists(distill.teacher, ec))
        check_labels(distill, teacher_labels(distill, catalog), study.dataset.labels);
    for (std::size_t p = 0; p < distill.pools.size(); ++p) read_pool(study, p);
}

at::Tensor teacher_probabilities(const Study& study, const PluginCatalog& catalog, const std::vector<Sample>& samples,
                                 const std::vector<std::size_t>& rows, const torch::Device& device,
                                 const TrialLogFn& log) {
    const DistillConfig& distill = *study.distill;
    check_labels(distill, teacher_labels(distill, catalog), study.dataset.labels);
    std::unique_ptr<SavedModel> teacher;
    try {
        teacher = std::make_unique<SavedModel>(distill.teacher, catalog);
    } catch (const Error& e) {
        throw ConfigError(distill.where, std::string("[distill] teacher: ") + e.what());
    }
    std::vector<Sample> subset;
    subset.reserve(rows.size());
    for (auto i : rows) subset.push_back(samples[i]);
    const LoadedFeatures f = teacher->features(subset, log, &study);
    log("distill teacher " + distill.teacher.string() + " labels " + std::to_string(rows.size()) + " posts");
    return teacher->probabilities(
        FeatureSet{f.text, f.image, torch::full({static_cast<std::int64_t>(subset.size())}, -1, torch::kLong)}, device);
}

DistillRound distill_round(const DistillConfig& config, const std::vector<std::string>& labels,
                           const std::vector<Sample>& samples, const std::vector<std::size_t>& pool,
                           const at::Tensor& probs, const std::vector<std::size_t>& train_rows) {
    const auto classes = static_cast<std::int64_t>(labels.size());
    const auto [top, label] = probs.max(1);
    std::vector<double> threshold;
    for (const auto& l : labels) threshold.push_back(config.threshold_of(l));
    const at::Tensor kept = top.ge(torch::tensor(threshold, torch::kDouble).to(top.dtype()).index_select(0, label));

    DistillRound round;
    round.kept_per_class.assign(labels.size(), 0);
    std::vector<at::Tensor> targets;
    std::vector<double> temperature, weight;
    const auto p = probs.to(torch::kDouble);
    for (std::int64_t r = 0; r < probs.size(0); ++r) {
        if (!kept[r].item<bool>()) continue;
        const std::int64_t c = label[r].item<std::int64_t>();
        ++round.kept_per_class[static_cast<std::size_t>(c)];
        round.rows.push_back(pool[static_cast<std::size_t>(r)]);
        if (config.targets == "soft") {
            // softmax(logits / T) from probabilities: p^(1/T), normalised.
            const at::Tensor sharpened = p[r].clamp_min(1e-12).pow(1.0 / config.temperature);
            targets.push_back(sharpened / sharpened.sum());
            temperature.push_back(config.temperature);
        } else {
            targets.push_back(torch::one_hot(label[r], classes).to(torch::kDouble));
            temperature.push_back(1.0);
        }
        weight.push_back(1.0);
    }
    if (config.gold_weight > 0)
        for (auto i : train_rows) {
            round.rows.push_back(i);
            targets.push_back(torch::one_hot(torch::tensor(std::int64_t{samples[i].label}), classes).to(torch::kDouble));
            temperature.push_back(1.0);
            weight.push_back(config.gold_weight);
        }
    if (!round.rows.empty())
        round.targets = {torch::stack(targets).to(torch::kFloat), torch::tensor(temperature).to(torch::kFloat),
                         torch::tensor(weight).to(torch::kFloat)};
    return round;
}

Distiller::Distiller(const Study& study, const std::vector<Sample>& samples, const FeatureSet& everything,
                     std::vector<std::size_t> pool, std::vector<std::size_t> train_rows, TrialLogFn log)
    : study_(study), samples_(samples), everything_(everything), pool_(std::move(pool)),
      train_rows_(std::move(train_rows)), log_(std::move(log)) {
    report_["rounds"] = nlohmann::json::array();
}

FeatureSet Distiller::from_teacher(const PluginCatalog& catalog, const std::vector<std::size_t>& valid_rows,
                                   const torch::Device& device) {
    std::vector<std::size_t> rows = pool_;
    rows.insert(rows.end(), valid_rows.begin(), valid_rows.end());
    const at::Tensor probs = teacher_probabilities(study_, catalog, samples_, rows, device, log_);
    const auto pool_size = static_cast<std::int64_t>(pool_.size());
    std::vector<std::int64_t> gold;
    for (auto i : valid_rows) gold.push_back(samples_[i].label);
    report_["teacher"] = study_.distill->teacher.string();
    report_["teacher_valid"] = teacher_at_thresholds(*study_.distill, study_.dataset.labels,
                                                     probs.narrow(0, pool_size, probs.size(0) - pool_size), gold);
    return training_set(probs.narrow(0, 0, pool_size), "teacher");
}

FeatureSet Distiller::from_student(Classifier& student, const torch::Device& device) {
    const std::size_t round = report_["rounds"].size();
    const at::Tensor probs = predict_probabilities(student, everything_.rows(index_tensor(pool_)), device);
    return training_set(probs, "student of round " + std::to_string(round));
}

FeatureSet Distiller::training_set(const at::Tensor& probs, const std::string& labelled_by) {
    const DistillConfig& config = *study_.distill;
    const auto& labels = study_.dataset.labels;
    const DistillRound round = distill_round(config, labels, samples_, pool_, probs, train_rows_);
    std::string kept;
    std::int64_t total = 0;
    for (std::size_t c = 0; c < labels.size(); ++c) {
        kept += (c ? ", " : "") + labels[c] + " " + std::to_string(round.kept_per_class[c]);
        total += round.kept_per_class[c];
    }
    log_("distill: the " + labelled_by + " is confident of " + std::to_string(total) + " of " +
         std::to_string(pool_.size()) + " pool posts (" + kept + ")" +
         (config.gold_weight > 0 ? "; the gold training rows join at weight " + format_value(Value{config.gold_weight})
                                 : std::string()));
    if (round.rows.empty())
        throw ConfigError(config.where, "[distill]: no pool post reaches the thresholds; lower distill.threshold (or "
                                        "thresholds.<label>), or set gold_weight");
    report_["rounds"].push_back({{"round", report_["rounds"].size() + 1}, {"labelled_by", labelled_by},
                                 {"kept", round.kept_per_class}});
    FeatureSet set = everything_.rows(index_tensor(round.rows));
    set.soft = round.targets;
    return set;
}

nlohmann::json teacher_at_thresholds(const DistillConfig& config, const std::vector<std::string>& labels,
                                     const at::Tensor& probs, const std::vector<std::int64_t>& gold) {
    const auto [top, label] = probs.max(1);
    std::int64_t confident = 0, confident_right = 0, right = 0;
    for (std::int64_t r = 0; r < probs.size(0); ++r) {
        const std::int64_t c = label[r].item<std::int64_t>();
        const bool correct = c == gold[static_cast<std::size_t>(r)];
        right += correct;
        if (top[r].item<double>() >= config.threshold_of(labels[static_cast<std::size_t>(c)])) {
            ++confident;
            confident_right += correct;
        }
    }
    const auto n = static_cast<double>(std::max<std::int64_t>(1, probs.size(0)));
    return {{"rows", probs.size(0)},
            {"coverage", static_cast<double>(confident) / n},
            {"accuracy_confident", confident ? static_cast<double>(confident_right) / static_cast<double>(confident) : 0.0},
            {"accuracy", static_cast<double>(right) / n}};
}

} // namespace msa::train

#include "train/trial_rows.hpp"

#include "plugin/plugin_catalog.hpp"
#include "train/run_folder.hpp"

#include <msa/random.hpp>
#include <msa/sampler.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <random>

namespace msa::train {

TrialData read_trial_data(const Study& study, const TrialLogFn& log) {
    TrialData out{data::read_dataset(study.dataset), {}};
    out.split = data::make_split(out.dataset.samples, study.split, study.seed);
    log("dataset " + study.dataset.root.string() + ": " + std::to_string(out.dataset.samples.size()) +
        " samples; split " + std::to_string(out.split.train.size()) + " train, " +
        std::to_string(out.split.valid.size()) + " valid, " + std::to_string(out.split.test.size()) + " test");
    return out;
}

std::vector<std::size_t> sample_training_rows(const Study& study, const PluginCatalog& catalog,
                                              const TrialData& data) {
    const auto& labels = study.dataset.labels;
    std::vector<Sample> pool;
    for (auto i : data.split.train) pool.push_back(data.dataset.samples[i]);
    const PluginEntry& entry = catalog.get(PluginKind::sampler, study.sampler.plugin, study.sampler.where);
    auto sampler = catalog.create_sampler(study.sampler.plugin, study.sampler.params);
    const std::int64_t shots = study.few_shot ? study.few_shot->k : 0;
    const SamplerContext context{static_cast<std::int64_t>(labels.size()), study.seed, labels, shots};
    const auto chosen = call_plugin(entry, "select()", [&] { return sampler->select(pool, context); });
    const auto wanted = static_cast<std::size_t>(shots) * labels.size();
    if (shots > 0 && chosen.size() != wanted)
        throw ConfigError(study.few_shot->where,
                          "few-shot trial with k = " + std::to_string(shots) + ": " + describe(entry) + " chose " +
                              std::to_string(chosen.size()) + " training rows, not k x " +
                              std::to_string(labels.size()) + " classes = " + std::to_string(wanted) +
                              "; a few-shot phase needs a sampler that draws k per class from "
                              "SamplerContext::shots (k-shot, consistent)");
    std::vector<std::size_t> rows;
    for (auto i : chosen) {
        if (i >= pool.size())
            throw Error(describe(entry) + " chose index " + std::to_string(i) + " of a pool of " +
                        std::to_string(pool.size()));
        rows.push_back(data.split.train[i]);
    }
    return rows;
}

nlohmann::json draw_few_shot_validation(const Study& study, TrialData& data,
                                        const std::vector<std::size_t>& train_rows) {
    const std::int64_t k = study.few_shot->k;
    const auto& labels = study.dataset.labels;
    std::vector<bool> chosen(data.dataset.samples.size());
    for (auto i : train_rows) chosen[i] = true;
    std::vector<std::vector<std::size_t>> rest(labels.size());
    for (auto i : data.split.train)
        if (!chosen[i]) rest[static_cast<std::size_t>(data.dataset.samples[i].label)].push_back(i);
    // Its own stream: the sampler's draw from the same seed stays what it would be alone.
    std::mt19937_64 rng(study.seed * 1000003ULL + 17);
    std::vector<std::size_t> valid;
    for (std::size_t c = 0; c < rest.size(); ++c) {
        if (static_cast<std::int64_t>(rest[c].size()) < k)
            throw ConfigError(study.few_shot->where,
                              "few-shot trial with k = " + std::to_string(k) + ": class '" + labels[c] + "' has " +
                                  std::to_string(rest[c].size()) + " train-split samples left after the " +
                                  std::to_string(train_rows.size()) + " training rows, and the few-shot validation "
                                  "set needs k = " + std::to_string(k) + " of them; lower k (at most " +
                                  std::to_string((rest[c].size() + static_cast<std::size_t>(k)) / 2) + " here)");
        seeded_shuffle(rest[c], rng);
        valid.insert(valid.end(), rest[c].begin(), rest[c].begin() + k);
    }
    std::sort(valid.begin(), valid.end());
    std::vector<bool> in_valid(data.dataset.samples.size());
    for (auto i : valid) in_valid[i] = true;
    std::vector<std::size_t> train;
    for (auto i : data.split.train)
        if (!in_valid[i]) train.push_back(i);
    const std::size_t unused = data.split.valid.size();
    data.split.train = std::move(train);
    data.split.valid = std::move(valid);
    return {{"k", k},
            {"train_rows", train_rows.size()},
            {"valid_rows", data.split.valid.size()},
            {"valid_drawn_from", "train split, apart from the training rows"},
            {"validation_split_unused", unused}};
}

std::vector<std::int64_t> count_training_rows(const Study& study, const std::vector<Sample>& samples,
                                              const std::vector<std::size_t>& rows, const TrialLogFn& log) {
    const auto& labels = study.dataset.labels;
    std::vector<std::int64_t> counts(labels.size());
    for (auto i : rows) ++counts[static_cast<std::size_t>(samples[i].label)];
    std::string text;
    for (std::size_t c = 0; c < counts.size(); ++c) text += (c ? ", " : "") + labels[c] + " " + std::to_string(counts[c]);
    log("sampler " + study.sampler.plugin + ": " + std::to_string(rows.size()) + " training rows (" + text + ")");
    return counts;
}

at::Tensor index_tensor(const std::vector<std::size_t>& rows) {
    std::vector<std::int64_t> v(rows.begin(), rows.end());
    return torch::tensor(v, torch::kLong);
}

Metrics metrics_of_rows(const std::vector<Sample>& samples, const std::vector<std::size_t>& rows,
                        const at::Tensor& probs, std::int64_t num_classes) {
    std::vector<std::int64_t> y;
    for (auto i : rows) y.push_back(samples[i].label);
    return compute_metrics(y, probs.index_select(0, index_tensor(rows)), num_classes);
}


} // namespace msa::train

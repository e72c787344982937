#include "train/trial_rows.hpp"

#include "plugin/plugin_catalog.hpp"
#include "train/run_folder.hpp"

#include <msa/sampler.hpp>

#include <torch/torch.h>

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
    const SamplerContext context{static_cast<std::int64_t>(labels.size()), study.seed, labels};
    const auto chosen = call_plugin(entry, "select()", [&] { return sampler->select(pool, context); });
    std::vector<std::size_t> rows;
    for (auto i : chosen) {
        if (i >= pool.size())
            throw Error(describe(entry) + " chose index " + std::to_string(i) + " of a pool of " +
                        std::to_string(pool.size()));
        rows.push_back(data.split.train[i]);
    }
    return rows;
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

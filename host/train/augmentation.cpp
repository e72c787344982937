#include "train/augmentation.hpp"

#include "plugin/plugin_catalog.hpp"

#include <msa/augmenter.hpp>
#include <msa/sampler.hpp>

#include <cmath>
#include <cmath>
#include <unordered_set>

namespace msa::train {


std::vector<Sample> augment_hard_samples(const Study& study, const PluginCatalog& catalog,
                                         const std::vector<Sample>& training,
                                         const std::function<void(const std::string&)>& log) {
    const AugmentationConfig& config = *study.augmentation;
    const PluginChoice& augmenter_choice = *study.augmenter;

    // The hard-mining sampler already reads and checks predictions.csv (classes, ids,
    // labels against the pool), so the hard samples are its selection.
    const std::string miner_name = "hard-mining";
    const PluginEntry& miner_entry = catalog.get(PluginKind::sampler, miner_name, augmenter_choice.where);
    Properties miner_params("sampler '" + miner_name + "' (hard samples of [augmentation])");
    miner_params.set("predictions", Value{config.hard_samples.string()});
    miner_params.set("mode", Value{std::string("low-confidence")});
    miner_params.set("threshold", Value{config.hard_threshold});
    // The whole pool, then the hard samples again: no hard sample is our error to report.
    miner_params.set("include_rest", Value{true});
    if (config.hard_fraction > 0)
        miner_params.set("max", Value{static_cast<std::int64_t>(
                                    std::ceil(config.hard_fraction * static_cast<double>(training.size())))});
    if (config.hard_fraction > 0)
        miner_params.set("max", Value{static_cast<std::int64_t>(
                                    std::ceil(config.hard_fraction * static_cast<double>(training.size())))});
    fill_defaults(miner_entry.info, miner_params);
    const auto miner = catalog.create_sampler(miner_name, miner_params);
    const SamplerContext context{static_cast<std::int64_t>(study.dataset.labels.size()), study.seed,
                                 study.dataset.labels};
    const auto rows = call_plugin(miner_entry, "select()", [&] { return miner->select(training, context); });
    // A sampler that draws with replacement repeats rows; each source is augmented once.
    std::vector<Sample> sources;
    std::unordered_set<std::string> chosen;
    for (std::size_t k = training.size(); k < rows.size(); ++k)
        if (chosen.insert(training.at(rows[k]).id).second) sources.push_back(training.at(rows[k]));
    if (sources.empty())
        throw ConfigError(augmenter_choice.where,
                          "[augmentation]: no training row is hard in " + config.hard_samples.string() +
                              " (that trial gave every true class a probability of at least hard_threshold = " +
                              format_value(Value{config.hard_threshold}) +
                              "), so there is nothing to augment; raise hard_threshold (a phase's hard_threshold)");

    const PluginEntry& entry = catalog.get(PluginKind::augmenter, augmenter_choice.plugin, augmenter_choice.where);
    const auto augmenter = catalog.create_augmenter(augmenter_choice.plugin, augmenter_choice.params);
    auto added = call_plugin(entry, "augment()", [&] { return augmenter->augment(sources); });

    std::unordered_set<std::string> ids(chosen.begin(), chosen.end()), groups;
    for (const auto& s : training) ids.insert(s.id);
    for (const auto& s : sources) groups.insert(s.group.empty() ? s.id : s.group);
    const auto num_classes = static_cast<int>(study.dataset.labels.size());
    for (const auto& s : added) {
        if (s.id.empty() || !ids.insert(s.id).second)
            throw Error(describe(entry) + " returned a sample whose id '" + s.id +
                        "' is empty or already taken; an augmented copy needs an id of its own");
        if (!groups.count(s.group))
            throw Error(describe(entry) + " returned sample '" + s.id + "' with group '" + s.group +
                        "', which is not the group of any source; a copy must keep its source's group");
        if (s.label < 0 || s.label >= num_classes)
            throw Error(describe(entry) + " returned sample '" + s.id + "' without a label of the study");
    }
    log("augmentation: " + std::to_string(sources.size()) + " hard samples of " + std::to_string(training.size()) +
        " training rows (p(true class) < " + format_value(Value{config.hard_threshold}) + " in " +
        config.hard_samples.string() + "); " + augmenter_choice.plugin + " added " + std::to_string(added.size()));
    return added;
}

} // namespace msa::train

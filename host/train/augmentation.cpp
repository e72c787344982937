// The augmentation step of a trial (augmentation.hpp): hard rows, then the augmenter.
#include "train/augmentation.hpp"

#include "plugin/plugin_catalog.hpp"

#include <msa/augmenter.hpp>
#include <msa/predictions.hpp>

#include <cmath>
#include <unordered_set>

namespace msa::train {

std::vector<Sample> augment_hard_samples(const Study& study, const PluginCatalog& catalog,
                                         const std::vector<Sample>& training,
                                         const std::function<void(const std::string&)>& log) {
    const AugmentationConfig& config = *study.augmentation;
    const PluginChoice& augmenter_choice = *study.augmenter;

    // The earlier trial's predictions, read and checked against the study's classes; the
    // hard rows are a value (msa::hard_samples, the rule the hard-mining sampler uses too).
    HardSampleCriteria criteria;
    criteria.threshold = config.hard_threshold;
    if (config.hard_fraction > 0)
        criteria.max = static_cast<std::size_t>(std::ceil(config.hard_fraction * static_cast<double>(training.size())));
    HardSamples hard;
    try {
        hard = hard_samples(training, read_predictions(config.hard_samples, study.dataset.labels), criteria);
    } catch (const Error& e) {
        throw ConfigError(augmenter_choice.where, std::string("[augmentation] hard_samples: ") + e.what());
    }
    std::vector<Sample> sources;
    std::unordered_set<std::string> chosen;
    for (auto row : hard.rows)
        if (chosen.insert(training.at(row).id).second) sources.push_back(training.at(row));
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

// A study's features in the store (see study_features.hpp).
#include "study/study_features.hpp"

#include "store/encoder_key.hpp"
#include "store/feature_store.hpp"
#include "train/distillation.hpp"
#include "train/trial_features.hpp"

#include <msa/properties.hpp>

namespace msa::study {

namespace {

// A prompt model reads the texts itself: the manifest's text encoder is not its input.
bool encodes(const Study& study, const std::string& modality) { return modality != "text" || !study.prompt; }

} // namespace

bool reads_features(const Study& study) { return !study.evaluate && !study.clip; }

std::string features_key(const Study& study) {
    std::string key = study.dataset.root.string() + "|" + store_path(study).string();
    const auto add = [&](const std::string& what, const PluginChoice& choice) {
        key += "|" + what + ":" + choice.plugin;
        for (const auto& name : choice.params.names()) key += "," + name + "=" + format_value(choice.params.peek(name));
    };
    for (const auto& [modality, choice] : study.encoders)
        if (encodes(study, modality)) add(modality, choice);
    if (study.prompt) add("prompt", *study.prompt);
    if (study.distill)
        for (const auto& pool : study.distill->pools) key += "|pool:" + pool.format + ":" + pool.root.string();
    return key;
}

records::StoreKeys encode_study_features(const Study& study, const PluginCatalog& catalog,
                                         const std::vector<Sample>& samples, FeatureStore& store,
                                         const std::function<void(const EncodeResult&, const std::string&)>& report,
                                         bool count_only) {
    records::StoreKeys keys;
    for (const auto& [modality, choice] : study.encoders)
        if (encodes(study, modality))
            for (const auto& r : encode_missing(modality, choice, catalog, samples, store, nullptr, count_only)) {
                report(r, modality);
                if (r.frozen) keys[modality] = {r.key, r.precision};
            }
    // Extra distillation pools, all of their posts (a trial leaves out those its split holds).
    if (study.distill)
        for (std::size_t p = 0; p < study.distill->pools.size(); ++p) {
            const std::vector<Sample> pool = train::read_pool(study, p);
            for (const auto& [modality, choice] : study.encoders)
                if (encodes(study, modality))
                    for (const auto& r : encode_missing(modality, choice, catalog, pool, store, nullptr, count_only))
                        report(r, modality + " of pool " + std::to_string(p + 1));
        }
    // A prompt model's text features: the trials read them through the model they build.
    if (study.prompt) {
        const train::LoadedPrompt prompt = train::build_prompt(study, catalog, 0);
        for (const auto& r :
             encode_missing("text", *prompt.entry, *prompt.text_encoder, study.prompt->params, samples, store,
                            count_only))
            report(r, "prompt text");
    }
    return keys;
}

} // namespace msa::study

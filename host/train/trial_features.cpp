#include "train/trial_features.hpp"

#include "plugin/plugin_catalog.hpp"
#include "store/encode_features.hpp"
#include "store/feature_store.hpp"

#include <msa/encoder.hpp>

#include <unordered_map>

namespace msa::train {

namespace {

// The id each sample's features are stored under for `modality`: its own, except for an
// augmented copy whose input for it is its source's (the same image; the same text),
// which reads its source's features instead of having them encoded again.
std::vector<std::string> feature_ids(const std::vector<Sample>& samples, const std::string& modality) {
    std::unordered_map<std::string, const Sample*> by_id;
    for (const auto& s : samples) by_id.emplace(s.id, &s);
    std::vector<std::string> out;
    out.reserve(samples.size());
    for (const auto& s : samples) {
        const auto source = s.group.empty() || s.group == s.id ? by_id.end() : by_id.find(s.group);
        const bool same_input = source != by_id.end() && (modality == "text" ? source->second->text == s.text
                                                                             : source->second->image_path == s.image_path);
        out.push_back(same_input ? s.group : s.id);
    }
    return out;
}

} // namespace

LoadedFeatures load_features(const Study& study, const PluginCatalog& catalog, const std::vector<Sample>& samples,
                             const std::function<void(const std::string&)>& log,
                             const std::map<std::string, std::shared_ptr<Encoder>>& built) {
    FeatureStore store(store_path(study), {study.store.dtype, static_cast<int>(study.store.compression)});
    LoadedFeatures out;
    for (const auto& [modality, choice] : study.encoders) {
        const auto prebuilt = built.find(modality);
        std::shared_ptr<Encoder> encoder = prebuilt == built.end() ? nullptr : prebuilt->second;
        const std::vector<std::string> ids = feature_ids(samples, modality);
        std::vector<Sample> own_features;
        for (std::size_t i = 0; i < samples.size(); ++i)
            if (ids[i] == samples[i].id) own_features.push_back(samples[i]);
        const auto results = encode_missing(modality, choice, catalog, own_features, store, &encoder);
        out.encoders.push_back(encoder);
        const PluginEntry& entry = catalog.get(PluginKind::encoder, choice.plugin, choice.where);
        TrainableTop* top = call_plugin(entry, "trainable_top()", [&] { return encoder->trainable_top(); });
        if (top && results.size() < 2)
            throw ConfigError(choice.where, "[encoders." + modality + "] " + describe(entry) +
                                                " fine-tunes its top layers (trainable_layers), which a trial trains "
                                                "from stored prefix features: set cached_prefix = true");
        const EncodeResult& r = top ? results[1] : results.front();
        log(modality + (top ? " prefix" : "") + " features (" + choice.plugin + ", key " + r.key.substr(0, 12) +
            "): " + std::to_string(r.from_store) + " from the store, " + std::to_string(r.encoded) + " encoded");
        Features f = store.read(r.key, ids);
        const std::int64_t dim = call_plugin(entry, "dim()", [&] { return encoder->dim(); });
        out.report[modality] = {{"plugin", choice.plugin}, {"key", r.key}, {"store", store.file().string()},
                                {"from_store", r.from_store}, {"encoded", r.encoded}, {"dim", dim},
                                {"trainable_layers", top ? top->layers() : 0}, {"encode_seconds", r.seconds},
                                {"encode_threads", r.threads}};
        out.threads[modality] = r.threads;
        const TrainableEncoder trainable{top, &entry};
        if (modality == "text") {
            out.text = std::move(f);
            out.text_dim = dim;
            out.text_top = trainable;
        } else {
            out.image = std::move(f);
            out.image_dim = dim;
            out.image_top = trainable;
        }
    }
    return out;
}

} // namespace msa::train

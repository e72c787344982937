// A trial's encoder features (see trial_features.hpp): by the study's store key, or encoded where
// the store lacks them.
#include "train/trial_features.hpp"

#include "plugin/plugin_catalog.hpp"
#include "store/encode_features.hpp"
#include "store/feature_store.hpp"
#include "train/trial_rows.hpp"

#include <msa/encoder.hpp>

#include <optional>
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

// One modality's features and where they came from.
struct ModalityFeatures {
    Features features;
    std::int64_t dim = 0;
    TrainableEncoder top;
    std::shared_ptr<Encoder> encoder; // null when read by key
    nlohmann::json report;
    int threads = 0;
};

// The features stored under `key` (a store_keys.json entry), when the store holds every
// one of `own_ids`: no encoder is built, so no weights are loaded or hashed.
std::optional<ModalityFeatures> read_by_key(const FeatureStore& store, const records::StoredFeatures& stored,
                                            const std::string& modality,
                                            const PluginChoice& choice, const std::vector<std::string>& own_ids,
                                            const std::vector<std::string>& ids, const TrialLogFn& log) {
    const std::string& key = stored.key;
    if (!store.missing(key, own_ids).empty()) return std::nullopt;
    ModalityFeatures out;
    out.features = store.read(key, ids);
    out.dim = out.features.pooled.size(1);
    out.report = {{"plugin", choice.plugin}, {"key", key}, {"store", store.file().string()},
                  {"from_store", own_ids.size()}, {"encoded", 0}, {"dim", out.dim}, {"trainable_layers", 0},
                  {"encode_seconds", 0.0}, {"encode_threads", 0}, {"precision", stored.precision},
                  {"encoder_loaded", false}};
    log(modality + " features (" + choice.plugin + ", key " + key.substr(0, 12) + "): " +
        std::to_string(own_ids.size()) + " from the store, by the study's key (encoder not loaded)");
    return out;
}

// Builds the encoder (or takes `encoder`, built already), encodes what the store lacks
// and reads the features, or the prefix features of an encoder with a trainable top.
ModalityFeatures encode_and_read(FeatureStore& store, const PluginCatalog& catalog, const std::string& modality,
                                 const PluginChoice& choice, std::shared_ptr<Encoder> encoder,
                                 const std::vector<Sample>& own, const std::vector<std::string>& ids,
                                 const TrialLogFn& log) {
    const PluginEntry& entry = catalog.get(PluginKind::encoder, choice.plugin, choice.where);
    if (!encoder) encoder = catalog.create_encoder(choice.plugin, choice.params);
    TrainableTop* top = call_plugin(entry, "trainable_top()", [&] { return encoder->trainable_top(); });
    // Checked before encoding: without the prefix, what would be encoded is of no use.
    if (top && !call_plugin(entry, "cached_prefix()", [&] { return top->cached_prefix(); }))
        throw ConfigError(choice.where, "[encoders." + modality + "] " + describe(entry) +
                                            " fine-tunes its top layers (trainable_layers), which a trial trains "
                                            "from stored prefix features: set cached_prefix = true");
    const auto results = encode_missing(modality, choice, catalog, own, store, &encoder);
    const EncodeResult& r = results.front(); // the prefix, for a top that trains from it
    log(modality + (top ? " prefix" : "") + " features (" + choice.plugin + ", key " + r.key.substr(0, 12) +
        "): " + std::to_string(r.from_store) + " from the store, " + std::to_string(r.encoded) + " encoded");
    ModalityFeatures out;
    out.features = store.read(r.key, ids);
    out.dim = call_plugin(entry, "dim()", [&] { return encoder->dim(); });
    out.top = TrainableEncoder{top, &entry};
    out.encoder = encoder;
    out.report = {{"plugin", choice.plugin}, {"key", r.key}, {"store", store.file().string()},
                  {"from_store", r.from_store}, {"encoded", r.encoded}, {"dim", out.dim},
                  {"trainable_layers", top ? top->layers() : 0}, {"encode_seconds", r.seconds},
                  {"encode_threads", r.threads}, {"precision", r.precision}, {"encoder_loaded", true}};
    out.threads = r.threads;
    return out;
}

} // namespace

LoadedFeatures load_features(const Study& study, const PluginCatalog& catalog, const std::vector<Sample>& samples,
                             const TrialLogFn& log, const std::map<std::string, std::shared_ptr<Encoder>>& built,
                             const records::StoreKeys& store_keys) {
    FeatureStore store(store_path(study), {study.store.dtype, static_cast<int>(study.store.compression)});
    LoadedFeatures out;
    for (const auto& [modality, choice] : study.encoders) {
        if (modality == "text" && study.prompt) {
            log("[encoders.text] (" + choice.plugin + ") is not used: [prompt] " + study.prompt->plugin +
                " reads the texts itself");
            continue;
        }
        const std::vector<std::string> ids = feature_ids(samples, modality);
        std::vector<Sample> own;
        std::vector<std::string> own_ids;
        for (std::size_t i = 0; i < samples.size(); ++i)
            if (ids[i] == samples[i].id) {
                own.push_back(samples[i]);
                own_ids.push_back(samples[i].id);
            }
        const auto prebuilt = built.find(modality);
        const auto key = store_keys.find(modality);
        std::optional<ModalityFeatures> loaded;
        if (prebuilt == built.end() && key != store_keys.end())
            loaded = read_by_key(store, key->second, modality, choice, own_ids, ids, log);
        if (!loaded)
            loaded = encode_and_read(store, catalog, modality, choice,
                                     prebuilt == built.end() ? nullptr : prebuilt->second, own, ids, log);
        if (loaded->encoder) out.encoders.push_back(loaded->encoder);
        out.report[modality] = std::move(loaded->report);
        out.threads[modality] = loaded->threads;
        if (modality == "text") {
            out.text = std::move(loaded->features);
            out.text_dim = loaded->dim;
            out.text_top = loaded->top;
        } else {
            out.image = std::move(loaded->features);
            out.image_dim = loaded->dim;
            out.image_top = loaded->top;
        }
    }
    return out;
}

bool prompt_trains(const Study& study) { return !(study.few_shot && study.few_shot->k == 0); }

LoadedPrompt build_prompt(const Study& study, const PluginCatalog& catalog, std::int64_t image_dim) {
    const PluginChoice& choice = *study.prompt;
    LoadedPrompt out;
    out.entry = &catalog.get(PluginKind::prompt, choice.plugin, choice.where);
    const bool trains = prompt_trains(study);
    const PromptContext context{study.dataset.labels, trains ? image_dim : 0, trains};
    out.model = catalog.create_prompt(choice.plugin, choice.params, context);
    out.text_encoder = call_plugin(*out.entry, "text_encoder()", [&] { return out.model->text_encoder(); });
    if (!out.text_encoder || out.text_encoder->modality() != Modality::text)
        throw Error(describe(*out.entry) + " text_encoder() returned " +
                    (out.text_encoder ? "an encoder of the " + std::string(to_string(out.text_encoder->modality())) +
                                            " modality"
                                      : std::string("no encoder")) +
                    "; a prompt model's fixed part encodes the texts");
    return out;
}

void read_prompt_text(const Study& study, const LoadedPrompt& prompt, const std::vector<Sample>& samples,
                      LoadedFeatures& features, const TrialLogFn& log) {
    const PluginChoice& choice = *study.prompt;
    FeatureStore store(store_path(study), {study.store.dtype, static_cast<int>(study.store.compression)});
    const std::vector<std::string> ids = feature_ids(samples, "text");
    std::vector<Sample> own;
    for (std::size_t i = 0; i < samples.size(); ++i)
        if (ids[i] == samples[i].id) own.push_back(samples[i]);
    const EncodeResult r = encode_missing("text", *prompt.entry, *prompt.text_encoder, choice.params, own, store).front();
    log("prompt text features (" + choice.plugin + ", key " + r.key.substr(0, 12) + "): " +
        std::to_string(r.from_store) + " from the store, " + std::to_string(r.encoded) + " encoded");
    features.text = store.read(r.key, ids);
    features.text_dim = call_plugin(*prompt.entry, "text_encoder()->dim()", [&] { return prompt.text_encoder->dim(); });
    features.report["text"] = {{"plugin", choice.plugin}, {"kind", "prompt"}, {"key", r.key},
                               {"store", store.file().string()}, {"from_store", r.from_store},
                               {"encoded", r.encoded}, {"dim", features.text_dim}, {"encode_seconds", r.seconds},
                               {"encode_threads", r.threads}, {"precision", r.precision}, {"encoder_loaded", true}};
    features.threads["text"] = r.threads;
}

} // namespace msa::train

// Encoding what the feature store lacks, batch by batch, with progress.
#include "store/encode_features.hpp"

#include "plugin/plugin_catalog.hpp"
#include "util/progress.hpp"
#include "util/thread_budget.hpp"

#include <msa/encoder.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <unordered_map>

namespace msa {

namespace {


// An encoder's output must have one row per sample and its declared width; anything
// else would poison the store for every later run.
void check_output(const PluginEntry& entry, const Encoder& encoder, const Features& features, std::size_t rows) {
    const auto& pooled = features.pooled;
    if (!pooled.defined() || pooled.dim() != 2 || pooled.size(0) != static_cast<std::int64_t>(rows) ||
        pooled.size(1) != encoder.dim())
        throw Error(describe(entry) + " returned pooled features of shape " +
                    (pooled.defined() ? c10::str(pooled.sizes()) : std::string("(none)")) + " for " +
                    std::to_string(rows) + " samples; expected [" + std::to_string(rows) + ", " +
                    std::to_string(encoder.dim()) + "]");
}

// Encodes the samples `store` lacks under `key`, batch by batch, with `encode`; texts go
// longest first when `by_text_length`. `count_only` only counts them.
void fill_group(const std::string& label, const std::string& key, const EncoderMeta& meta, std::int64_t batch_size,
                bool by_text_length, bool count_only, const std::vector<Sample>& samples, FeatureStore& store,
                const std::function<Features(const EncoderBatch&, std::size_t rows)>& encode, EncodeResult& result) {
    std::vector<std::string> ids;
    std::unordered_map<std::string, const Sample*> by_id;
    for (const auto& sample : samples) {
        ids.push_back(sample.id);
        by_id.emplace(sample.id, &sample);
    }
    auto missing = store.missing(key, ids);
    result.total = ids.size();
    result.missing = missing.size();
    result.from_store = ids.size() - missing.size();
    if (count_only) return;
    // A text batch is padded to its longest text: in the dataset's order that is well above
    // the mean length, sorted it is about each text's own (MiniLM on mvsa-ecnu's 4,012
    // labelled texts: 32.5 s in dataset order, 21.7 s sorted). Longest first, so that the
    // ETA errs long and a batch too large for memory fails at once.
    if (by_text_length)
        std::stable_sort(missing.begin(), missing.end(), [&](const std::string& a, const std::string& b) {
            return by_id.at(a)->text.size() > by_id.at(b)->text.size();
        });
    result.encoded = missing.size();

    const auto start = std::chrono::steady_clock::now();
    if (!missing.empty()) {
        Progress progress(label, static_cast<std::int64_t>(missing.size()), std::cerr);
        const auto step = static_cast<std::size_t>(std::max<std::int64_t>(1, batch_size));
        for (std::size_t begin = 0; begin < missing.size(); begin += step) {
            const std::vector<std::string> batch_ids(missing.begin() + begin,
                                                     missing.begin() + std::min(missing.size(), begin + step));
            EncoderBatch batch;
            for (const auto& id : batch_ids) batch.samples.push_back(by_id.at(id));
            store.append(key, meta, batch_ids, encode(batch, batch_ids.size()));
            progress.advance(static_cast<std::int64_t>(batch_ids.size()));
        }
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

std::vector<EncodeResult> encode_missing(const std::string& modality, const PluginChoice& choice,
                                         const PluginCatalog& catalog, const std::vector<Sample>& samples,
                                         FeatureStore& store, std::shared_ptr<Encoder>* built, bool count_only) {
    const PluginEntry& entry = catalog.get(PluginKind::encoder, choice.plugin, choice.where);
    auto encoder = built && *built ? *built : catalog.create_encoder(choice.plugin, choice.params);
    if (built) *built = encoder;
    if (to_string(encoder->modality()) != modality)
        throw ConfigError(choice.where, "[encoders." + modality + "] names " + describe(entry) + ", which encodes " +
                                            to_string(encoder->modality()) + "; move it to [encoders." +
                                            to_string(encoder->modality()) + "]");
    return encode_missing(modality, entry, *encoder, choice.params, samples, store, count_only);
}

std::vector<EncodeResult> encode_missing(const std::string& modality, const PluginEntry& entry, Encoder& encoder,
                                         const Properties& params, const std::vector<Sample>& samples,
                                         FeatureStore& store, bool count_only) {
    const std::string& plugin = entry.info.name;
    std::vector<EncodeResult> results;
    // The encoder's own `threads` apply while it encodes; the host's count comes back after.
    const ScopedThreads threads(call_plugin(entry, "threads()", [&] { return encoder.threads(); }));
    const EncoderMeta meta = encoder_meta(entry, encoder, params);
    const std::string precision = call_plugin(entry, "precision()", [&] { return encoder.precision(); });
    const bool by_text_length = encoder.modality() == Modality::text;
    TrainableTop* top = call_plugin(entry, "trainable_top()", [&] { return encoder.trainable_top(); });
    // A top that trains from cached prefix features runs in the trial: the encoder's own
    // output, with the top as loaded, is never read, so only the prefix is encoded.
    if (top && call_plugin(entry, "cached_prefix()", [&] { return top->cached_prefix(); })) {
        EncoderMeta prefix_meta = meta;
        prefix_meta.cache_key = call_plugin(entry, "prefix_cache_key()", [&] { return top->prefix_cache_key(); });
        EncodeResult& prefix =
            results.emplace_back(EncodeResult{modality + " prefix", plugin, encoder_key(prefix_meta)});
        prefix.threads = threads.threads();
        prefix.frozen = false;
        // prefix_precision() came with SDK 4.4: a 4.3 library's vtable has no such entry.
        const std::string prefix_precision =
            entry.sdk_minor >= 4 ? call_plugin(entry, "prefix_precision()", [&] { return top->prefix_precision(); })
                                 : std::string();
        prefix.precision = prefix_precision.empty() ? precision : prefix_precision;
        fill_group("encode " + modality + " prefix (" + plugin + ")", prefix.key, prefix_meta,
                   encoder.batch_size(), by_text_length, count_only, samples, store,
                   [&](const EncoderBatch& batch, std::size_t rows) {
                       Features out =
                           call_plugin(entry, "failed to encode the prefix", [&] { return top->encode_prefix(batch); });
                       if (!out.tokens.defined() || out.tokens.dim() != 3 || out.tokens.size(0) != std::int64_t(rows))
                           throw Error(describe(entry) + " returned prefix features without a [" +
                                       std::to_string(rows) + ", T, D] token sequence");
                       return out;
                   },
                   prefix);
        return results;
    }
    EncodeResult& features = results.emplace_back(EncodeResult{modality, plugin, encoder_key(meta)});
    features.threads = threads.threads();
    features.precision = precision;
    features.frozen = top == nullptr;
    fill_group("encode " + modality + " (" + plugin + ")", features.key, meta, encoder.batch_size(),
               by_text_length, count_only, samples, store,
               [&](const EncoderBatch& batch, std::size_t rows) {
                   Features out = call_plugin(entry, "failed to encode", [&] { return encoder.encode(batch); });
                   check_output(entry, encoder, out, rows);
                   return out;
               },
               features);
    return results;
}

} // namespace msa

// Filling the feature store: an encoder's features (and its prefix features when it
// fine-tunes with cached_prefix) for the samples the store lacks. Used by `msa encode`
// and by trials, which encode what their split needs before training.
#pragma once

#include "manifest/study.hpp"
#include "store/feature_store.hpp"

#include <msa/sample.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace msa {

class PluginCatalog;
class Encoder;
struct PluginEntry;

// What one group of the store got: its key, how many samples were asked for, encoded,
// and found already stored.
struct EncodeResult {
    std::string modality;
    std::string plugin;
    std::string key;
    std::size_t total = 0;
    std::size_t encoded = 0;
    std::size_t from_store = 0;
    std::size_t missing = 0; // that the store lacked: `encoded` unless only counted
    double seconds = 0;
    int threads = 0; // intra-op threads it encoded with (the encoder's `threads`, else the host's)
    bool frozen = true; // the encoder has no trainable top: these features are all a trial needs of it
    std::string precision; // the compute type it encoded in (Encoder::precision())
};

// Builds the encoder of `choice` ([encoders.<modality>]) and encodes every sample of
// `samples` that the store lacks: the encoder's features, or, for an encoder whose
// trainable top trains from cached prefix features (cached_prefix), that prefix alone
// (one result either way; a vector so that callers report what was encoded by name).
// `built`, when given, receives the encoder (a trial trains its trainable top); when it
// already holds one, built from this very choice, that encoder is used instead of a new
// one (a saved model built its encoders before loading their trained tops).
// `count_only` counts what is missing and encodes nothing.
std::vector<EncodeResult> encode_missing(const std::string& modality, const PluginChoice& choice,
                                         const PluginCatalog& catalog, const std::vector<Sample>& samples,
                                         FeatureStore& store, std::shared_ptr<Encoder>* built = nullptr,
                                         bool count_only = false);

// The same for an encoder built already: `entry` is the plugin that made it (its name and
// version key the store with the encoder's cache_key()), `params` its parameters (recorded
// beside the features). A prompt model's text encoder is encoded this way.
std::vector<EncodeResult> encode_missing(const std::string& modality, const PluginEntry& entry, Encoder& encoder,
                                         const Properties& params, const std::vector<Sample>& samples,
                                         FeatureStore& store, bool count_only = false);

} // namespace msa

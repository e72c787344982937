// Names in the feature store: content-addressed encoder keys, and which file a dataset's
// features go to.
#pragma once

#include "manifest/study.hpp"

#include <filesystem>
#include <string>

namespace msa {

class Encoder;
struct PluginEntry;

// Who produced a group of features. The store writes it as the group's attributes
// when the group is created.
struct EncoderMeta {
    std::string plugin;      // plugin name, e.g. "hashed-ngram"
    std::string version;     // PluginInfo::version
    std::string cache_key;   // Encoder::cache_key(): checkpoint digest, preprocessing, ...
    std::string params_json; // the plugin's parameters as a JSON object (informational)
};

// The group name of an encoder's features: hex SHA-256 of plugin, version and
// cache_key, each followed by a NUL byte (so "ab"+"c" and "a"+"bc" differ).
std::string encoder_key(const std::string& plugin, const std::string& version, const std::string& cache_key);
std::string encoder_key(const EncoderMeta& meta);

// The meta of an encoder built from `entry` with `params` (its checked parameters).
EncoderMeta encoder_meta(const PluginEntry& entry, const Encoder& encoder, const Properties& params);

// The store file of a dataset when the manifest names none:
// ${XDG_CACHE_HOME:-$HOME/.cache}/msa-workbench/features/<root folder name>-<first 12
// hex of SHA-256 of the canonical root path>.h5. Throws msa::Error when neither
// XDG_CACHE_HOME nor HOME is set.
std::filesystem::path default_store_path(const DatasetConfig& dataset);

// `study.store.path` when set, else default_store_path(study.dataset).
std::filesystem::path store_path(const Study& study);

} // namespace msa

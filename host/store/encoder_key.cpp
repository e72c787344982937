// Encoder keys (SHA-256 of what names the encoder) and the default store path.
#include "store/encoder_key.hpp"

#include "plugin/plugin_catalog.hpp"

#include <msa/encoder.hpp>
#include <msa/media/digest.hpp>

#include <nlohmann/json.hpp>

#include <cstdlib>

namespace msa {

namespace fs = std::filesystem;

std::string encoder_key(const std::string& plugin, const std::string& version, const std::string& cache_key) {
    std::string material;
    for (const std::string* part : {&plugin, &version, &cache_key}) {
        material += *part;
        material += '\0';
    }
    return media::sha256_hex(material);
}

std::string encoder_key(const EncoderMeta& meta) { return encoder_key(meta.plugin, meta.version, meta.cache_key); }

EncoderMeta encoder_meta(const PluginEntry& entry, const Encoder& encoder, const Properties& params) {
    nlohmann::json json = nlohmann::json::object();
    for (const auto& name : params.names())
        json[name] = std::visit([](const auto& v) { return nlohmann::json(v); }, params.peek(name));
    const std::string cache_key = call_plugin(entry, "cache_key()", [&] { return encoder.cache_key(); });
    return {entry.info.name, entry.info.version, cache_key, json.dump()};
}

fs::path default_store_path(const DatasetConfig& dataset) {
    fs::path cache;
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg && fs::path(xdg).is_absolute())
        cache = xdg;
    else if (const char* home = std::getenv("HOME"); home && *home)
        cache = fs::path(home) / ".cache";
    else
        throw Error("cannot place the feature store of dataset " + dataset.root.string() +
                    ": neither XDG_CACHE_HOME nor HOME is set; set [store] path in the manifest");
    // Canonical, so the same folder reached through different spellings shares a store.
    const fs::path root = fs::weakly_canonical(fs::absolute(dataset.root));
    std::string name = root.filename().string();
    if (name.empty()) name = "root";
    return cache / "msa-workbench" / "features" / (name + "-" + media::sha256_hex(root.string()).substr(0, 12) + ".h5");
}

fs::path store_path(const Study& study) {
    return study.store.path.empty() ? default_store_path(study.dataset) : study.store.path;
}

} // namespace msa

// Typed reads from a checkpoint's config.json, with errors that name the file, the key
// and what was expected. Every architecture's Config::from_json uses it.
#pragma once

#include <msa/models/checkpoint.hpp>
#include <msa/models/export.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace msa::models {

class MSA_MODELS_API ModelConfig {
public:
    // `json` is config.json (or a nested object such as CLIP's "text_config");
    // `source` names it in messages, e.g. "models/clip/config.json: text_config".
    ModelConfig(nlohmann::json json, std::string source);

    bool has(const std::string& key) const;
    std::int64_t integer(const std::string& key) const;
    std::int64_t integer(const std::string& key, std::int64_t fallback) const;
    double real(const std::string& key) const;
    double real(const std::string& key, double fallback) const;
    std::string string(const std::string& key) const;
    std::string string(const std::string& key, const std::string& fallback) const;
    bool boolean(const std::string& key, bool fallback) const;
    std::vector<std::int64_t> integers(const std::string& key) const;
    // A nested object ("text_config"); absent means an empty object.
    ModelConfig child(const std::string& key) const;
    // An error about `key`, in this config's words.
    [[noreturn]] void fail(const std::string& key, const std::string& message) const;

    const nlohmann::json& json() const { return json_; }
    const std::string& source() const { return source_; }

private:
    const nlohmann::json& require(const std::string& key) const;
    nlohmann::json json_;
    std::string source_;
};

} // namespace msa::models

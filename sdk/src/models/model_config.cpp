// Typed reads from config.json with errors that say which key, in which file, and why.
#include <msa/models/model_config.hpp>

namespace msa::models {

ModelConfig::ModelConfig(nlohmann::json json, std::string source)
    : json_(std::move(json)), source_(std::move(source)) {
    if (!json_.is_object()) throw CheckpointError(source_ + ": expected a JSON object, found " + json_.type_name());
}

bool ModelConfig::has(const std::string& key) const { return json_.contains(key) && !json_.at(key).is_null(); }

void ModelConfig::fail(const std::string& key, const std::string& message) const {
    throw CheckpointError(source_ + ": '" + key + "': " + message);
}

const nlohmann::json& ModelConfig::require(const std::string& key) const {
    if (!has(key)) fail(key, "missing; the architecture needs it");
    return json_.at(key);
}

std::int64_t ModelConfig::integer(const std::string& key) const {
    const auto& value = require(key);
    if (!value.is_number_integer()) fail(key, std::string("expected an integer, found ") + value.type_name());
    return value.get<std::int64_t>();
}

std::int64_t ModelConfig::integer(const std::string& key, std::int64_t fallback) const {
    return has(key) ? integer(key) : fallback;
}

double ModelConfig::real(const std::string& key) const {
    const auto& value = require(key);
    if (!value.is_number()) fail(key, std::string("expected a number, found ") + value.type_name());
    return value.get<double>();
}

double ModelConfig::real(const std::string& key, double fallback) const { return has(key) ? real(key) : fallback; }

std::string ModelConfig::string(const std::string& key) const {
    const auto& value = require(key);
    if (!value.is_string()) fail(key, std::string("expected a string, found ") + value.type_name());
    return value.get<std::string>();
}

std::string ModelConfig::string(const std::string& key, const std::string& fallback) const {
    return has(key) ? string(key) : fallback;
}

bool ModelConfig::boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    const auto& value = json_.at(key);
    if (!value.is_boolean()) fail(key, std::string("expected true or false, found ") + value.type_name());
    return value.get<bool>();
}

std::vector<std::int64_t> ModelConfig::integers(const std::string& key) const {
    const auto& value = require(key);
    if (!value.is_array()) fail(key, std::string("expected a list of integers, found ") + value.type_name());
    std::vector<std::int64_t> out;
    for (const auto& item : value) {
        if (!item.is_number_integer()) fail(key, "expected a list of integers; one item is " + std::string(item.type_name()));
        out.push_back(item.get<std::int64_t>());
    }
    return out;
}

ModelConfig ModelConfig::child(const std::string& key) const {
    if (!has(key)) return ModelConfig(nlohmann::json::object(), source_ + ": " + key);
    const auto& value = json_.at(key);
    if (!value.is_object()) fail(key, std::string("expected an object, found ") + value.type_name());
    return ModelConfig(value, source_ + ": " + key);
}

} // namespace msa::models

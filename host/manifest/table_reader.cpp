// TOML tables read key by key: types, ranges, closed sets and unknown keys, each a
// problem told with where it is and what would have been accepted.
#include "manifest/table_reader.hpp"

#include "util/suggest.hpp"

#include <msa/properties.hpp>

#include <algorithm>

namespace msa {

namespace fs = std::filesystem;

const char* type_name(const toml::node& node) {
    switch (node.type()) {
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    default: return "nothing";
    }
}

fs::path resolve_path(const std::string& value, const toml::node& node) {
    fs::path path(value);
    if (value.empty()) return path; // "" means a plugin's default, not the manifest's folder
    if (path.is_absolute() || !node.source().path) return path;
    // Absolute, so that a resolved manifest (a run folder's config.toml) works from anywhere.
    return fs::absolute(fs::path(*node.source().path).parent_path() / path).lexically_normal();
}

std::optional<std::int64_t> TableReader::integer(const std::string& key, std::int64_t min, std::int64_t max) {
    auto value = typed<std::int64_t>(key, "an integer");
    if (value && (*value < min || *value > max)) {
        problems_.add(*table_.get(key), "'" + qualified(key) + "' = " + std::to_string(*value) +
                                            " is out of range; accepted: [" + std::to_string(min) + ", " +
                                            std::to_string(max) + "]");
        return std::nullopt;
    }
    return value;
}

std::optional<double> TableReader::real(const std::string& key, double min, double max) {
    const toml::node* n = node(key);
    if (!n) return std::nullopt;
    if (!n->is_number()) {
        mistyped(key, *n, "a number");
        return std::nullopt;
    }
    const double value = n->is_integer() ? static_cast<double>(*n->value<std::int64_t>()) : *n->value<double>();
    if (!(value >= min && value <= max)) {
        problems_.add(*n, "'" + qualified(key) + "' = " + format_value(Value{value}) +
                              " is out of range; accepted: [" + format_value(Value{min}) + ", " +
                              format_value(Value{max}) + "]");
        return std::nullopt;
    }
    return value;
}

std::optional<std::string> TableReader::choice(const std::string& key, const std::vector<std::string>& choices) {
    auto value = string(key);
    if (value && std::find(choices.begin(), choices.end(), *value) == choices.end()) {
        problems_.add(*table_.get(key), "'" + qualified(key) + "' = \"" + *value + "\" is not accepted" +
                                            did_you_mean(*value, choices) + "; accepted: " + join(choices));
        return std::nullopt;
    }
    return value;
}

std::optional<MetricName> TableReader::metric(const std::string& key, unsigned use) {
    auto value = string(key);
    if (!value) return std::nullopt;
    if (auto metric = parse_metric(*value, use)) return metric;
    const auto accepted = metric_names(use);
    problems_.add(*table_.get(key), "'" + qualified(key) + "' = \"" + *value + "\" is not accepted" +
                                        did_you_mean(*value, accepted) + "; accepted: " + join(accepted));
    return std::nullopt;
}

std::optional<std::vector<std::string>> TableReader::strings(const std::string& key) {
    const toml::node* n = node(key);
    if (!n) return std::nullopt;
    const toml::array* array = n->as_array();
    std::vector<std::string> out;
    if (array)
        for (const toml::node& item : *array) {
            if (!item.is_string()) {
                problems_.add(item, "'" + qualified(key) + "' must hold strings, found a " + type_name(item));
                return std::nullopt;
            }
            out.push_back(*item.value<std::string>());
        }
    else {
        mistyped(key, *n, "an array of strings");
        return std::nullopt;
    }
    return out;
}

std::optional<std::map<std::string, std::vector<std::string>>> TableReader::string_lists(const std::string& key) {
    const toml::node* n = node(key);
    if (!n) return std::nullopt;
    const toml::table* table = n->as_table();
    if (!table || table->empty()) {
        problems_.add(*n, "'" + qualified(key) + "' must be a table of names to arrays of strings "
                          "({ negative = [\"...\"], positive = [\"...\"] }), got " +
                          (table ? std::string("an empty table") : std::string("a ") + type_name(*n)));
        return std::nullopt;
    }
    std::map<std::string, std::vector<std::string>> out;
    for (auto&& [name, value] : *table) {
        const toml::array* array = value.as_array();
        std::vector<std::string>& list = out[std::string(name.str())];
        if (array)
            for (const toml::node& item : *array)
                if (auto text = item.value_exact<std::string>(); text && !text->empty()) list.push_back(*text);
        if (!array || list.empty() || list.size() != array->size()) {
            problems_.add(value, "'" + qualified(key) + "." + std::string(name.str()) +
                                     "' must be a non-empty array of non-empty strings");
            return std::nullopt;
        }
    }
    return out;
}

std::optional<std::vector<double>> TableReader::reals(const std::string& key, double min, double max) {
    const toml::node* n = node(key);
    if (!n) return std::nullopt;
    const toml::array* array = n->as_array();
    if (!array) {
        mistyped(key, *n, "an array of numbers");
        return std::nullopt;
    }
    std::vector<double> out;
    for (const toml::node& item : *array) {
        if (!item.is_number()) {
            problems_.add(item, "'" + qualified(key) + "' must hold numbers, found a " + type_name(item));
            return std::nullopt;
        }
        const double value =
            item.is_integer() ? static_cast<double>(*item.value<std::int64_t>()) : *item.value<double>();
        if (!(value >= min && value <= max)) {
            problems_.add(item, "'" + qualified(key) + "' holds " + format_value(Value{value}) +
                                    ", out of range; accepted: [" + format_value(Value{min}) + ", " +
                                    format_value(Value{max}) + "]");
            return std::nullopt;
        }
        out.push_back(value);
    }
    return out;
}

std::optional<fs::path> TableReader::path(const std::string& key) {
    auto value = string(key);
    if (!value) return std::nullopt;
    return resolve_path(*value, *table_.get(key));
}

std::optional<std::vector<fs::path>> TableReader::paths(const std::string& key) {
    auto values = strings(key);
    if (!values) return std::nullopt;
    std::vector<fs::path> out;
    const toml::array& array = *table_.get(key)->as_array();
    for (std::size_t i = 0; i < values->size(); ++i) out.push_back(resolve_path((*values)[i], *array.get(i)));
    return out;
}

const toml::table* TableReader::table(const std::string& key) {
    const toml::node* n = node(key);
    if (!n) return nullptr;
    if (!n->is_table()) mistyped(key, *n, "a table");
    return n->as_table();
}

void TableReader::finish() {
    for (auto&& [key, value] : table_) {
        const std::string name(key.str());
        if (std::find(known_.begin(), known_.end(), name) != known_.end()) continue;
        std::vector<std::string> candidates;
        for (const auto& k : known_) candidates.push_back(qualified(k));
        problems_.add(location(key.source()), "unknown key '" + qualified(name) + "'" +
                                                  did_you_mean(qualified(name), candidates) +
                                                  "; accepted here: " + join(candidates));
    }
}

void TableReader::mistyped(const std::string& key, const toml::node& n, const char* expected) {
    problems_.add(n, "'" + qualified(key) + "' must be " + expected + ", got a " + type_name(n));
}

} // namespace msa

// Internal to host/manifest: reading one TOML table key by key into typed values, with
// every problem collected (not thrown) so that a manifest's errors are told together.
#pragma once

#include "manifest/manifest_table.hpp"
#include "manifest/vocabulary.hpp"

#include <toml++/toml.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace msa {

// "table", "integer", ...: what a mistyped value is, for messages.
const char* type_name(const toml::node& node);

// Relative paths in a manifest are relative to the file that states them, so an
// included file can name its own neighbours.
std::filesystem::path resolve_path(const std::string& value, const toml::node& node);

// The problems found so far, thrown together as one ManifestError.
class Problems {
public:
    void add(std::string where, std::string message) { list_.push_back({std::move(where), std::move(message)}); }
    void add(const toml::node& node, std::string message) { add(location(node.source()), std::move(message)); }
    bool empty() const { return list_.empty(); }
    void throw_if_any() {
        if (!list_.empty()) throw ManifestError(std::move(list_));
    }

private:
    std::vector<ManifestProblem> list_;
};

// Reads one table of the manifest. Every key asked for, present or not, becomes a
// known key; finish() reports the rest as unknown, with the nearest known name.
// A value of the wrong type or out of range is a problem, and reads as nullopt.
class TableReader {
public:
    TableReader(const toml::table& table, std::string path, Problems& problems)
        : table_(table), path_(std::move(path)), problems_(problems) {}

    const toml::node* node(const std::string& key) {
        known_.push_back(key);
        return table_.get(key);
    }

    std::optional<std::string> string(const std::string& key) { return typed<std::string>(key, "a string"); }
    std::optional<bool> boolean(const std::string& key) { return typed<bool>(key, "a boolean"); }
    std::optional<std::int64_t> integer(const std::string& key, std::int64_t min, std::int64_t max);
    std::optional<double> real(const std::string& key, double min, double max);
    std::optional<std::string> choice(const std::string& key, const std::vector<std::string>& choices);

    // One of a closed set of names (vocabulary.hpp).
    template <class E, std::size_t N>
    std::optional<E> name(const std::string& key, const std::array<const char*, N>& names) {
        if (auto value = choice(key, names_of(names))) return parse_name<E>(names, *value);
        return std::nullopt;
    }

    // A metric name accepted for `use` (MetricUse).
    std::optional<MetricName> metric(const std::string& key, unsigned use);
    std::optional<std::vector<std::string>> strings(const std::string& key);
    // A table of names, each to a non-empty array of strings (a label's descriptions).
    std::optional<std::map<std::string, std::vector<std::string>>> string_lists(const std::string& key);
    // An array of numbers, each in [min, max].
    std::optional<std::vector<double>> reals(const std::string& key, double min, double max);
    // A path relative to the file that states it.
    std::optional<std::filesystem::path> path(const std::string& key);
    std::optional<std::vector<std::filesystem::path>> paths(const std::string& key);
    // A sub-table; nullptr when absent or not a table (reported).
    const toml::table* table(const std::string& key);

    void finish();

    std::string qualified(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
    const toml::table& raw() const { return table_; }
    Problems& problems() { return problems_; }

private:
    template <class T> std::optional<T> typed(const std::string& key, const char* expected) {
        const toml::node* n = node(key);
        if (!n) return std::nullopt;
        auto value = n->value_exact<T>();
        if (!value) mistyped(key, *n, expected);
        return value;
    }

    void mistyped(const std::string& key, const toml::node& n, const char* expected);

    const toml::table& table_;
    std::string path_;
    Problems& problems_;
    std::vector<std::string> known_;
};

} // namespace msa

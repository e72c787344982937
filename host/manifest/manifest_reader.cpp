// TOML++ into a typed Study: includes, types, ranges, unknown keys with suggestions,
// and plugin parameters checked against each plugin's declaration.
#include "manifest/manifest_reader.hpp"

#include "manifest/builtin_defaults.hpp"
#include "manifest/manifest_table.hpp"
#include "plugin/plugin_catalog.hpp"
#include "util/suggest.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <functional>
#include <set>
#include <sstream>
#include <tuple>

namespace msa {

namespace fs = std::filesystem;

ManifestError::ManifestError(std::vector<ManifestProblem> problems)
    : Error([&] {
          std::string text;
          for (const auto& p : problems)
              text += (text.empty() ? "" : "\n") + (p.where.empty() ? "" : p.where + ": ") + "error: " + p.message;
          return text;
      }()),
      problems_(std::move(problems)) {}


std::string location(const toml::source_region& region) {
    if (!region.path) return {};
    if (region.begin.line == 0) return *region.path;
    return *region.path + ":" + std::to_string(region.begin.line) + ":" + std::to_string(region.begin.column);
}

namespace {

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

// Relative paths in a manifest are relative to the file that states them, so an
// included file can name its own neighbours.
fs::path resolve_path(const std::string& value, const toml::node& node) {
    fs::path path(value);
    if (value.empty()) return path; // "" means a plugin's default, not the manifest's folder
    if (path.is_absolute() || !node.source().path) return path;
    // Absolute, so that a resolved manifest (a run folder's config.toml) works from anywhere.
    return fs::absolute(fs::path(*node.source().path).parent_path() / path).lexically_normal();
}

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

struct Loader {
    Problems& problems;
    std::vector<fs::path> includes;
    std::vector<fs::path> stack;

    // The parsed file with its includes merged, or nullopt after a problem.
    std::optional<toml::table> load(const fs::path& file, const std::string& included_from) {
        std::error_code ec;
        if (!fs::is_regular_file(file, ec)) {
            problems.add(included_from, (included_from.empty() ? "manifest not found: " : "included file not found: ") +
                                            file.string());
            return std::nullopt;
        }
        const fs::path canonical = fs::weakly_canonical(file, ec);
        if (std::find(stack.begin(), stack.end(), canonical) != stack.end()) {
            problems.add(included_from, "include cycle: " + file.string() + " includes itself");
            return std::nullopt;
        }
        toml::table table;
        try {
            table = toml::parse_file(file.string());
        } catch (const toml::parse_error& e) {
            problems.add(location(e.source()), "TOML syntax: " + std::string(e.description()));
            return std::nullopt;
        }
        stack.push_back(canonical);
        toml::table merged;
        if (toml::node* include = table.get("include")) {
            const toml::array* list = include->as_array();
            if (!list) {
                problems.add(*include, std::string("'include' must be an array of file names, got a ") + type_name(*include));
            } else {
                for (const toml::node& item : *list) {
                    const auto name = item.value<std::string>();
                    if (!name) {
                        problems.add(item, std::string("'include' entries must be strings, got a ") + type_name(item));
                        continue;
                    }
                    const fs::path path = resolve_path(*name, item);
                    if (auto included = load(path, location(item.source()))) {
                        includes.push_back(path);
                        merge_into(merged, std::move(*included));
                    }
                }
            }
            table.erase("include");
        }
        stack.pop_back();
        merge_into(merged, std::move(table));
        return merged;
    }
};

// Reads one table of the manifest. Every key asked for, present or not, becomes a
// known key; finish() reports the rest as unknown, with the nearest known name.
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

    std::optional<std::int64_t> integer(const std::string& key, std::int64_t min, std::int64_t max) {
        auto value = typed<std::int64_t>(key, "an integer");
        if (value && (*value < min || *value > max)) {
            problems_.add(*table_.get(key), "'" + qualified(key) + "' = " + std::to_string(*value) +
                                                " is out of range; accepted: [" + std::to_string(min) + ", " +
                                                std::to_string(max) + "]");
            return std::nullopt;
        }
        return value;
    }

    std::optional<double> real(const std::string& key, double min, double max) {
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

    std::optional<std::string> choice(const std::string& key, const std::vector<std::string>& choices) {
        auto value = string(key);
        if (value && std::find(choices.begin(), choices.end(), *value) == choices.end()) {
            problems_.add(*table_.get(key), "'" + qualified(key) + "' = \"" + *value + "\" is not accepted" +
                                                did_you_mean(*value, choices) + "; accepted: " + join(choices));
            return std::nullopt;
        }
        return value;
    }

    // One of a closed set of names (vocabulary.hpp).
    template <class E, std::size_t N>
    std::optional<E> name(const std::string& key, const std::array<const char*, N>& names) {
        if (auto value = choice(key, names_of(names))) return parse_name<E>(names, *value);
        return std::nullopt;
    }

    // A metric name accepted for `use` (MetricUse).
    std::optional<MetricName> metric(const std::string& key, unsigned use) {
        auto value = string(key);
        if (!value) return std::nullopt;
        if (auto metric = parse_metric(*value, use)) return metric;
        const auto accepted = metric_names(use);
        problems_.add(*table_.get(key), "'" + qualified(key) + "' = \"" + *value + "\" is not accepted" +
                                            did_you_mean(*value, accepted) + "; accepted: " + join(accepted));
        return std::nullopt;
    }

    std::optional<std::vector<std::string>> strings(const std::string& key) {
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

    // An array of numbers, each in [min, max].
    std::optional<std::vector<double>> reals(const std::string& key, double min, double max) {
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

    // A path relative to the file that states it.
    std::optional<fs::path> path(const std::string& key) {
        auto value = string(key);
        if (!value) return std::nullopt;
        return resolve_path(*value, *table_.get(key));
    }

    std::optional<std::vector<fs::path>> paths(const std::string& key) {
        auto values = strings(key);
        if (!values) return std::nullopt;
        std::vector<fs::path> out;
        const toml::array& array = *table_.get(key)->as_array();
        for (std::size_t i = 0; i < values->size(); ++i) out.push_back(resolve_path((*values)[i], *array.get(i)));
        return out;
    }

    // A sub-table; nullptr when absent or not a table (reported).
    const toml::table* table(const std::string& key) {
        const toml::node* n = node(key);
        if (!n) return nullptr;
        if (!n->is_table()) mistyped(key, *n, "a table");
        return n->as_table();
    }

    void finish() {
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

    void mistyped(const std::string& key, const toml::node& n, const char* expected) {
        problems_.add(n, "'" + qualified(key) + "' must be " + expected + ", got a " + type_name(n));
    }

    const toml::table& table_;
    std::string path_;
    Problems& problems_;
    std::vector<std::string> known_;
};

// The TOML value as the declared parameter type, or a reason it cannot be one.
std::optional<Value> to_value(const toml::node& node, const ParamSpec& spec, std::string& problem) {
    auto list = [&](auto element, const char* what) -> std::optional<Value> {
        using T = decltype(element);
        const toml::array* array = node.as_array();
        if (!array) {
            problem = std::string("expected ") + what + ", got a " + type_name(node);
            return std::nullopt;
        }
        std::vector<T> out;
        for (const toml::node& item : *array) {
            std::optional<T> value;
            if constexpr (std::is_same_v<T, double>) {
                if (item.is_integer()) value = static_cast<double>(*item.value<std::int64_t>());
                else value = item.value_exact<double>();
            } else {
                value = item.value_exact<T>();
            }
            if (!value) {
                problem = std::string("expected ") + what + ", found a " + type_name(item) + " in it";
                return std::nullopt;
            }
            out.push_back(*value);
        }
        return Value{std::move(out)};
    };
    auto scalar = [&](auto element, const char* what) -> std::optional<Value> {
        using T = decltype(element);
        auto value = node.value_exact<T>();
        if (!value) {
            problem = std::string("expected ") + what + ", got a " + type_name(node);
            return std::nullopt;
        }
        return Value{*value};
    };
    switch (spec.type) {
    case ParamType::boolean: return scalar(bool{}, "a boolean");
    case ParamType::integer: return scalar(std::int64_t{}, "an integer");
    case ParamType::real:
        if (node.is_integer()) return Value{static_cast<double>(*node.value<std::int64_t>())};
        return scalar(double{}, "a number");
    case ParamType::string: {
        auto value = scalar(std::string{}, "a string");
        if (value && spec.is_path) value = Value{resolve_path(std::get<std::string>(*value), node).string()};
        return value;
    }
    case ParamType::integer_list: return list(std::int64_t{}, "an array of integers");
    case ParamType::real_list: return list(double{}, "an array of numbers");
    case ParamType::string_list: return list(std::string{}, "an array of strings");
    }
    return std::nullopt;
}

std::vector<std::string> param_names(const PluginInfo& info) {
    std::vector<std::string> names{"plugin"};
    for (const auto& spec : info.params) names.push_back(spec.name);
    return names;
}

// A plugin table such as [fusion] (or the shorthand `fusion = "gated"`), checked
// against the plugin's declaration; `node` is null when the key is absent, and then
// `fallback` is the plugin used. `host_keys` are keys of the table the host reads
// itself (an auxiliary loss's weight), not the plugin's parameters.
std::optional<PluginChoice> read_plugin_node(const toml::node* node, const std::string& qualified, Problems& problems,
                                             PluginKind kind, const PluginCatalog& catalog,
                                             const std::string& fallback = {},
                                             const std::vector<std::string>& host_keys = {}) {
    std::string name = fallback;
    const toml::node* name_node = nullptr;
    const toml::table* table = nullptr;
    if (node) {
        if (node->is_string()) {
            name_node = node;
        } else if ((table = node->as_table())) {
            name_node = table->get("plugin");
            if (!name_node) {
                problems.add(*node, "[" + qualified + "] needs 'plugin = \"<name>\"'; known " + to_string(kind) +
                                        " plugins: " + join(catalog.names(kind)));
                return std::nullopt;
            }
            if (!name_node->is_string()) {
                problems.add(*name_node, "'" + qualified + ".plugin' must be a string, got a " + type_name(*name_node));
                return std::nullopt;
            }
        } else {
            problems.add(*node, "'" + qualified + "' must be a table with a 'plugin' key or a plugin name, got a " +
                                    type_name(*node));
            return std::nullopt;
        }
        name = *name_node->value<std::string>();
    }
    if (name.empty()) return std::nullopt;

    const std::string where = node ? location(node->source()) : std::string{};
    const PluginEntry* entry = catalog.find(kind, name);
    if (!entry) {
        try {
            catalog.get(kind, name, name_node ? location(name_node->source()) : where);
        } catch (const ConfigError& e) {
            problems.add(e.where(), e.message());
        }
        return std::nullopt;
    }

    PluginChoice choice{name, Properties(std::string(to_string(kind)) + " '" + name + "'"), where};
    if (table) {
        const auto accepted = param_names(entry->info);
        for (auto&& [param_key, value] : *table) {
            const std::string param(param_key.str());
            if (param == "plugin" || std::find(host_keys.begin(), host_keys.end(), param) != host_keys.end())
                continue;
            auto spec = std::find_if(entry->info.params.begin(), entry->info.params.end(),
                                     [&](const ParamSpec& s) { return s.name == param; });
            if (spec == entry->info.params.end()) {
                problems.add(location(param_key.source()),
                             "unknown parameter '" + qualified + "." + param + "' of " + describe(*entry) +
                                 did_you_mean(param, accepted) + "; accepted: " + join(accepted));
                continue;
            }
            std::string problem;
            auto converted = to_value(value, *spec, problem);
            if (!problem.empty() || !converted) {
                problems.add(value, "'" + qualified + "." + param + "': " + problem);
                continue;
            }
            if (auto bad = spec->check(*converted)) {
                problems.add(value, "'" + qualified + "." + param + "': " + *bad);
                continue;
            }
            choice.params.set(param, std::move(*converted), location(value.source()), true);
        }
    }
    for (const auto& name : fill_defaults(entry->info, choice.params)) {
        const auto& spec = *std::find_if(entry->info.params.begin(), entry->info.params.end(),
                                         [&](const ParamSpec& s) { return s.name == name; });
        problems.add(where, "[" + qualified + "] " + describe(*entry) + " needs parameter '" + name + "' (" +
                                to_string(spec.type) + ": " + spec.doc + ")");
    }
    return choice;
}

std::optional<PluginChoice> read_plugin(TableReader& parent, const std::string& key, PluginKind kind,
                                        const PluginCatalog& catalog, const std::string& fallback = {}) {
    return read_plugin_node(parent.node(key), parent.qualified(key), parent.problems(), kind, catalog, fallback);
}

// [[auxiliary_loss]] tables: a loss plugin and its weight β in
// L = (1 - sum of β) * main + sum of β * auxiliary.
std::vector<AuxiliaryLoss> read_auxiliary_losses(TableReader& top, const PluginCatalog& catalog) {
    std::vector<AuxiliaryLoss> out;
    const toml::node* node = top.node("auxiliary_loss");
    if (!node) return out;
    Problems& problems = top.problems();
    const toml::array* array = node->as_array();
    if (!array) {
        problems.add(*node, std::string("'auxiliary_loss' must be an array of tables ([[auxiliary_loss]] with plugin ") +
                                "and weight), got a " + type_name(*node));
        return out;
    }
    double total = 0;
    for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::node& item = *array->get(i);
        const std::string qualified = "auxiliary_loss[" + std::to_string(i) + "]";
        const toml::table* table = item.as_table();
        if (!table) {
            problems.add(item, "'" + qualified + "' must be a table with plugin and weight, got a " + type_name(item));
            continue;
        }
        TableReader r(*table, qualified, problems);
        const auto weight = r.real("weight", 0.0, 1.0);
        if (!weight) {
            if (!table->get("weight"))
                problems.add(item, "[[auxiliary_loss]] " + qualified + " needs 'weight' (its β in (0, 1))");
            continue;
        }
        total += *weight;
        if (auto choice = read_plugin_node(&item, qualified, problems, PluginKind::loss, catalog, {}, {"weight"}))
            out.push_back({std::move(*choice), *weight});
    }
    if (total >= 1.0)
        problems.add(*node, "the auxiliary loss weights sum to " + format_value(Value{total}) +
                                ", leaving the main loss no weight; their sum must be below 1");
    return out;
}

// How a sweep value reads in labels and folder names: a plugin table by its plugin name
// and parameters, anything else as TOML writes it.
std::string display(const toml::node& node) {
    if (auto s = node.value_exact<std::string>()) return *s;
    if (const toml::table* t = node.as_table()) {
        std::string plugin, rest;
        for (auto&& [key, value] : *t) {
            if (key.str() == "plugin") plugin = display(value);
            else rest += (rest.empty() ? "" : ",") + std::string(key.str()) + "=" + display(value);
        }
        return rest.empty() ? plugin : plugin + "(" + rest + ")";
    }
    std::ostringstream out;
    if (const toml::array* a = node.as_array()) {
        out << "[";
        for (std::size_t i = 0; i < a->size(); ++i) out << (i ? "," : "") << display(*a->get(i));
        out << "]";
        return out.str();
    }
    if (auto d = node.value_exact<double>()) out << *d;
    else if (auto i = node.value_exact<std::int64_t>()) out << *i;
    else if (auto b = node.value_exact<bool>()) out << (*b ? "true" : "false");
    else out << type_name(node);
    return out.str();
}

// [[phase]] tables: checked here; their `set` and `sweep` values are checked when the
// study runner builds each trial's manifest from them.
// What the fusion and losses declare they read (PluginInfo::needs) against the encoders
// the study has.
void check_needs(const Study& study, const PluginCatalog& catalog, Problems& problems) {
    if (study.encoders.empty()) return; // a trial without encoders fails on that first
    const bool text = study.encoders.count("text") > 0, image = study.encoders.count("image") > 0;
    auto check = [&](PluginKind kind, const PluginChoice& choice) {
        if (choice.plugin.empty() || !catalog.find(kind, choice.plugin)) return;
        try {
            catalog.check_needs(kind, choice.plugin, choice.where, text, image);
        } catch (const ConfigError& e) {
            problems.add(e.where(), e.message());
        }
    };
    check(PluginKind::fusion, study.fusion);
    check(PluginKind::loss, study.loss);
    for (const auto& aux : study.auxiliary_losses) check(PluginKind::loss, aux.choice);
}

// An ablation phase retrains on one modality: its text_fusion must read text alone and
// its image_fusion images alone, as their declarations (PluginInfo::needs) say.
void check_ablation_fusions(const std::vector<PhaseSpec>& phases, const PluginCatalog& catalog, Problems& problems) {
    for (const auto& phase : phases) {
        if (phase.kind != PhaseKind::ablation || !phase.retrain) continue;
        for (const auto& [key, fusion, modality] :
             {std::tuple{"text_fusion", phase.text_only_fusion, Modality::text},
              std::tuple{"image_fusion", phase.image_only_fusion, Modality::image}}) {
            const PluginEntry* entry = catalog.find(PluginKind::fusion, fusion);
            const std::string where = phase.where;
            if (!entry) {
                problems.add(where, "phase '" + phase.name + "': " + key + " = \"" + fusion + "\" is no fusion; " +
                                        "accepted: " + join(catalog.names(PluginKind::fusion)));
                continue;
            }
            const PluginNeeds& needs = entry->info.needs;
            const Modality other = modality == Modality::text ? Modality::image : Modality::text;
            if (!needs.reads(modality) || needs.reads(other))
                problems.add(where, "phase '" + phase.name + "': " + key + " = \"" + fusion + "\" must read " +
                                        to_string(modality) + " features alone (its declaration says it reads " +
                                        (needs.text && needs.image ? "both" : needs.text ? "text"
                                                                          : needs.image ? "image" : "whatever the study has") +
                                        "), so the ablation retrains on one modality");
        }
    }
}

std::vector<PhaseSpec> read_phases(TableReader& top) {
    std::vector<PhaseSpec> out;
    const toml::node* node = top.node("phase");
    if (!node) return out;
    Problems& problems = top.problems();
    const toml::array* array = node->as_array();
    if (!array || !array->is_array_of_tables()) {
        problems.add(*node, std::string("'phase' must be an array of tables ([[phase]] with name, kind, from, sweep, ...), "
                                        "got a ") + type_name(*node));
        return out;
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::table& table = *array->get(i)->as_table();
        const std::string qualified = "phase[" + std::to_string(i) + "]";
        TableReader r(table, qualified, problems);
        PhaseSpec phase;
        phase.index = i;
        phase.where = location(table.source());
        phase.name = r.string("name").value_or("");
        if (!table.get("name"))
            problems.add(table, "[[phase]] " + qualified + " needs 'name' (it names the phase's folder of trials)");
        else if (phase.name.empty() || phase.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                    "0123456789._-") != std::string::npos)
            problems.add(*table.get("name"), "phase name '" + phase.name + "' must be non-empty and use only letters, "
                                             "digits, '.', '_' and '-' (it names a folder)");
        for (const auto& earlier : out)
            if (!phase.name.empty() && earlier.name == phase.name)
                problems.add(*table.get("name"), "phase name '" + phase.name + "' is used twice (first at " +
                                                     earlier.where + ")");
        phase.kind = r.name<PhaseKind>("kind", phase_kind_names).value_or(phase.kind);
        if (auto from = r.string("from")) {
            std::vector<std::string> earlier_names;
            for (const auto& earlier : out) earlier_names.push_back(earlier.name);
            if (std::find(earlier_names.begin(), earlier_names.end(), *from) == earlier_names.end())
                problems.add(*table.get("from"), "'" + qualified + ".from' = \"" + *from + "\" is not an earlier phase" +
                                                     did_you_mean(*from, earlier_names) + "; earlier phases: " +
                                                     (earlier_names.empty() ? "none" : join(earlier_names)));
            for (const auto& earlier : out)
                if (earlier.name == *from && !hands_on_incumbent(earlier.kind))
                    problems.add(*table.get("from"), "'" + qualified + ".from' = \"" + *from + "\" is a phase of kind '" +
                                                         to_string(earlier.kind) + "', which has no incumbent of its "
                                                         "own to start from; name a train or augmentation phase");
            phase.from = *from;
        }
        if ((phase.kind == PhaseKind::augmentation || phase.kind == PhaseKind::ablation) && phase.from.empty())
            problems.add(table, "a phase of kind '" + std::string(to_string(phase.kind)) +
                                    "' works on an earlier phase's incumbent: set 'from'");
        phase.select = r.metric("select", metric_select).value_or(phase.select);
        if (const toml::node* seeds = r.node("seeds")) {
            const toml::array* list = seeds->as_array();
            bool ok = list && !list->empty();
            if (list)
                for (const toml::node& seed : *list) {
                    const auto value = seed.value_exact<std::int64_t>();
                    if (!value || *value < 0) ok = false;
                    else phase.seeds.push_back(static_cast<std::uint64_t>(*value));
                }
            if (!ok) problems.add(*seeds, "'" + qualified + ".seeds' must be a non-empty array of integers >= 0");
        }
        if (const toml::node* set = r.node("set")) {
            if (!set->is_table())
                problems.add(*set, "'" + qualified + ".set' must be a table of manifest keys (set.train.epochs = 5), got a " +
                                       type_name(*set));
            phase.has_set = true;
        }
        if (const toml::node* sweep = r.node("sweep")) {
            if (const toml::table* axes = sweep->as_table()) {
                for (auto&& [key, values] : *axes) {
                    SweepAxis axis{std::string(key.str()), {}};
                    const toml::array* list = values.as_array();
                    if (!list || list->empty()) {
                        problems.add(values, "'" + qualified + ".sweep." + axis.path + "' must be a non-empty array of "
                                                                                    "values to try");
                        continue;
                    }
                    for (const toml::node& value : *list) axis.values.push_back(display(value));
                    phase.sweep.push_back(std::move(axis));
                }
            } else {
                problems.add(*sweep, "'" + qualified + ".sweep' must be a table of path = [values], got a " + type_name(*sweep));
            }
        }
        phase.search = r.choice("search", {"grid", "random"}).value_or(phase.search);
        phase.n = r.integer("n", 1, 100'000).value_or(0);
        if (phase.search == "random" && phase.n == 0)
            problems.add(table, "search = \"random\" needs 'n', the number of configurations to draw");
        if (phase.search == "grid" && table.get("n"))
            problems.add(*table.get("n"), "'" + qualified + ".n' applies to search = \"random\" only");
        // Keys of one kind only: asked for only there, so elsewhere they are unknown keys.
        if (phase.kind == PhaseKind::augmentation) {
            phase.hard_threshold = r.real("hard_threshold", 0.0, 1.0).value_or(0.5);
            phase.hard_fraction = r.real("hard_fraction", 0.0, 1.0).value_or(0.0);
        }
        if (phase.kind == PhaseKind::ablation) {
            if (auto fills = r.strings("fills")) {
                for (const auto& fill : *fills)
                    if (fill != "zeros" && fill != "mean")
                        problems.add(*table.get("fills"), "'" + qualified + ".fills' holds \"" + fill +
                                                              "\"; accepted: \"zeros\", \"mean\"");
                phase.fills = *fills;
            }
            phase.retrain = r.boolean("retrain").value_or(true);
            phase.text_only_fusion = r.string("text_fusion").value_or(phase.text_only_fusion);
            phase.image_only_fusion = r.string("image_fusion").value_or(phase.image_only_fusion);
        }
        if (phase.kind == PhaseKind::clip) {
            if (auto clip = r.path("clip")) phase.clip = *clip;
            else if (!table.get("clip"))
                problems.add(table, "a phase of kind 'clip' needs clip = \"<folder>\", a Hugging Face CLIP model folder");
            phase.templates = r.strings("templates").value_or(std::vector<std::string>{});
        }
        r.finish();
        out.push_back(std::move(phase));
    }
    return out;
}

} // namespace

void merge_into(toml::table& base, toml::table&& top) {
    for (auto&& [key, node] : top) {
        toml::node* existing = base.get(key.str());
        if (existing && existing->is_table() && node.is_table())
            merge_into(*existing->as_table(), std::move(*node.as_table()));
        else
            base.insert_or_assign(key, std::move(node));
    }
}

ManifestDocument::Impl load_manifest_table(const fs::path& file) {
    Problems problems;
    Loader loader{problems, {}, {}};
    auto root = loader.load(file, {});
    problems.throw_if_any();
    return {file, std::move(loader.includes), std::move(*root)};
}

ManifestDocument ManifestDocument::load(const fs::path& file) { return ManifestDocument(load_manifest_table(file)); }

ManifestDocument::ManifestDocument(Impl impl) : impl_(std::make_shared<Impl>(std::move(impl))) {}

const fs::path& ManifestDocument::file() const { return impl_->file; }

std::vector<fs::path> ManifestDocument::plugin_paths() const {
    Problems problems;
    TableReader reader(impl_->root, {}, problems);
    auto paths = reader.paths("plugin_paths");
    problems.throw_if_any();
    return paths.value_or(std::vector<fs::path>{});
}

Study ManifestDocument::to_study(const PluginCatalog& catalog) const {
    Problems problems;
    TableReader top(impl_->root, {}, problems);
    Study study;
    study.file = impl_->file;
    study.includes = impl_->includes;

    if (auto version = top.integer("schema_version", 0, 1'000'000)) {
        study.schema_version = *version;
        if (*version != kManifestSchemaVersion)
            problems.add(*impl_->root.get("schema_version"),
                         "schema_version " + std::to_string(*version) + " is not supported; this msa reads " +
                             "schema_version " + std::to_string(kManifestSchemaVersion));
    } else if (!impl_->root.get("schema_version")) {
        problems.add(impl_->file.string(), "missing 'schema_version = " + std::to_string(kManifestSchemaVersion) +
                                               "' at the top of the manifest");
    }
    study.name = top.string("name").value_or(impl_->file.stem().string());
    if (study.name.empty() ||
        study.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
            std::string::npos)
        problems.add(impl_->root.get("name") ? location(impl_->root.get("name")->source()) : impl_->file.string(),
                     "study name '" + study.name + "' must be non-empty and use only letters, digits, '.', '_' "
                     "and '-' (it names the run folder)");
    study.description = top.string("description").value_or("");
    study.seed = static_cast<std::uint64_t>(top.integer("seed", 0, INT64_MAX).value_or(42));
    study.output = top.path("output").value_or(fs::path("runs"));
    study.plugin_paths = top.paths("plugin_paths").value_or(std::vector<fs::path>{});

    if (const toml::table* dataset = top.table("dataset")) {
        TableReader r(*dataset, "dataset", problems);
        DatasetConfig& d = study.dataset;
        d.format = r.choice("format", {"guid-tag", "mvsa", "jsonl"}).value_or(d.format);
        if (auto root = r.path("root")) {
            d.root = *root;
            std::error_code ec;
            if (!fs::exists(d.root, ec))
                problems.add(*dataset->get("root"), "dataset root not found: " + d.root.string());
        } else if (!dataset->get("root")) {
            problems.add(*dataset, "[dataset] needs 'root', the folder that holds the data");
        }
        d.encoding = r.string("encoding").value_or(d.encoding);
        d.on_error = r.choice("on_error", {"fail", "skip"}).value_or(d.on_error);
        if (auto labels = r.strings("labels")) {
            std::set<std::string> unique(labels->begin(), labels->end());
            if (labels->size() < 2 || unique.size() != labels->size())
                problems.add(*dataset->get("labels"), "'dataset.labels' needs at least two distinct labels");
            else
                d.labels = *labels;
        }
        r.finish();
    } else if (!impl_->root.get("dataset")) {
        problems.add(impl_->file.string(), "missing [dataset] table (format, root)");
    }

    if (const toml::table* split = top.table("split")) {
        TableReader r(*split, "split", problems);
        SplitConfig& c = study.split;
        c.valid = r.real("valid", 0.0, 0.9).value_or(c.valid);
        c.test = r.real("test", 0.0, 0.9).value_or(c.test);
        c.folds = r.integer("folds", 0, 100).value_or(c.folds);
        c.fold = r.integer("fold", 0, 99).value_or(c.fold);
        if (c.folds == 1) problems.add(*split->get("folds"), "'split.folds' must be 0 (no cross-validation) or at least 2");
        if (c.folds > 1 && c.fold >= c.folds)
            problems.add(*split->get("fold"), "'split.fold' = " + std::to_string(c.fold) + " must be below 'split.folds' = " +
                                                  std::to_string(c.folds));
        if (c.folds == 0 && c.valid + c.test >= 1.0)
            problems.add(*split, "'split.valid' + 'split.test' must leave some samples for training");
        const auto train = r.path("train_file"), valid = r.path("valid_file"), test = r.path("test_file");
        const int given = int(bool(train)) + int(bool(valid)) + int(bool(test));
        if (given != 0 && given != 3)
            problems.add(*split, "[split] needs all of train_file, valid_file and test_file, or none of them");
        for (const auto& [key, value] : {std::pair{"train_file", train}, {"valid_file", valid}, {"test_file", test}})
            if (value && !fs::is_regular_file(*value))
                problems.add(*split->get(key), std::string("split file not found: ") + value->string());
        if (given == 3) {
            c.train_file = *train;
            c.valid_file = *valid;
            c.test_file = *test;
        }
        r.finish();
    }

    if (const toml::table* store = top.table("store")) {
        TableReader r(*store, "store", problems);
        StoreConfig& c = study.store;
        c.path = r.path("path").value_or(c.path);
        c.dtype = r.choice("dtype", {"float32", "float16"}).value_or(c.dtype);
        c.compression = r.integer("compression", 0, 9).value_or(c.compression);
        r.finish();
    }

    if (const toml::table* encoders = top.table("encoders")) {
        TableReader r(*encoders, "encoders", problems);
        for (const char* modality : {"text", "image"})
            if (auto choice = read_plugin(r, modality, PluginKind::encoder, catalog))
                study.encoders.emplace(modality, std::move(*choice));
        r.finish();
    }
    if (auto fusion = read_plugin(top, "fusion", PluginKind::fusion, catalog, builtin_defaults::fusion)) study.fusion = std::move(*fusion);
    if (auto loss = read_plugin(top, "loss", PluginKind::loss, catalog, builtin_defaults::loss)) study.loss = std::move(*loss);
    if (auto sampler = read_plugin(top, "sampler", PluginKind::sampler, catalog, builtin_defaults::sampler)) study.sampler = std::move(*sampler);
    study.augmenter = read_plugin(top, "augmenter", PluginKind::augmenter, catalog);
    study.auxiliary_losses = read_auxiliary_losses(top, catalog);
    check_needs(study, catalog, problems);

    if (const toml::table* train = top.table("train")) {
        TableReader r(*train, "train", problems);
        TrainConfig& t = study.train;
        t.epochs = r.integer("epochs", 1, 100'000).value_or(t.epochs);
        t.batch_size = r.integer("batch_size", 1, 1'000'000).value_or(t.batch_size);
        t.learning_rate = r.real("learning_rate", 0.0, 10.0).value_or(t.learning_rate);
        t.weight_decay = r.real("weight_decay", 0.0, 10.0).value_or(t.weight_decay);
        t.encoder_learning_rate = r.real("encoder_learning_rate", 0.0, 10.0).value_or(t.encoder_learning_rate);
        t.device = r.choice("device", {"cpu", "cuda"}).value_or(t.device);
        t.schedule = r.name<Schedule>("schedule", schedule_names).value_or(t.schedule);
        t.warmup = r.real("warmup", 0.0, 0.9).value_or(t.warmup);
        t.grad_clip = r.real("grad_clip", 0.0, 1e6).value_or(t.grad_clip);
        t.patience = r.integer("patience", 0, 100'000).value_or(t.patience);
        t.monitor = r.metric("monitor", metric_monitor).value_or(t.monitor);
        t.restore_best = r.boolean("restore_best").value_or(t.restore_best);
        t.threads = r.integer("threads", 0, 1024).value_or(t.threads);
        r.finish();
    }
    if (const toml::table* augmentation = top.table("augmentation")) {
        TableReader r(*augmentation, "augmentation", problems);
        AugmentationConfig a;
        if (auto file = r.path("hard_samples")) {
            a.hard_samples = *file; // read when the trial runs: an earlier phase may still write it
        } else if (!augmentation->get("hard_samples")) {
            problems.add(*augmentation, "[augmentation] needs 'hard_samples', the predictions.csv of a trial");
        }
        a.hard_threshold = r.real("hard_threshold", 0.0, 1.0).value_or(a.hard_threshold);
        a.hard_fraction = r.real("hard_fraction", 0.0, 1.0).value_or(a.hard_fraction);
        r.finish();
        study.augmentation = a;
        if (!study.augmenter) problems.add(*augmentation, "[augmentation] needs an [augmenter] that makes the copies");
    }
    if (const toml::table* evaluate = top.table("evaluate")) {
        TableReader r(*evaluate, "evaluate", problems);
        EvaluateConfig e;
        if (auto model = r.path("model")) {
            e.model = *model;
            if (!fs::is_regular_file(e.model / "model.pt") || !fs::is_regular_file(e.model / "config.toml"))
                problems.add(*evaluate->get("model"), "[evaluate] model: " + model->string() +
                                                          " is not a finished trial folder (config.toml + model.pt)");
        } else if (!evaluate->get("model")) {
            problems.add(*evaluate, "[evaluate] needs 'model', a trial folder");
        }
        e.keep = r.choice("keep", {"both", "text", "image"}).value_or(e.keep);
        e.fill = r.choice("fill", {"zeros", "mean"}).value_or(e.fill);
        r.finish();
        study.evaluate = e;
    }
    if (const toml::table* clip = top.table("clip")) {
        TableReader r(*clip, "clip", problems);
        ClipConfig c;
        c.where = location(clip->source());
        if (auto checkpoint = r.path("checkpoint")) c.checkpoint = *checkpoint;
        else if (!clip->get("checkpoint")) problems.add(*clip, "[clip] needs 'checkpoint', a CLIP model folder");
        c.method = r.choice("method", {"linear-probe", "zero-shot"}).value_or(c.method);
        if (auto templates = r.strings("templates")) {
            if (templates->empty() || std::any_of(templates->begin(), templates->end(), [](const std::string& t) {
                    return t.find("{}") == std::string::npos;
                }))
                problems.add(*clip->get("templates"), "'clip.templates' needs at least one template, each with {} "
                                                      "where the label goes");
            else
                c.templates = *templates;
        }
        if (auto l2 = r.reals("l2", 0.0, 1e6)) {
            if (l2->empty()) problems.add(*clip->get("l2"), "'clip.l2' needs at least one L2 strength");
            else c.l2 = *l2;
        }
        if (auto modalities = r.strings("modalities")) {
            const std::set<std::string> unique(modalities->begin(), modalities->end());
            if (modalities->empty() || unique.size() != modalities->size() ||
                std::any_of(modalities->begin(), modalities->end(),
                            [](const std::string& m) { return m != "image" && m != "text"; }))
                problems.add(*clip->get("modalities"), "'clip.modalities' must list \"image\", \"text\" or both, "
                                                       "each once (the embeddings the linear probe reads)");
            else
                c.modalities = *modalities;
        }
        r.finish();
        study.clip = c;
    }
    study.phases = read_phases(top);
    check_ablation_fusions(study.phases, catalog, problems);
    top.finish();
    problems.throw_if_any();
    return study;
}

} // namespace msa

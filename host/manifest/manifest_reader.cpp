// TOML++ into a typed Study: includes merged, then each table of the study read key by
// key (table_reader.hpp; the [[phase]] tables in phase_reader.hpp), and plugin
// parameters checked against each plugin's declaration.
#include "manifest/manifest_reader.hpp"

#include "manifest/builtin_defaults.hpp"
#include "manifest/manifest_table.hpp"
#include "manifest/phase_reader.hpp"
#include "manifest/table_reader.hpp"
#include "plugin/plugin_catalog.hpp"
#include "util/suggest.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>

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

// The plugin a plugin key names, by its string or its table's 'plugin' key; `table` is
// that table, when there is one. Nullopt after a problem.
struct NamedPlugin {
    std::string name;
    const toml::node* name_node = nullptr;
    const toml::table* table = nullptr;
};

std::optional<NamedPlugin> plugin_named_by(const toml::node& node, const std::string& qualified, Problems& problems,
                                           PluginKind kind, const PluginCatalog& catalog) {
    NamedPlugin named;
    if (node.is_string()) {
        named.name_node = &node;
    } else if ((named.table = node.as_table())) {
        named.name_node = named.table->get("plugin");
        if (!named.name_node) {
            problems.add(node, "[" + qualified + "] needs 'plugin = \"<name>\"'; known " + to_string(kind) +
                                   " plugins: " + join(catalog.names(kind)));
            return std::nullopt;
        }
        if (!named.name_node->is_string()) {
            problems.add(*named.name_node,
                         "'" + qualified + ".plugin' must be a string, got a " + type_name(*named.name_node));
            return std::nullopt;
        }
    } else {
        problems.add(node, "'" + qualified + "' must be a table with a 'plugin' key or a plugin name, got a " +
                               type_name(node));
        return std::nullopt;
    }
    named.name = *named.name_node->value<std::string>();
    return named;
}

// The parameters a plugin table sets, each checked against the plugin's declaration.
void read_plugin_params(const toml::table& table, const std::string& qualified, const PluginEntry& entry,
                        const std::vector<std::string>& host_keys, Properties& params, Problems& problems) {
    const auto accepted = param_names(entry.info);
    for (auto&& [param_key, value] : table) {
        const std::string param(param_key.str());
        if (param == "plugin" || std::find(host_keys.begin(), host_keys.end(), param) != host_keys.end()) continue;
        auto spec = std::find_if(entry.info.params.begin(), entry.info.params.end(),
                                 [&](const ParamSpec& s) { return s.name == param; });
        if (spec == entry.info.params.end()) {
            problems.add(location(param_key.source()), "unknown parameter '" + qualified + "." + param + "' of " +
                                                           describe(entry) + did_you_mean(param, accepted) +
                                                           "; accepted: " + join(accepted));
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
        params.set(param, std::move(*converted), location(value.source()), true);
    }
}

// The declared defaults of the parameters the table left out; one without a default is a problem.
void fill_declared_defaults(const PluginEntry& entry, Properties& params, const std::string& qualified,
                            const std::string& where, Problems& problems) {
    for (const auto& name : fill_defaults(entry.info, params)) {
        const auto& spec = *std::find_if(entry.info.params.begin(), entry.info.params.end(),
                                         [&](const ParamSpec& s) { return s.name == name; });
        problems.add(where, "[" + qualified + "] " + describe(entry) + " needs parameter '" + name + "' (" +
                                to_string(spec.type) + ": " + spec.doc + ")");
    }
}

// A plugin table such as [fusion] (or the shorthand `fusion = "gated"`), checked
// against the plugin's declaration; `node` is null when the key is absent, and then
// `fallback` is the plugin used. `host_keys` are keys of the table the host reads
// itself (an auxiliary loss's weight), not the plugin's parameters.
std::optional<PluginChoice> read_plugin_node(const toml::node* node, const std::string& qualified, Problems& problems,
                                             PluginKind kind, const PluginCatalog& catalog,
                                             const std::string& fallback = {},
                                             const std::vector<std::string>& host_keys = {}) {
    NamedPlugin named{fallback};
    if (node) {
        auto stated = plugin_named_by(*node, qualified, problems, kind, catalog);
        if (!stated) return std::nullopt;
        named = *stated;
    }
    if (named.name.empty()) return std::nullopt;

    const std::string where = node ? location(node->source()) : std::string{};
    const PluginEntry* entry = catalog.find(kind, named.name);
    if (!entry) {
        try {
            catalog.get(kind, named.name, named.name_node ? location(named.name_node->source()) : where);
        } catch (const ConfigError& e) {
            problems.add(e.where(), e.message());
        }
        return std::nullopt;
    }

    PluginChoice choice{named.name, Properties(std::string(to_string(kind)) + " '" + named.name + "'"), where};
    if (named.table) read_plugin_params(*named.table, qualified, *entry, host_keys, choice.params, problems);
    fill_declared_defaults(*entry, choice.params, qualified, where, problems);
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

// What the fusion and losses declare they read (PluginInfo::needs) against the encoders
// the study has.
void check_needs(const Study& study, const PluginCatalog& catalog, Problems& problems) {
    if (study.encoders.empty() && !study.prompt) return; // a trial without features fails on that first
    // A prompt model's text features stand for the text encoder's.
    const bool text = study.encoders.count("text") > 0 || study.prompt, image = study.encoders.count("image") > 0;
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

// schema_version, which every manifest states: the one this msa reads.
std::optional<std::int64_t> read_schema_version(TableReader& top, const fs::path& file) {
    auto version = top.integer("schema_version", 0, 1'000'000);
    if (version && *version != kManifestSchemaVersion)
        top.problems().add(*top.raw().get("schema_version"),
                           "schema_version " + std::to_string(*version) + " is not supported; this msa reads " +
                               "schema_version " + std::to_string(kManifestSchemaVersion));
    if (!version && !top.raw().get("schema_version"))
        top.problems().add(file.string(), "missing 'schema_version = " + std::to_string(kManifestSchemaVersion) +
                                              "' at the top of the manifest");
    return version;
}

// The study's name, by default the manifest's file name: it names the run folder.
std::string read_study_name(TableReader& top, const fs::path& file) {
    std::string name = top.string("name").value_or(file.stem().string());
    const toml::node* node = top.raw().get("name");
    if (name.empty() ||
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != std::string::npos)
        top.problems().add(node ? location(node->source()) : file.string(),
                           "study name '" + name + "' must be non-empty and use only letters, digits, '.', '_' "
                           "and '-' (it names the run folder)");
    return name;
}

// format, root, encoding and on_error of a dataset table ([dataset], [[distill.pool]]).
DatasetConfig read_dataset_source(TableReader& r, const toml::table& table, const std::string& name) {
    DatasetConfig d;
    d.format = r.choice("format", {"guid-tag", "mvsa", "jsonl"}).value_or(d.format);
    if (auto root = r.path("root")) {
        d.root = *root;
        std::error_code ec;
        if (!fs::exists(d.root, ec)) r.problems().add(*table.get("root"), name + " root not found: " + d.root.string());
    } else if (!table.get("root")) {
        r.problems().add(table, "[" + name + "] needs 'root', the folder that holds the data");
    }
    d.encoding = r.string("encoding").value_or(d.encoding);
    d.on_error = r.choice("on_error", {"fail", "skip"}).value_or(d.on_error);
    return d;
}

DatasetConfig read_dataset(TableReader& top, const fs::path& file) {
    Problems& problems = top.problems();
    const toml::table* dataset = top.table("dataset");
    if (!dataset) {
        if (!top.raw().get("dataset")) problems.add(file.string(), "missing [dataset] table (format, root)");
        return {};
    }
    TableReader r(*dataset, "dataset", problems);
    DatasetConfig d = read_dataset_source(r, *dataset, "dataset");
    if (auto labels = r.strings("labels")) {
        std::set<std::string> unique(labels->begin(), labels->end());
        if (labels->size() < 2 || unique.size() != labels->size())
            problems.add(*dataset->get("labels"), "'dataset.labels' needs at least two distinct labels");
        else
            d.labels = *labels;
    }
    r.finish();
    return d;
}

SplitConfig read_split(TableReader& top) {
    SplitConfig c;
    const toml::table* split = top.table("split");
    if (!split) return c;
    Problems& problems = top.problems();
    TableReader r(*split, "split", problems);
    c.valid = r.real("valid", 0.0, 0.9).value_or(c.valid);
    c.test = r.real("test", 0.0, 0.9).value_or(c.test);
    c.folds = r.integer("folds", 0, 100).value_or(c.folds);
    c.fold = r.integer("fold", 0, 99).value_or(c.fold);
    if (c.folds == 1) problems.add(*split->get("folds"), "'split.folds' must be 0 (no cross-validation) or at least 2");
    if (c.folds > 1 && c.fold >= c.folds)
        problems.add(*split->get("fold"), "'split.fold' = " + std::to_string(c.fold) + " must be below 'split.folds' = " +
                                              std::to_string(c.folds));
    c.valid_folds = r.integer("valid_folds", 0, 100).value_or(c.valid_folds);
    c.valid_fold = r.integer("valid_fold", 0, 99).value_or(c.valid_fold);
    if (c.valid_folds == 1)
        problems.add(*split->get("valid_folds"), "'split.valid_folds' must be 0 (one validation split) or at least 2");
    if (c.valid_folds > 1 && c.valid_fold >= c.valid_folds)
        problems.add(*split->get("valid_fold"), "'split.valid_fold' = " + std::to_string(c.valid_fold) +
                                                    " must be below 'split.valid_folds' = " + std::to_string(c.valid_folds));
    if (c.valid_folds > 0 && c.folds > 0)
        problems.add(*split->get("valid_folds"), "'split.valid_folds' (validation folds beside one test split) and "
                                                 "'split.folds' (rotating test folds) do not combine: keep one");
    if (c.folds == 0 && c.valid + c.test >= 1.0)
        problems.add(*split, "'split.valid' + 'split.test' must leave some samples for training");
    const auto train = r.path("train_file"), valid = r.path("valid_file"), test = r.path("test_file");
    const int given = int(bool(train)) + int(bool(valid)) + int(bool(test));
    if (given != 0 && given != 3)
        problems.add(*split, "[split] needs all of train_file, valid_file and test_file, or none of them");
    for (const auto& [key, value] : {std::pair{"train_file", train}, {"valid_file", valid}, {"test_file", test}})
        if (value && !fs::is_regular_file(*value))
            problems.add(*split->get(key), std::string("split file not found: ") + value->string());
    if (given == 3 && c.valid_folds > 0)
        problems.add(*split->get("valid_folds"), "'split.valid_folds' divides the samples itself; given split files "
                                                 "fix the validation rows: keep one");
    if (given == 3) {
        c.train_file = *train;
        c.valid_file = *valid;
        c.test_file = *test;
    }
    if (const auto test_seed = r.integer("test_seed", 0, INT64_MAX)) {
        if (given != 0)
            problems.add(*split->get("test_seed"),
                         "'split.test_seed' draws the test split, and the given test_file already is it: set one of "
                         "the two");
        else
            c.test_seed = static_cast<std::uint64_t>(*test_seed);
    }
    r.finish();
    return c;
}

StoreConfig read_store(TableReader& top) {
    StoreConfig c;
    const toml::table* store = top.table("store");
    if (!store) return c;
    TableReader r(*store, "store", top.problems());
    c.path = r.path("path").value_or(c.path);
    c.dtype = r.choice("dtype", {"float32", "float16"}).value_or(c.dtype);
    c.compression = r.integer("compression", 0, 9).value_or(c.compression);
    r.finish();
    return c;
}

std::map<std::string, PluginChoice> read_encoders(TableReader& top, const PluginCatalog& catalog) {
    std::map<std::string, PluginChoice> out;
    const toml::table* encoders = top.table("encoders");
    if (!encoders) return out;
    TableReader r(*encoders, "encoders", top.problems());
    for (const char* modality : {"text", "image"})
        if (auto choice = read_plugin(r, modality, PluginKind::encoder, catalog)) out.emplace(modality, std::move(*choice));
    r.finish();
    return out;
}

// The fusion, loss and sampler (the built-in ones when absent), the augmenter and the
// auxiliary losses.
void read_plugin_choices(TableReader& top, const PluginCatalog& catalog, Study& study) {
    if (auto fusion = read_plugin(top, "fusion", PluginKind::fusion, catalog, builtin_defaults::fusion)) study.fusion = std::move(*fusion);
    if (auto loss = read_plugin(top, "loss", PluginKind::loss, catalog, builtin_defaults::loss)) study.loss = std::move(*loss);
    if (auto sampler = read_plugin(top, "sampler", PluginKind::sampler, catalog, builtin_defaults::sampler)) study.sampler = std::move(*sampler);
    study.augmenter = read_plugin(top, "augmenter", PluginKind::augmenter, catalog);
    study.prompt = read_plugin(top, "prompt", PluginKind::prompt, catalog);
    study.auxiliary_losses = read_auxiliary_losses(top, catalog);
}

TrainConfig read_train(TableReader& top) {
    TrainConfig t;
    const toml::table* train = top.table("train");
    if (!train) return t;
    TableReader r(*train, "train", top.problems());
    t.epochs = r.integer("epochs", 1, 100'000).value_or(t.epochs);
    t.batch_size = r.integer("batch_size", 1, 1'000'000).value_or(t.batch_size);
    t.learning_rate = r.real("learning_rate", 0.0, 10.0).value_or(t.learning_rate);
    t.weight_decay = r.real("weight_decay", 0.0, 10.0).value_or(t.weight_decay);
    t.encoder_learning_rate = r.real("encoder_learning_rate", 0.0, 10.0).value_or(t.encoder_learning_rate);
    t.layer_decay = r.real("layer_decay", 1e-6, 1.0).value_or(t.layer_decay);
    if (auto device = r.choice("device", {"cpu", "cuda"})) {
        t.device = *device;
        t.device_given = true;
    }
    t.schedule = r.name<Schedule>("schedule", schedule_names).value_or(t.schedule);
    t.warmup = r.real("warmup", 0.0, 0.9).value_or(t.warmup);
    t.grad_clip = r.real("grad_clip", 0.0, 1e6).value_or(t.grad_clip);
    t.patience = r.integer("patience", 0, 100'000).value_or(t.patience);
    t.monitor = r.metric("monitor", metric_monitor).value_or(t.monitor);
    t.restore_best = r.boolean("restore_best").value_or(t.restore_best);
    t.bucket_by_length = r.boolean("bucket_by_length").value_or(t.bucket_by_length);
    t.threads = r.integer("threads", 0, 1024).value_or(t.threads);
    if (auto standardize = r.boolean("standardize")) {
        t.standardize = *standardize;
        t.standardize_given = true;
    }
    t.solver = r.name<Solver>("solver", solver_names).value_or(t.solver);
    if (auto bias = r.choice("class_bias", {"none", "weighted_f1", "macro_f1", "accuracy"}); bias && *bias != "none")
        t.class_bias = parse_metric(*bias, metric_select);
    if (auto reuse = r.path("reuse_model")) t.reuse_model = *reuse;
    if (auto precision = r.choice("precision", {"auto", "float32", "bfloat16"})) {
        t.precision = *precision;
        t.precision_given = true;
    }
    if (auto l2 = r.reals("l2", 0.0, 1e6)) {
        if (l2->empty()) r.problems().add(*train->get("l2"), "'train.l2' needs at least one L2 strength");
        else t.l2 = *l2;
    }
    r.finish();
    return t;
}

std::optional<AugmentationConfig> read_augmentation(TableReader& top, bool has_augmenter) {
    const toml::table* augmentation = top.table("augmentation");
    if (!augmentation) return std::nullopt;
    Problems& problems = top.problems();
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
    if (!has_augmenter) problems.add(*augmentation, "[augmentation] needs an [augmenter] that makes the copies");
    return a;
}

std::optional<EvaluateConfig> read_evaluate(TableReader& top) {
    const toml::table* evaluate = top.table("evaluate");
    if (!evaluate) return std::nullopt;
    Problems& problems = top.problems();
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
    return e;
}

std::optional<FewShotConfig> read_few_shot(TableReader& top) {
    const toml::table* few_shot = top.table("few_shot");
    if (!few_shot) return std::nullopt;
    TableReader r(*few_shot, "few_shot", top.problems());
    FewShotConfig f;
    f.where = location(few_shot->source());
    if (auto k = r.integer("k", 0, 1'000'000)) f.k = *k; // 0: zero-shot
    else if (!few_shot->get("k")) top.problems().add(*few_shot, "[few_shot] needs 'k', the training samples per class");
    r.finish();
    return f;
}

std::optional<ContrastiveConfig> read_contrastive(TableReader& top) {
    const toml::table* contrastive = top.table("contrastive");
    if (!contrastive) return std::nullopt;
    TableReader r(*contrastive, "contrastive", top.problems());
    ContrastiveConfig c;
    c.where = location(contrastive->source());
    c.pairs_per_post = r.integer("pairs_per_post", 2, 10'000).value_or(c.pairs_per_post);
    c.epochs = r.integer("epochs", 1, 1'000).value_or(c.epochs);
    c.batch_size = r.integer("batch_size", 1, 100'000).value_or(c.batch_size);
    c.learning_rate = r.real("learning_rate", 0.0, 10.0).value_or(c.learning_rate);
    c.freeze = r.boolean("freeze").value_or(c.freeze);
    r.finish();
    return c;
}

std::optional<DistillConfig> read_distill(TableReader& top, const std::vector<std::string>& labels) {
    const toml::table* distill = top.table("distill");
    if (!distill) return std::nullopt;
    TableReader r(*distill, "distill", top.problems());
    Problems& problems = top.problems();
    DistillConfig d;
    d.where = location(distill->source());
    if (auto teacher = r.path("teacher")) d.teacher = *teacher;
    else if (!distill->get("teacher"))
        problems.add(*distill, "[distill] needs 'teacher', a finished trial folder (config.toml + model.pt) whose "
                               "model labels the pool; a distill phase sets it to its `from` incumbent's");
    d.threshold = r.real("threshold", 0.0, 1.0).value_or(d.threshold);
    if (const toml::node* node = r.node("thresholds")) {
        const toml::table* table = node->as_table();
        if (!table) problems.add(*node, "'distill.thresholds' must be a table of label = threshold in [0, 1]");
        else
            for (const auto& [key, value] : *table) {
                const std::string label(key.str());
                const auto number = value.value<double>();
                if (std::find(labels.begin(), labels.end(), label) == labels.end())
                    problems.add(value, "'distill.thresholds." + label + "': '" + label + "' is not a label of this "
                                        "study; labels: " + join(labels));
                else if (!number || *number < 0 || *number > 1)
                    problems.add(value, "'distill.thresholds." + label + "' must be a number in [0, 1]");
                else
                    d.thresholds[label] = *number;
            }
    }
    d.targets = r.choice("targets", {"hard", "soft"}).value_or(d.targets);
    d.temperature = r.real("temperature", 0.01, 100.0).value_or(d.temperature);
    d.gold_weight = r.real("gold_weight", 0.0, 100.0).value_or(d.gold_weight);
    d.rounds = r.integer("rounds", 1, 100).value_or(d.rounds);
    d.unlabelled = r.boolean("unlabelled").value_or(d.unlabelled);
    if (const toml::node* node = r.node("pool")) {
        const toml::array* array = node->as_array();
        if (!array || !array->is_array_of_tables())
            problems.add(*node, "'distill.pool' must be an array of tables ([[distill.pool]] with format, root)");
        else
            for (std::size_t i = 0; i < array->size(); ++i) {
                const toml::table& table = *array->get(i)->as_table();
                TableReader pool(table, "distill.pool[" + std::to_string(i) + "]", problems);
                d.pools.push_back(read_dataset_source(pool, table, "distill.pool"));
                pool.finish();
            }
    }
    if (!d.unlabelled && d.pools.empty())
        problems.add(*distill, "[distill] has no pool: unlabelled = false and no [[distill.pool]]; the teacher needs "
                               "posts to label");
    r.finish();
    return d;
}

ExecutorConfig read_executor(TableReader& top) {
    ExecutorConfig e;
    const toml::table* executor = top.table("executor");
    if (!executor) return e;
    TableReader r(*executor, "executor", top.problems());
    e.where = location(executor->source());
    e.kind = r.choice("kind", {"local", "slurm"}).value_or(e.kind);
    e.partition = r.string("partition").value_or("");
    e.account = r.string("account").value_or("");
    e.qos = r.string("qos").value_or("");
    // Values sbatch would refuse are named here, with their line, rather than at submission.
    const auto matching = [&](const char* key, const std::regex& form, const std::string& accepted) {
        std::string value = r.string(key).value_or("");
        if (!value.empty() && !std::regex_match(value, form)) {
            top.problems().add(*executor->get(key), std::string("'executor.") + key + "' is \"" + value + "\"; " + accepted);
            value.clear();
        }
        return value;
    };
    e.time = matching("time", std::regex(R"((\d+(:\d+){0,2})|(\d+-\d+(:\d+){0,2})|infinite|unlimited)"),
                      "Slurm takes minutes, minutes:seconds, hours:minutes:seconds, days-hours, "
                      "days-hours:minutes or days-hours:minutes:seconds (e.g. \"30\", \"02:00:00\", \"1-12\")");
    e.cpus_per_trial = r.integer("cpus_per_trial", 1, 4096).value_or(e.cpus_per_trial);
    e.mem = matching("mem", std::regex(R"(\d+[KMGT]?)"), "Slurm takes a size in megabytes or with a unit "
                                                          "K, M, G or T (e.g. \"8G\", \"16000\")");
    e.gres = matching("gres", std::regex(R"([A-Za-z0-9_]+(:[A-Za-z0-9_.-]+)*(,[A-Za-z0-9_]+(:[A-Za-z0-9_.-]+)*)*)"),
                      "Slurm takes name[:type]:count, comma-separated (e.g. \"gpu:1\", \"gpu:a100:2\")");
    e.max_parallel = r.integer("max_parallel", 0, 1'000'000).value_or(e.max_parallel);
    e.setup = r.strings("setup").value_or(std::vector<std::string>{});
    e.extra = r.strings("extra").value_or(std::vector<std::string>{});
    // msa sets these itself (or through the keys above): another value would break the array.
    static const std::vector<std::string> owned{"array", "cpus-per-task", "output", "error", "job-name", "chdir",
                                                "partition", "account", "qos", "time", "mem", "gres", "parsable"};
    for (const auto& option : e.extra) {
        std::string name = option.substr(0, option.find_first_of("= "));
        if (name.rfind("--", 0) != 0) {
            top.problems().add(*executor->get("extra"), "'executor.extra' holds \"" + option + "\": each entry is one "
                                                      "sbatch option written as --name=value (e.g. \"--constraint=avx512\")");
            continue;
        }
        name = name.substr(2);
        if (std::find(owned.begin(), owned.end(), name) != owned.end())
            top.problems().add(*executor->get("extra"),
                               "'executor.extra' sets --" + name + ", which msa sets itself" +
                                   (name == "partition" || name == "account" || name == "qos" || name == "time" ||
                                            name == "mem" || name == "gres"
                                        ? std::string("; use executor.") + name + " instead"
                                        : std::string(" for the job array")));
    }
    r.finish();
    return e;
}

std::optional<ZeroShotConfig> read_zero_shot(TableReader& top) {
    const toml::table* zero_shot = top.table("zero_shot");
    if (!zero_shot) return std::nullopt;
    TableReader r(*zero_shot, "zero_shot", top.problems());
    ZeroShotConfig z;
    z.where = location(zero_shot->source());
    if (auto descriptions = r.string_lists("descriptions")) z.descriptions = *descriptions;
    else if (!zero_shot->get("descriptions"))
        top.problems().add(*zero_shot, "[zero_shot] needs 'descriptions', a table of each label's descriptions");
    r.finish();
    return z;
}

std::optional<ClipConfig> read_clip(TableReader& top) {
    const toml::table* clip = top.table("clip");
    if (!clip) return std::nullopt;
    Problems& problems = top.problems();
    TableReader r(*clip, "clip", problems);
    ClipConfig c;
    c.where = location(clip->source());
    if (auto checkpoint = r.path("checkpoint")) c.checkpoint = *checkpoint;
    else if (!clip->get("checkpoint")) problems.add(*clip, "[clip] needs 'checkpoint', a CLIP model folder");
    c.method = r.choice("method", {"linear-probe", "zero-shot"}).value_or(c.method);
    c.dtype = r.choice("dtype", {"auto", "float32", "bfloat16"}).value_or(c.dtype);
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
    return c;
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

    // Read in this order: it is the order of the problems, and of the keys that an
    // unknown top-level key is told to be none of.
    if (auto version = read_schema_version(top, impl_->file)) study.schema_version = *version;
    study.name = read_study_name(top, impl_->file);
    study.description = top.string("description").value_or("");
    study.seed = static_cast<std::uint64_t>(top.integer("seed", 0, INT64_MAX).value_or(42));
    study.output = top.path("output").value_or(fs::path("runs"));
    study.plugin_paths = top.paths("plugin_paths").value_or(std::vector<fs::path>{});
    study.dataset = read_dataset(top, impl_->file);
    study.split = read_split(top);
    study.store = read_store(top);
    study.encoders = read_encoders(top, catalog);
    read_plugin_choices(top, catalog, study);
    check_needs(study, catalog, problems);
    study.train = read_train(top);
    study.augmentation = read_augmentation(top, study.augmenter.has_value());
    study.evaluate = read_evaluate(top);
    study.few_shot = read_few_shot(top);
    study.zero_shot = read_zero_shot(top);
    study.contrastive = read_contrastive(top);
    study.distill = read_distill(top, study.dataset.labels);
    study.clip = read_clip(top);
    study.executor = read_executor(top);
    study.phases = read_phases(top);
    check_ablation_fusions(study.phases, catalog, problems);
    check_few_shot(study, problems);
    check_select_folds(study, problems);
    top.finish();
    problems.throw_if_any();
    return study;
}

} // namespace msa

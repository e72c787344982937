// A study's [[phase]] tables: the keys every phase has, then those of its kind.
#include "manifest/phase_reader.hpp"

#include "plugin/plugin_catalog.hpp"
#include "util/suggest.hpp"

#include <algorithm>
#include <sstream>
#include <tuple>

namespace msa {

namespace {

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

// How each value of a sweep axis reads in trial folder names: as in labels, but a plugin
// table by what tells it apart from the axis's other values, its checkpoint by the folder's
// name, so that "encoders.text" swept over two checkpoints names its folders
// "all-MiniLM-L6-v2" and "all-mpnet-base-v2". A lone table shows every key; the plugin is
// left out where a checkpoint says which model it is and every value has that plugin.
std::vector<std::string> folder_names(const toml::array& list) {
    std::vector<const toml::table*> tables;
    for (const toml::node& value : list)
        if (const toml::table* t = value.as_table()) tables.push_back(t);
    // A key's value as display() writes it, "" where the table lacks it.
    const auto shown = [](const toml::table& t, std::string_view key) {
        const toml::node* value = t.get(key);
        return value ? display(*value) : std::string();
    };
    const auto varies = [&](std::string_view key) {
        return tables.size() < list.size() || std::any_of(tables.begin(), tables.end(), [&](const toml::table* t) {
                   return shown(*t, key) != shown(*tables.front(), key);
               });
    };
    const auto last_folder = [](std::string path) {
        while (path.size() > 1 && path.back() == '/') path.pop_back();
        const auto slash = path.rfind('/');
        return slash == std::string::npos ? path : path.substr(slash + 1);
    };
    std::vector<std::string> out;
    for (const toml::node& value : list) {
        const toml::table* table = value.as_table();
        if (!table) {
            out.push_back(display(value));
            continue;
        }
        std::string checkpoint;
        std::vector<std::string> parts;
        for (auto&& [key, node] : *table) {
            const std::string name(key.str());
            if (name == "plugin" || (list.size() > 1 && !varies(name))) continue;
            const auto text = node.value_exact<std::string>();
            const auto flag = node.value_exact<bool>();
            if (text && name == "checkpoint") checkpoint = last_folder(*text);
            else if (text && text->find('/') != std::string::npos) parts.push_back(name + "-" + last_folder(*text));
            else if (flag) parts.push_back(*flag ? name : name + "-false");
            else parts.push_back(name + "-" + display(node));
        }
        if (!checkpoint.empty()) parts.insert(parts.begin(), checkpoint);
        if ((checkpoint.empty() || varies("plugin")) && table->contains("plugin"))
            parts.insert(parts.begin(), shown(*table, "plugin"));
        std::string name;
        for (const auto& part : parts) name += (name.empty() ? "" : "-") + part;
        out.push_back(name);
    }
    // Two values one name (checkpoints ../a/model and ../b/model): the values in full.
    std::vector<std::string> sorted = out;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
        out.clear();
        for (const toml::node& value : list) out.push_back(display(value));
    }
    return out;
}

// The phase's name: present, usable as a folder name, and no earlier phase's.
std::string read_phase_name(TableReader& r, const std::string& qualified, const std::vector<PhaseSpec>& earlier) {
    const toml::table& table = r.raw();
    Problems& problems = r.problems();
    std::string name = r.string("name").value_or("");
    if (!table.get("name"))
        problems.add(table, "[[phase]] " + qualified + " needs 'name' (it names the phase's folder of trials)");
    else if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                    "0123456789._-") != std::string::npos)
        problems.add(*table.get("name"), "phase name '" + name + "' must be non-empty and use only letters, "
                                         "digits, '.', '_' and '-' (it names a folder)");
    for (const auto& phase : earlier)
        if (!name.empty() && phase.name == name)
            problems.add(*table.get("name"), "phase name '" + name + "' is used twice (first at " + phase.where + ")");
    return name;
}

// `from`: an earlier phase that hands on an incumbent; empty when absent.
std::string read_phase_from(TableReader& r, const std::vector<PhaseSpec>& earlier) {
    auto from = r.string("from");
    if (!from) return {};
    const toml::node& node = *r.raw().get("from");
    Problems& problems = r.problems();
    std::vector<std::string> earlier_names;
    for (const auto& phase : earlier) earlier_names.push_back(phase.name);
    if (std::find(earlier_names.begin(), earlier_names.end(), *from) == earlier_names.end())
        problems.add(node, "'" + r.qualified("from") + "' = \"" + *from + "\" is not an earlier phase" +
                               did_you_mean(*from, earlier_names) + "; earlier phases: " +
                               (earlier_names.empty() ? "none" : join(earlier_names)));
    for (const auto& phase : earlier)
        if (phase.name == *from && !hands_on_incumbent(phase.kind))
            problems.add(node, "'" + r.qualified("from") + "' = \"" + *from + "\" is a phase of kind '" +
                                   to_string(phase.kind) + "', which has no incumbent of its "
                                   "own to start from; name a train or augmentation phase");
    return *from;
}

std::vector<std::uint64_t> read_phase_seeds(TableReader& r) {
    std::vector<std::uint64_t> out;
    const toml::node* seeds = r.node("seeds");
    if (!seeds) return out;
    const toml::array* list = seeds->as_array();
    bool ok = list && !list->empty();
    if (list)
        for (const toml::node& seed : *list) {
            const auto value = seed.value_exact<std::int64_t>();
            if (!value || *value < 0) ok = false;
            else out.push_back(static_cast<std::uint64_t>(*value));
        }
    if (!ok) r.problems().add(*seeds, "'" + r.qualified("seeds") + "' must be a non-empty array of integers >= 0");
    return out;
}

// Whether the phase has a `set` table of manifest keys (checked when its trials are planned).
bool read_phase_set(TableReader& r) {
    const toml::node* set = r.node("set");
    if (!set) return false;
    if (!set->is_table())
        r.problems().add(*set, "'" + r.qualified("set") + "' must be a table of manifest keys (set.train.epochs = 5), "
                               "got a " + type_name(*set));
    return true;
}

std::vector<SweepAxis> read_phase_sweep(TableReader& r) {
    std::vector<SweepAxis> out;
    const toml::node* sweep = r.node("sweep");
    if (!sweep) return out;
    const toml::table* axes = sweep->as_table();
    if (!axes) {
        r.problems().add(*sweep, "'" + r.qualified("sweep") + "' must be a table of path = [values], got a " +
                                     type_name(*sweep));
        return out;
    }
    for (auto&& [key, values] : *axes) {
        SweepAxis axis;
        axis.path = std::string(key.str());
        const toml::array* list = values.as_array();
        if (!list || list->empty()) {
            r.problems().add(values, "'" + r.qualified("sweep") + "." + axis.path + "' must be a non-empty array of "
                                                                                    "values to try");
            continue;
        }
        for (const toml::node& value : *list) axis.values.push_back(display(value));
        axis.names = folder_names(*list);
        out.push_back(std::move(axis));
    }
    return out;
}

// `search` and `n`: how the sweep's configurations are chosen.
void read_phase_search(TableReader& r, PhaseSpec& phase) {
    const toml::table& table = r.raw();
    phase.search = r.choice("search", {"grid", "random"}).value_or(phase.search);
    phase.n = r.integer("n", 1, 100'000).value_or(0);
    if (phase.search == "random" && phase.n == 0)
        r.problems().add(table, "search = \"random\" needs 'n', the number of configurations to draw");
    if (phase.search == "grid" && table.get("n"))
        r.problems().add(*table.get("n"), "'" + r.qualified("n") + "' applies to search = \"random\" only");
}

// keep_incumbent: the incumbent of `from` competes with the sweep (augmentation always does).
void read_train_phase_keys(TableReader& r, PhaseSpec& phase) {
    phase.keep_incumbent = r.boolean("keep_incumbent").value_or(false);
    if (phase.keep_incumbent && phase.from.empty())
        r.problems().add(*r.raw().get("keep_incumbent"),
                         "'" + r.qualified("keep_incumbent") + "' keeps the incumbent of 'from' as a candidate: set 'from'");
}

// select_folds and select_rule: how a phase that hands on an incumbent chooses it.
void read_selection_keys(TableReader& r, PhaseSpec& phase) {
    phase.select_folds = r.integer("select_folds", 0, 20).value_or(0);
    if (phase.select_folds == 1)
        r.problems().add(*r.raw().get("select_folds"), "'" + r.qualified("select_folds") +
                                                          "' must be 0 (one validation split) or at least 2 folds");
    phase.select_rule = r.name<SelectRule>("select_rule", select_rule_names).value_or(phase.select_rule);
}

void read_augmentation_phase_keys(TableReader& r, PhaseSpec& phase) {
    phase.hard_threshold = r.real("hard_threshold", 0.0, 1.0).value_or(0.5);
    phase.hard_fraction = r.real("hard_fraction", 0.0, 1.0).value_or(0.0);
}

void read_ablation_phase_keys(TableReader& r, PhaseSpec& phase) {
    if (auto fills = r.strings("fills")) {
        for (const auto& fill : *fills)
            if (fill != "zeros" && fill != "mean")
                r.problems().add(*r.raw().get("fills"), "'" + r.qualified("fills") + "' holds \"" + fill +
                                                            "\"; accepted: \"zeros\", \"mean\"");
        phase.fills = *fills;
    }
    phase.retrain = r.boolean("retrain").value_or(true);
    phase.text_only_fusion = r.string("text_fusion").value_or(phase.text_only_fusion);
    phase.image_only_fusion = r.string("image_fusion").value_or(phase.image_only_fusion);
}

void read_clip_phase_keys(TableReader& r, PhaseSpec& phase) {
    if (auto clip = r.path("clip")) phase.clip = *clip;
    else if (!r.raw().get("clip"))
        r.problems().add(r.raw(), "a phase of kind 'clip' needs clip = \"<folder>\", a Hugging Face CLIP model folder");
    phase.templates = r.strings("templates").value_or(std::vector<std::string>{});
}

// teacher: a trial folder in place of `from`'s incumbent; gold: the gold-label student too.
void read_distill_phase_keys(TableReader& r, PhaseSpec& phase) {
    if (auto teacher = r.path("teacher")) phase.teacher = *teacher;
    phase.gold = r.boolean("gold").value_or(phase.gold);
    if (phase.from.empty() && phase.teacher.empty() && !r.raw().get("teacher"))
        r.problems().add(r.raw(), "a phase of kind 'distill' needs a teacher: from = \"<an earlier train phase>\" (its "
                                  "incumbent's trial of each seed), or teacher = \"<a trial folder>\"");
}

// Whether the phase's trials have a model with a zero-shot of its own, a [prompt] or a
// [clip]: the base manifest's, or one that the phase's `set` or `sweep` gives.
bool phase_has_own_zero_shot(const TableReader& r, bool base_has_it) {
    if (base_has_it) return true;
    for (const char* table : {"prompt", "clip"}) {
        if (const toml::table* set = r.raw()["set"].as_table(); set && set->get(table)) return true;
        if (const toml::table* sweep = r.raw()["sweep"].as_table())
            for (const auto& [key, _] : *sweep)
                if (key.str() == table || key.str().rfind(std::string(table) + ".", 0) == 0) return true;
    }
    return false;
}

// shots: k per class, one curve point each, increasing; draws: training sets per k, which
// take the place of seeds (draw d is trained with seed d).
void read_few_shot_phase_keys(TableReader& r, PhaseSpec& phase, bool base_zero_shot) {
    Problems& problems = r.problems();
    if (const toml::node* shots = r.node("shots")) {
        const toml::array* list = shots->as_array();
        bool ok = list && !list->empty();
        if (list)
            for (const toml::node& k : *list) {
                const auto value = k.value_exact<std::int64_t>();
                if (!value || *value < 0 || *value > 1'000'000 || (!phase.shots.empty() && *value <= phase.shots.back()))
                    ok = false;
                else
                    phase.shots.push_back(*value);
            }
        if (!ok)
            problems.add(*shots, "'" + r.qualified("shots") + "' must be a non-empty array of increasing integers in "
                                 "[0, 1000000], the training samples per class of each point (e.g. [0, 4, 8, 16, 32]; "
                                 "0: zero-shot by label descriptions)");
    } else {
        problems.add(r.raw(), "a phase of kind 'few-shot' needs shots = [k, ...], the training samples per class "
                              "of each point of its learning curves");
    }
    phase.draws = r.integer("draws", 1, 1000).value_or(phase.draws);
    const bool zero = !phase.shots.empty() && phase.shots.front() == 0;
    if (auto descriptions = r.string_lists("descriptions")) phase.descriptions = *descriptions;
    // A prompt model (its label words) and CLIP (its templates) have a zero-shot of their own;
    // sentence encoders need descriptions.
    if (zero && phase.descriptions.empty() && !r.raw().get("descriptions") && !phase_has_own_zero_shot(r, base_zero_shot))
        problems.add(*r.raw().get("shots"), "'" + r.qualified("shots") + "' holds 0, zero-shot by label descriptions: "
                                            "set descriptions = { <label> = [\"...\"], ... } for every label (a "
                                            "[prompt] or [clip] model needs none: it has a zero-shot of its own)");
    if (!zero && r.raw().get("descriptions"))
        problems.add(*r.raw().get("descriptions"), "'" + r.qualified("descriptions") + "' are used at k = 0 only: "
                                                   "add 0 to shots, or leave descriptions out");
    if (const toml::node* seeds = r.raw().get("seeds"))
        problems.add(*seeds, "'" + r.qualified("seeds") + "': a few-shot phase trains draw d with seed d; set "
                             "draws = N (default 5) instead of seeds");
}

PhaseSpec read_phase(const toml::table& table, std::size_t index, const std::vector<PhaseSpec>& earlier,
                     bool base_zero_shot, Problems& problems) {
    const std::string qualified = "phase[" + std::to_string(index) + "]";
    TableReader r(table, qualified, problems);
    PhaseSpec phase;
    phase.index = index;
    phase.where = location(table.source());
    phase.name = read_phase_name(r, qualified, earlier);
    phase.kind = r.name<PhaseKind>("kind", phase_kind_names).value_or(phase.kind);
    phase.from = read_phase_from(r, earlier);
    if ((phase.kind == PhaseKind::augmentation || phase.kind == PhaseKind::ablation) && phase.from.empty())
        problems.add(table, "a phase of kind '" + std::string(to_string(phase.kind)) +
                                "' works on an earlier phase's incumbent: set 'from'");
    phase.select = r.metric("select", metric_select).value_or(phase.select);
    phase.seeds = read_phase_seeds(r);
    phase.has_set = read_phase_set(r);
    phase.sweep = read_phase_sweep(r);
    read_phase_search(r, phase);
    // Keys of one kind only: asked for only there, so elsewhere they are unknown keys.
    if (hands_on_incumbent(phase.kind)) read_selection_keys(r, phase);
    if (phase.kind == PhaseKind::train) read_train_phase_keys(r, phase);
    if (phase.kind == PhaseKind::augmentation) read_augmentation_phase_keys(r, phase);
    if (phase.kind == PhaseKind::ablation) read_ablation_phase_keys(r, phase);
    if (phase.kind == PhaseKind::clip) read_clip_phase_keys(r, phase);
    if (phase.kind == PhaseKind::few_shot) read_few_shot_phase_keys(r, phase, base_zero_shot);
    if (phase.kind == PhaseKind::distill) read_distill_phase_keys(r, phase);
    r.finish();
    return phase;
}

} // namespace

std::vector<PhaseSpec> read_phases(TableReader& top) {
    std::vector<PhaseSpec> out;
    const toml::node* node = top.node("phase");
    if (!node) return out;
    const toml::array* array = node->as_array();
    if (!array || !array->is_array_of_tables()) {
        top.problems().add(*node, std::string("'phase' must be an array of tables ([[phase]] with name, kind, from, "
                                              "sweep, ...), got a ") + type_name(*node));
        return out;
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
        const bool base_zero_shot = top.raw().get("prompt") || top.raw().get("clip");
        PhaseSpec phase = read_phase(*array->get(i)->as_table(), i, out, base_zero_shot, top.problems());
        out.push_back(std::move(phase));
    }
    return out;
}

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

namespace {

// Descriptions for every label of the study and none other.
void check_descriptions(const std::map<std::string, std::vector<std::string>>& descriptions,
                        const std::vector<std::string>& labels, const std::string& where, const std::string& who,
                        Problems& problems) {
    std::vector<std::string> missing, unknown;
    for (const auto& label : labels)
        if (!descriptions.count(label)) missing.push_back(label);
    for (const auto& [label, list] : descriptions)
        if (std::find(labels.begin(), labels.end(), label) == labels.end()) unknown.push_back(label);
    if (!missing.empty())
        problems.add(where, who + " has no descriptions for " + join(missing) + "; every label needs at least one");
    if (!unknown.empty())
        problems.add(where, who + " describes " + join(unknown) + ", which " + (unknown.size() > 1 ? "are" : "is") +
                                " not a label of this study; labels: " + join(labels));
}

} // namespace

void check_select_folds(const Study& study, Problems& problems) {
    const SplitConfig& split = study.split;
    for (const auto& phase : study.phases) {
        if (phase.select_folds < 2) continue;
        if (!split.train_file.empty())
            problems.add(phase.where, "phase '" + phase.name + "': select_folds divides the labelled samples into "
                                      "validation folds, but [split] gives the validation rows as a file; remove one");
        else if (split.folds > 0)
            problems.add(phase.where, "phase '" + phase.name + "': select_folds keeps one test split, but [split] "
                                      "folds rotates it; remove one");
    }
}

void check_few_shot(const Study& study, Problems& problems) {
    const SplitConfig& split = study.split;
    const bool one_test_split = split.test_seed || !split.test_file.empty() || split.folds > 0;
    for (const auto& phase : study.phases) {
        if (phase.kind != PhaseKind::few_shot) continue;
        if (!one_test_split)
            problems.add(phase.where, "phase '" + phase.name + "': a few-shot phase compares every k and draw on one "
                                      "test split; set [split] test_seed (e.g. test_seed = " +
                                      std::to_string(study.seed) + "), or give the splits as files");
        if (!phase.descriptions.empty())
            check_descriptions(phase.descriptions, study.dataset.labels, phase.where,
                               "phase '" + phase.name + "': descriptions", problems);
    }
    if (study.zero_shot && !study.zero_shot->descriptions.empty())
        check_descriptions(study.zero_shot->descriptions, study.dataset.labels, study.zero_shot->where,
                           "[zero_shot] descriptions", problems);
}

} // namespace msa

// Writing and reading results.json. Reading, every problem names the file and the key
// path, since the file is written by one program (msa run) and read by another (the
// reports), maybe versions apart.
#include "records/results_file.hpp"

#include <msa/error.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

namespace msa::records {

namespace {

using nlohmann::json;

std::string type_name(const json& value) {
    switch (value.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    default: return "an unreadable value";
    }
}

// Walks the document keeping the key path, so errors say where they are.
class Reader {
public:
    explicit Reader(const std::filesystem::path& file) : file_(file) {}

    [[noreturn]] void fail(const std::string& path, const std::string& problem) const {
        throw Error(fmt::format("{}: {}: {}", file_.string(), path, problem));
    }

    static std::string join(const std::string& path, const std::string& key) {
        return path.empty() ? key : path + "." + key;
    }
    static std::string index(const std::string& path, std::size_t i) { return fmt::format("{}[{}]", path, i); }

    // The member `key` of `object`, or nullptr when absent or null.
    const json* optional(const json& object, const std::string& key) const {
        const auto it = object.find(key);
        return it == object.end() || it->is_null() ? nullptr : &*it;
    }
    const json& required(const json& object, const std::string& path, const std::string& key) const {
        if (!object.contains(key)) fail(join(path, key), "missing (required)");
        return object.at(key);
    }

    const json& object(const json& value, const std::string& path) const {
        if (!value.is_object()) fail(path, "expected an object, found " + type_name(value));
        return value;
    }
    const json& array(const json& value, const std::string& path) const {
        if (!value.is_array()) fail(path, "expected an array, found " + type_name(value));
        return value;
    }
    std::string string(const json& value, const std::string& path) const {
        if (!value.is_string()) fail(path, "expected a string, found " + type_name(value));
        return value.get<std::string>();
    }
    double number(const json& value, const std::string& path) const {
        if (!value.is_number()) fail(path, "expected a number, found " + type_name(value));
        return value.get<double>();
    }
    std::int64_t integer(const json& value, const std::string& path) const {
        if (!value.is_number_integer()) fail(path, "expected an integer, found " + type_name(value));
        return value.get<std::int64_t>();
    }

    std::string required_string(const json& object, const std::string& path, const std::string& key) const {
        return string(required(object, path, key), join(path, key));
    }
    // A string that may be absent or null (then empty).
    std::string optional_string(const json& object, const std::string& path, const std::string& key) const {
        const json* value = optional(object, key);
        return value ? string(*value, join(path, key)) : std::string();
    }
    std::optional<double> optional_number(const json& object, const std::string& path, const std::string& key) const {
        const json* value = optional(object, key);
        if (!value) return std::nullopt;
        return number(*value, join(path, key));
    }
    // A name of one of msa's closed sets (vocabulary.hpp).
    template <class E, std::size_t N>
    E name(const json& object, const std::string& path, const std::string& key,
           const std::array<const char*, N>& names) const {
        const std::string text = required_string(object, path, key);
        try {
            return require_name<E>(names, text, key);
        } catch (const Error& e) {
            fail(join(path, key), e.what());
        }
    }

private:
    const std::filesystem::path& file_;
};

// {"mean", "std", "n"}, or null; a stat over no seeds counts as absent.
std::optional<Stat> read_stat(const Reader& r, const json& value, const std::string& path) {
    if (value.is_null()) return std::nullopt;
    r.object(value, path);
    Stat stat;
    stat.mean = r.number(r.required(value, path, "mean"), Reader::join(path, "mean"));
    stat.std = r.number(r.required(value, path, "std"), Reader::join(path, "std"));
    stat.n = r.integer(r.required(value, path, "n"), Reader::join(path, "n"));
    if (stat.n < 0) r.fail(Reader::join(path, "n"), fmt::format("expected a count of seeds (0 or more), found {}", stat.n));
    if (stat.n == 0) return std::nullopt;
    return stat;
}

// A split's metrics; null or absent when no seed finished.
SplitStats read_split(const Reader& r, const json& config, const std::string& config_path, const std::string& key) {
    SplitStats split;
    const json* value = r.optional(config, key);
    if (!value) return split;
    const std::string path = Reader::join(config_path, key);
    r.object(*value, path);
    auto stat = [&](const std::string& name) -> std::optional<Stat> {
        const json* member = r.optional(*value, name);
        return member ? read_stat(r, *member, Reader::join(path, name)) : std::nullopt;
    };
    split.weighted_f1 = stat("weighted_f1");
    split.macro_f1 = stat("macro_f1");
    split.accuracy = stat("accuracy");
    if (const json* per_class = r.optional(*value, "per_class_f1")) {
        const std::string class_path = Reader::join(path, "per_class_f1");
        r.object(*per_class, class_path);
        for (const auto& [label, member] : per_class->items())
            if (auto s = read_stat(r, member, Reader::join(class_path, label))) split.per_class_f1[label] = *s;
    }
    return split;
}

TrialRecord read_trial(const Reader& r, const json& value, const std::string& path) {
    r.object(value, path);
    TrialRecord trial;
    trial.folder = r.required_string(value, path, "folder");
    if (const json* seed = r.optional(value, "seed")) trial.seed = r.integer(*seed, Reader::join(path, "seed"));
    if (const json* fold = r.optional(value, "fold")) trial.fold = r.integer(*fold, Reader::join(path, "fold"));
    trial.status = r.name<TrialStatus>(value, path, "status", trial_status_names);
    trial.error = r.optional_string(value, path, "error");
    trial.seconds = r.optional_number(value, path, "seconds");
    return trial;
}

// {"trials", "seeds", "samples", "weighted_f1", …, "unavailable"}; null or absent: none.
std::optional<EnsembleScores> read_ensemble(const Reader& r, const json& config, const std::string& config_path) {
    const json* value = r.optional(config, "test_ensemble");
    if (!value) return std::nullopt;
    const std::string path = Reader::join(config_path, "test_ensemble");
    r.object(*value, path);
    EnsembleScores e;
    const std::string trials_path = Reader::join(path, "trials");
    const json& trials = r.array(r.required(*value, path, "trials"), trials_path);
    for (std::size_t i = 0; i < trials.size(); ++i) e.trials.push_back(r.string(trials[i], Reader::index(trials_path, i)));
    if (const json* seeds = r.optional(*value, "seeds")) {
        const std::string seeds_path = Reader::join(path, "seeds");
        r.array(*seeds, seeds_path);
        for (std::size_t i = 0; i < seeds->size(); ++i) e.seeds.push_back(r.integer((*seeds)[i], Reader::index(seeds_path, i)));
    }
    e.unavailable = r.optional_string(*value, path, "unavailable");
    if (!e.scored()) return e;
    const auto number = [&](const char* key) { return r.number(r.required(*value, path, key), Reader::join(path, key)); };
    e.samples = r.integer(r.required(*value, path, "samples"), Reader::join(path, "samples"));
    e.weighted_f1 = number("weighted_f1");
    e.macro_f1 = number("macro_f1");
    e.accuracy = number("accuracy");
    if (const json* per_class = r.optional(*value, "per_class_f1")) {
        const std::string class_path = Reader::join(path, "per_class_f1");
        for (const auto& [label, member] : r.object(*per_class, class_path).items())
            e.per_class_f1[label] = r.number(member, Reader::join(class_path, label));
    }
    return e;
}

ConfigResult read_config(const Reader& r, const json& value, const std::string& path) {
    r.object(value, path);
    ConfigResult config;
    config.label = r.required_string(value, path, "label");
    if (const json* changes = r.optional(value, "changes")) {
        const std::string changes_path = Reader::join(path, "changes");
        for (const auto& [key, member] : r.object(*changes, changes_path).items())
            config.changes.emplace_back(key, member.is_string() ? member.get<std::string>() : member.dump());
    }
    const std::string trials_path = Reader::join(path, "trials");
    const json& trials = r.array(r.required(value, path, "trials"), trials_path);
    for (std::size_t i = 0; i < trials.size(); ++i)
        config.trials.push_back(read_trial(r, trials[i], Reader::index(trials_path, i)));
    config.valid = read_split(r, value, path, "valid");
    config.test = read_split(r, value, path, "test");
    config.best_trial = r.optional_string(value, path, "best_trial");
    if (const json* reference = r.optional(value, "reference")) config.reference = reference->is_boolean() && reference->get<bool>();
    config.test_ensemble = read_ensemble(r, value, path);
    if (const json* shots = r.optional(value, "shots"))
        config.shots = r.integer(*shots, Reader::join(path, "shots"));
    if (const json* distill = r.optional(value, "distill")) {
        const std::string at = Reader::join(path, "distill");
        r.object(*distill, at);
        ConfigResult::Distill d;
        d.pool = r.number(r.required(*distill, at, "pool"), Reader::join(at, "pool"));
        const json& kept = r.object(r.required(*distill, at, "kept"), Reader::join(at, "kept"));
        for (const auto& [label, n] : kept.items()) d.kept[label] = r.number(n, Reader::join(Reader::join(at, "kept"), label));
        d.teacher_coverage = r.number(r.required(*distill, at, "teacher_coverage"), Reader::join(at, "teacher_coverage"));
        d.teacher_accuracy = r.number(r.required(*distill, at, "teacher_accuracy"), Reader::join(at, "teacher_accuracy"));
        config.distill = d;
    }
    return config;
}

PhaseResult read_phase(const Reader& r, const json& value, const std::string& path) {
    r.object(value, path);
    PhaseResult phase;
    phase.name = r.required_string(value, path, "name");
    phase.kind = r.name<PhaseKind>(value, path, "kind", phase_kind_names);
    phase.from = r.optional_string(value, path, "from");
    phase.select = r.optional_string(value, path, "select");
    if (phase.select.empty()) phase.select = "weighted_f1"; // docs/studies.md's default
    phase.status = r.name<PhaseStatus>(value, path, "status", phase_status_names);
    phase.reason = r.optional_string(value, path, "reason");
    phase.selection = r.optional_string(value, path, "selection");
    const std::string configs_path = Reader::join(path, "configs");
    const json& configs = r.array(r.required(value, path, "configs"), configs_path);
    for (std::size_t i = 0; i < configs.size(); ++i)
        phase.configs.push_back(read_config(r, configs[i], Reader::index(configs_path, i)));
    if (const json* incumbent = r.optional(value, "incumbent")) {
        const std::string incumbent_path = Reader::join(path, "incumbent");
        const std::int64_t index = r.integer(*incumbent, incumbent_path);
        if (index < 0 || index >= static_cast<std::int64_t>(phase.configs.size()))
            r.fail(incumbent_path, fmt::format("{} is not an index into the phase's {} configs (0 to {}), nor null",
                                               index, phase.configs.size(),
                                               static_cast<std::int64_t>(phase.configs.size()) - 1));
        // results.json of msa before SDK 3.0 named an ablation or clip phase's best
        // configuration as its incumbent; those phases work on the incumbent of their
        // `from`, so it is not taken as one.
        if (phase.has_own_incumbent()) phase.incumbent = static_cast<std::size_t>(index);
    }
    return phase;
}

} // namespace

namespace {

json stat_json(const std::optional<Stat>& stat) {
    if (!stat) return nullptr;
    return json{{"mean", stat->mean}, {"std", stat->std}, {"n", stat->n}};
}

// A split's metrics; null when no seed finished.
json split_json(const SplitStats& split, bool finished) {
    if (!finished) return nullptr;
    json out{{"weighted_f1", stat_json(split.weighted_f1)},
             {"macro_f1", stat_json(split.macro_f1)},
             {"accuracy", stat_json(split.accuracy)}};
    out["per_class_f1"] = json::object();
    for (const auto& [label, stat] : split.per_class_f1) out["per_class_f1"][label] = stat_json(stat);
    return out;
}

json optional_string(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

json ensemble_json(const EnsembleScores& e) {
    json out{{"trials", e.trials}, {"seeds", e.seeds}};
    if (!e.scored()) {
        out["unavailable"] = e.unavailable;
        return out;
    }
    out["samples"] = e.samples;
    out["weighted_f1"] = e.weighted_f1;
    out["macro_f1"] = e.macro_f1;
    out["accuracy"] = e.accuracy;
    out["per_class_f1"] = json::object();
    for (const auto& [label, f1] : e.per_class_f1) out["per_class_f1"][label] = f1;
    out["unavailable"] = nullptr;
    return out;
}

} // namespace

std::string ConfigResult::changes_json() const {
    json out = json::object();
    for (const auto& [path, value] : changes) out[path] = value;
    return out.dump();
}

std::string results_json(const StudyResults& results) {
    json phases = json::array();
    for (const auto& phase : results.phases) {
        json configs = json::array();
        for (const auto& config : phase.configs) {
            json trials = json::array();
            for (const auto& t : config.trials) {
                json trial{{"folder", t.folder},
                           {"seed", t.seed ? json(*t.seed) : json(nullptr)},
                           {"status", to_string(t.status)},
                           {"error", optional_string(t.error)},
                           {"seconds", t.seconds ? json(*t.seconds) : json(nullptr)}};
                if (t.fold) trial["fold"] = *t.fold; // only in phases with select_folds
                trials.push_back(std::move(trial));
            }
            json changes = json::object();
            for (const auto& [path, value] : config.changes) changes[path] = value;
            const bool finished = config.finished_trials() > 0;
            json entry{{"label", config.label},
                       {"changes", changes},
                       {"trials", trials},
                       {"valid", split_json(config.valid, finished)},
                       {"test", split_json(config.test, finished)},
                       {"best_trial", optional_string(config.best_trial)}};
            if (config.reference) entry["reference"] = true;
            if (config.test_ensemble) entry["test_ensemble"] = ensemble_json(*config.test_ensemble);
            if (config.shots) entry["shots"] = *config.shots;
            if (const auto& d = config.distill)
                entry["distill"] = {{"pool", d->pool}, {"kept", d->kept}, {"teacher_coverage", d->teacher_coverage},
                                    {"teacher_accuracy", d->teacher_accuracy}};
            configs.push_back(std::move(entry));
        }
        phases.push_back({{"name", phase.name},
                          {"kind", to_string(phase.kind)},
                          {"from", optional_string(phase.from)},
                          {"select", phase.select},
                          {"status", to_string(phase.status)},
                          {"reason", optional_string(phase.reason)},
                          {"incumbent", phase.incumbent ? json(*phase.incumbent) : json(nullptr)},
                          {"selection", optional_string(phase.selection)},
                          {"configs", configs}});
    }
    json store = nullptr;
    if (results.store) {
        const auto lookups = results.store->from_store + results.store->encoded;
        store = {{"from_store", results.store->from_store},
                 {"encoded", results.store->encoded},
                 {"hit_rate", lookups ? json(results.store->hit_rate) : json(nullptr)}};
    }
    const json document{{"study", results.study},
                        {"description", results.description},
                        {"manifest", results.manifest},
                        {"labels", results.labels},
                        {"status", to_string(results.status)},
                        {"started", results.started},
                        {"seconds", results.seconds ? json(*results.seconds) : json(nullptr)},
                        {"store", store},
                        {"final_incumbent", optional_string(results.final_incumbent)},
                        {"phases", phases}};
    return document.dump(2) + "\n";
}

std::optional<Stat> SplitStats::class_f1(const std::string& label) const {
    const auto it = per_class_f1.find(label);
    return it == per_class_f1.end() ? std::nullopt : std::optional<Stat>(it->second);
}

std::size_t ConfigResult::finished_trials() const {
    std::size_t n = 0;
    for (const auto& trial : trials) n += trial.status == TrialStatus::ok;
    return n;
}

std::size_t PhaseResult::planned_trials() const {
    std::size_t n = 0;
    for (const auto& config : configs) n += config.trials.size();
    return n;
}

std::size_t PhaseResult::finished_trials() const {
    std::size_t n = 0;
    for (const auto& config : configs) n += config.finished_trials();
    return n;
}

const PhaseResult* StudyResults::find_phase(const std::string& name) const {
    for (const auto& phase : phases)
        if (phase.name == name) return &phase;
    return nullptr;
}

std::pair<const PhaseResult*, const ConfigResult*> StudyResults::final_incumbent_config() const {
    if (final_incumbent.empty()) return {nullptr, nullptr};
    for (auto phase = phases.rbegin(); phase != phases.rend(); ++phase)
        if (const ConfigResult* config = phase->incumbent_config(); config && config->best_trial == final_incumbent)
            return {&*phase, config};
    return {nullptr, nullptr};
}

StudyResults read_study_results(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        if (!std::filesystem::exists(file))
            throw Error(fmt::format("{} not found: `msa run` writes it into the study folder", file.string()));
        throw Error(fmt::format("{}: cannot be read", file.string()));
    }
    std::ostringstream text;
    text << in.rdbuf();
    json document;
    try {
        document = json::parse(text.str());
    } catch (const json::exception& e) {
        // parse_error, or out_of_range for a number beyond a double (1e400). nlohmann's
        // message starts with "[json.exception.parse_error.101] ": not for people.
        std::string message = e.what();
        if (const auto end = message.find("] "); message.rfind("[json.exception", 0) == 0 && end != std::string::npos)
            message.erase(0, end + 2);
        throw Error(fmt::format("{}: not valid JSON: {}", file.string(), message));
    }

    const Reader r(file);
    if (!document.is_object()) r.fail("(top level)", "expected an object, found " + type_name(document));
    StudyResults results;
    results.file = file;
    results.study = r.required_string(document, "", "study");
    results.description = r.optional_string(document, "", "description");
    results.manifest = r.optional_string(document, "", "manifest");
    if (const json* labels = r.optional(document, "labels")) {
        r.array(*labels, "labels");
        for (std::size_t i = 0; i < labels->size(); ++i)
            results.labels.push_back(r.string((*labels)[i], Reader::index("labels", i)));
    }
    results.status = r.name<StudyStatus>(document, "", "status", study_status_names);
    results.started = r.optional_string(document, "", "started");
    results.seconds = r.optional_number(document, "", "seconds");
    if (const json* store = r.optional(document, "store")) {
        r.object(*store, "store");
        StoreUse use;
        if (const json* v = r.optional(*store, "from_store")) use.from_store = r.integer(*v, "store.from_store");
        if (const json* v = r.optional(*store, "encoded")) use.encoded = r.integer(*v, "store.encoded");
        const auto total = use.from_store + use.encoded;
        use.hit_rate = r.optional_number(*store, "store", "hit_rate")
                           .value_or(total > 0 ? static_cast<double>(use.from_store) / static_cast<double>(total) : 0.0);
        results.store = use;
    }
    results.final_incumbent = r.optional_string(document, "", "final_incumbent");
    if (const json* phases = r.optional(document, "phases")) {
        r.array(*phases, "phases");
        for (std::size_t i = 0; i < phases->size(); ++i)
            results.phases.push_back(read_phase(r, (*phases)[i], Reader::index("phases", i)));
    }
    return results;
}

} // namespace msa::records

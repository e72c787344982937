#include "study/study_runner.hpp"

#include "data/dataset_reader.hpp"
#include "manifest/manifest_reader.hpp"
#include "manifest/resolved_manifest.hpp"
#include "plugin/plugin_catalog.hpp"
#include "report/write_reports.hpp"
#include "store/encode_features.hpp"
#include "store/encoder_key.hpp"
#include "store/feature_store.hpp"
#include "study/trial_manifest.hpp"
#include "study/worker_pool.hpp"
#include "train/clip_trial.hpp"
#include "train/run_folder.hpp"
#include "util/suggest.hpp"
#include "util/utc_time.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

namespace msa::study {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

struct TrialRun {
    std::string folder; // relative to the study folder
    std::uint64_t seed = 0;
    std::vector<Change> changes; // the configuration's, then this trial's own
    // Changes of this trial alone, which phases starting from it inherit for the same
    // seed: the hard samples an augmentation trial was given.
    std::vector<Change> own;
    std::string status = "pending"; // ok | failed | skipped | interrupted | pending
    std::string error;
    double seconds = 0;
    json metrics; // metrics.json once finished
    std::string planned; // the trial's manifest as it would be written (resume compares it)
};

struct ConfigRun {
    std::string label;
    std::string slug;
    json changes = json::object();
    std::vector<Change> chain; // from the base configuration, without any trial's own changes
    std::vector<TrialRun> trials;
    bool reference = false; // another phase's incumbent, shown beside (not run here)
    bool candidate = false; // a reference that may stay the incumbent (no augmentation at all)
};

struct PhaseRun {
    PhaseSpec spec;
    std::string status = "pending";
    std::string reason;
    std::vector<ConfigRun> configs;
    std::optional<std::size_t> incumbent;
};

struct StoreUse {
    std::size_t from_store = 0, encoded = 0;
};

std::string read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::optional<json> read_json(const fs::path& file) {
    std::ifstream in(file);
    if (!in) return std::nullopt;
    try {
        return json::parse(in);
    } catch (const json::exception&) {
        return std::nullopt;
    }
}

// Folder names: letters, digits, '.', '_', '-'; long ones end in a hash of the whole.
std::string slug(const std::string& text) {
    std::string out;
    for (char c : text) {
        const bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
        if (keep) out += c;
        else if (!out.empty() && out.back() != '-') out += '-';
    }
    while (!out.empty() && out.back() == '-') out.pop_back();
    if (out.size() > 60) {
        std::ostringstream hash;
        hash << std::hex << std::hash<std::string>{}(text);
        out = out.substr(0, 50) + "-" + hash.str().substr(0, 8);
    }
    return out.empty() ? "config" : out;
}

// The value of `select` (weighted_f1, macro_f1, accuracy, f1.<label>) in a split's metrics.
std::optional<double> metric_value(const json& split, const std::string& select) {
    if (!split.is_object()) return std::nullopt;
    if (select.rfind("f1.", 0) == 0) {
        const auto label = select.substr(3);
        if (split.contains("per_class") && split["per_class"].contains(label))
            return split["per_class"][label].value("f1", 0.0);
        return std::nullopt;
    }
    if (split.contains(select) && split[select].is_number()) return split[select].get<double>();
    return std::nullopt;
}

json mean_std(const std::vector<double>& values) {
    if (values.empty()) return json{{"mean", nullptr}, {"std", nullptr}, {"n", 0}};
    const double mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
    double ss = 0;
    for (double v : values) ss += (v - mean) * (v - mean);
    const double sd = values.size() > 1 ? std::sqrt(ss / static_cast<double>(values.size() - 1)) : 0.0;
    return json{{"mean", mean}, {"std", sd}, {"n", values.size()}};
}

// Mean ± std over a configuration's finished trials, for one split.
// Null when none finished.
json summarize(const ConfigRun& config, const std::string& split, const std::vector<std::string>& labels) {
    if (std::none_of(config.trials.begin(), config.trials.end(), [](const TrialRun& t) { return t.status == "ok"; }))
        return nullptr;
    json out;
    for (const char* metric : {"weighted_f1", "macro_f1", "accuracy"}) {
        std::vector<double> values;
        for (const auto& t : config.trials)
            if (t.status == "ok")
                if (auto v = metric_value(t.metrics[split], metric)) values.push_back(*v);
        out[metric] = mean_std(values);
    }
    for (const auto& label : labels) {
        std::vector<double> values;
        for (const auto& t : config.trials)
            if (t.status == "ok")
                if (auto v = metric_value(t.metrics[split], "f1." + label)) values.push_back(*v);
        out["per_class_f1"][label] = mean_std(values);
    }
    return out;
}

// The finished trial of `config` with the best validation `select`.
const TrialRun* best_trial(const ConfigRun& config, const std::string& select) {
    const TrialRun* best = nullptr;
    double best_value = -1e300;
    for (const auto& t : config.trials) {
        if (t.status != "ok") continue;
        const double v = metric_value(t.metrics["valid"], select).value_or(-1e300);
        if (!best || v > best_value) best = &t, best_value = v;
    }
    return best;
}

std::optional<double> mean_valid(const ConfigRun& config, const std::string& select) {
    std::vector<double> values;
    for (const auto& t : config.trials)
        if (t.status == "ok")
            if (auto v = metric_value(t.metrics["valid"], select)) values.push_back(*v);
    if (values.empty()) return std::nullopt;
    return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

// The sweep points of a phase: one element index per axis.
std::vector<std::vector<std::size_t>> sweep_points(const PhaseSpec& spec, std::uint64_t seed) {
    std::vector<std::vector<std::size_t>> points{{}};
    for (const auto& axis : spec.sweep) {
        std::vector<std::vector<std::size_t>> next;
        for (const auto& point : points)
            for (std::size_t e = 0; e < axis.values.size(); ++e) {
                auto p = point;
                p.push_back(e);
                next.push_back(std::move(p));
            }
        points = std::move(next);
    }
    if (spec.search == "random" && static_cast<std::size_t>(spec.n) < points.size()) {
        // A seeded draw without replacement, kept in grid order so folders read in order.
        std::vector<std::size_t> order(points.size());
        std::iota(order.begin(), order.end(), 0);
        std::mt19937_64 rng(seed * 1000003ULL + spec.index);
        std::shuffle(order.begin(), order.end(), rng);
        order.resize(static_cast<std::size_t>(spec.n));
        std::sort(order.begin(), order.end());
        std::vector<std::vector<std::size_t>> drawn;
        for (auto i : order) drawn.push_back(points[i]);
        points = std::move(drawn);
    }
    return points;
}

class StudyRunner {
public:
    StudyRunner(const RunOptions& options, const PluginCatalog& catalog) : options_(options), catalog_(catalog) {
        const auto document = ManifestDocument::load(options.manifest);
        base_ = document.to_study(catalog);
        if (base_.phases.empty())
            throw ConfigError(options.manifest.string(), "no [[phase]] tables: msa run runs a study's phases "
                                                         "(docs/studies.md); for one configuration use msa trial");
        folder_ = fs::absolute(options.out.empty() ? base_.output / base_.name : options.out).lexically_normal();
        for (const auto& spec : base_.phases) phases_.push_back({spec, "pending", "", {}, std::nullopt});
        if (!options.phase.empty()) {
            const auto it = std::find_if(base_.phases.begin(), base_.phases.end(),
                                         [&](const PhaseSpec& p) { return p.name == options.phase; });
            if (it == base_.phases.end()) {
                std::vector<std::string> names;
                for (const auto& p : base_.phases) names.push_back(p.name);
                throw ConfigError(options.manifest.string(),
                                  "--phase " + options.phase + ": no such phase; phases: " + join(names));
            }
            // The phase and those it starts from, transitively.
            for (std::string name = options.phase; !name.empty();) {
                selected_.insert(name);
                name = phase_named(name).spec.from;
            }
        }
    }

    // Expands every phase as if each incumbent were its first configuration, and builds
    // every trial manifest: all problems at once, before anything runs.
    void check() {
        std::vector<ManifestProblem> problems;
        for (auto& phase : phases_) {
            expand(phase, /*dry_run=*/true);
            if (phase.status == "skipped") continue;
            for (auto& config : phase.configs)
                for (auto& trial : config.trials) {
                    try {
                        build_trial_study(options_.manifest, trial.changes, catalog_);
                    } catch (const ManifestError& e) {
                        for (const auto& p : e.problems())
                            problems.push_back({p.where, "phase '" + phase.spec.name + "', " + config.label + ": " + p.message});
                    } catch (const Error& e) {
                        problems.push_back({phase.spec.where, "phase '" + phase.spec.name + "', " + config.label + ": " + e.what()});
                    }
                    break; // seeds differ only in the seed
                }
            if (!phase.configs.empty()) phase.incumbent = 0;
        }
        // The same problem from several configurations is reported once.
        std::vector<ManifestProblem> unique;
        std::set<std::string> seen;
        for (auto& p : problems)
            if (seen.insert(p.where + p.message).second) unique.push_back(std::move(p));
        if (!unique.empty()) throw ManifestError(std::move(unique));
        for (auto& phase : phases_) phase = {phase.spec, "pending", "", {}, std::nullopt};
    }

    int run() {
        const auto start = std::chrono::steady_clock::now();
        started_ = utc_now();
        fs::create_directories(folder_);
        std::cerr << "study " << base_.name << ": " << phases_.size() << " phases into " << folder_.string() << "\n";
        bool interrupted = false, failures = false;
        for (auto& phase : phases_) {
            const bool run_it = selected_.empty() || selected_.count(phase.spec.name);
            expand(phase, /*dry_run=*/false);
            if (phase.status == "skipped") {
                std::cerr << "phase " << phase.spec.name << ": skipped: " << phase.reason << "\n";
            } else if (!interrupted) {
                if (!execute(phase, run_it)) interrupted = true;
            }
            choose_incumbent(phase);
            failures = failures || phase.status == "failed" ||
                       std::any_of(phase.configs.begin(), phase.configs.end(), [](const ConfigRun& c) {
                           return std::any_of(c.trials.begin(), c.trials.end(),
                                              [](const TrialRun& t) { return t.status == "failed"; });
                       });
            seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            write_results(interrupted ? "interrupted" : "running");
        }
        const std::string status = interrupted ? "interrupted" : failures ? "failed" : "complete";
        write_results(status);
        std::cerr << "study " << base_.name << ": " << status << " in " << std::fixed << std::setprecision(1)
                  << seconds_ << " s; results in " << (folder_ / "results.json").string() << "\n";
        try {
            const auto reports = report::write_reports(folder_);
            for (const auto& warning : reports.warnings) std::cerr << "report: warning: " << warning << "\n";
            std::cerr << "reports: " << reports.markdown.string() << ", " << reports.html.string() << "\n";
        } catch (const std::exception& e) {
            // The trials and results.json stand; `msa report` can write the reports again.
            std::cerr << "report: error: " << e.what() << "\n";
            if (!interrupted) failures = true;
        }
        if (interrupted) return 130;
        return failures ? 1 : 0;
    }

private:
    PhaseRun& phase_named(const std::string& name) {
        return *std::find_if(phases_.begin(), phases_.end(), [&](const PhaseRun& p) { return p.spec.name == name; });
    }

    Change trial_identity(const std::string& name, std::uint64_t seed) const {
        return {Change::Kind::toml, 0, {}, 0,
                "name = " + toml_string(name) + "\nseed = " + std::to_string(seed) +
                    "\noutput = " + toml_string(folder_.string()) + "\n"};
    }

    // The trials of a configuration, one per seed.
    void add_trials(ConfigRun& config, const PhaseSpec& spec, const std::vector<std::uint64_t>& seeds,
                    const std::function<std::vector<Change>(std::uint64_t)>& inherited,
                    const std::function<std::vector<Change>(std::uint64_t)>& own = {}) {
        for (auto seed : seeds) {
            TrialRun t;
            t.seed = seed;
            const std::string name = config.slug + "-s" + std::to_string(seed);
            t.folder = spec.name + "/" + name;
            t.own = inherited(seed);
            if (own)
                for (auto& c : own(seed)) t.own.push_back(std::move(c));
            t.changes = config.chain;
            t.changes.push_back(trial_identity(name, seed));
            t.changes.insert(t.changes.end(), t.own.begin(), t.own.end());
            config.trials.push_back(std::move(t));
        }
    }

    // The configurations and trials of `phase`, from the incumbent of its `from` phase.
    void expand(PhaseRun& phase, bool dry_run) {
        const PhaseSpec& spec = phase.spec;
        phase.configs.clear();
        const PhaseRun* from = spec.from.empty() ? nullptr : &phase_named(spec.from);
        const ConfigRun* incumbent = nullptr;
        if (from) {
            if (!from->incumbent) {
                phase.status = "skipped";
                phase.reason = "phase '" + spec.from + "' has no finished configuration to start from";
                return;
            }
            incumbent = &from->configs[*from->incumbent];
        }
        const std::vector<Change> base_chain = incumbent ? incumbent->chain : std::vector<Change>{};
        const std::vector<std::uint64_t> seeds = spec.seeds.empty() ? std::vector<std::uint64_t>{base_.seed} : spec.seeds;
        // The incumbent's trial for a seed (same split), else its best one.
        auto incumbent_trial = [&](std::uint64_t seed) -> const TrialRun* {
            for (const auto& t : incumbent->trials)
                if (t.seed == seed && t.status == "ok") return &t;
            return best_trial(*incumbent, from->spec.select);
        };
        const auto inherited = [&](std::uint64_t seed) -> std::vector<Change> {
            if (!incumbent || dry_run) return {};
            const TrialRun* source = incumbent_trial(seed);
            return source ? source->own : std::vector<Change>{};
        };

        // The incumbent of `from` beside this phase's configurations, its trials not run again.
        const auto reference = [&](const std::string& label, bool candidate) {
            ConfigRun config = *incumbent;
            config.label = label;
            config.reference = true;
            config.candidate = candidate;
            phase.configs.push_back(std::move(config));
        };
        if (spec.kind == "train" || spec.kind == "augmentation") {
            // Augmentation has to beat training without it to be handed on.
            if (spec.kind == "augmentation" && !dry_run)
                reference("no augmentation (incumbent of " + spec.from + ": " + incumbent->label + ")", true);
            for (const auto& point : sweep_points(spec, base_.seed)) {
                ConfigRun config;
                config.chain = base_chain;
                if (spec.has_set) config.chain.push_back({Change::Kind::set, spec.index, {}, 0, {}});
                std::string label, values;
                for (std::size_t a = 0; a < point.size(); ++a) {
                    const SweepAxis& axis = spec.sweep[a];
                    config.chain.push_back({Change::Kind::sweep, spec.index, axis.path, point[a], {}});
                    const std::string& value = axis.values[point[a]];
                    label += (label.empty() ? "" : ", ") + axis.path + "=" + value;
                    values += (values.empty() ? "" : "_") + value;
                    config.changes[axis.path] = value;
                }
                config.label = label.empty() ? spec.name : label;
                config.slug = slug(values.empty() ? spec.name : values);
                std::function<std::vector<Change>(std::uint64_t)> own;
                if (spec.kind == "augmentation" && !dry_run)
                    own = [&](std::uint64_t seed) -> std::vector<Change> {
                        const TrialRun* source = incumbent_trial(seed);
                        return {{Change::Kind::toml, 0, {}, 0,
                                 "[augmentation]\nhard_samples = " +
                                     toml_string((folder_ / source->folder / "predictions.csv").string()) +
                                     "\nhard_threshold = " + format_value(Value{spec.hard_threshold}) +
                                     "\nhard_fraction = " + format_value(Value{spec.hard_fraction}) + "\n"}};
                    };
                add_trials(config, spec, seeds, inherited, own);
                phase.configs.push_back(std::move(config));
            }
        } else if (spec.kind == "ablation") {
            // The incumbent's own models, evaluated with a modality missing, then retrained alone.
            std::vector<std::uint64_t> model_seeds;
            for (const auto& t : incumbent->trials)
                if (t.status == "ok" || dry_run) model_seeds.push_back(t.seed);
            auto evaluated = [&](const std::string& label, const std::string& keep, const std::string& fill) {
                ConfigRun config;
                config.label = label;
                config.slug = slug(keep + "-" + fill);
                config.chain = base_chain;
                config.changes = {{"evaluate.keep", keep}, {"evaluate.fill", fill}};
                std::function<std::vector<Change>(std::uint64_t)> own;
                if (!dry_run)
                    own = [&, keep, fill](std::uint64_t seed) -> std::vector<Change> {
                        return {{Change::Kind::toml, 0, {}, 0,
                                 "[evaluate]\nmodel = " + toml_string((folder_ / incumbent_trial(seed)->folder).string()) +
                                     "\nkeep = " + toml_string(keep) + "\nfill = " + toml_string(fill) + "\n"}};
                    };
                add_trials(config, spec, model_seeds, inherited, own);
                phase.configs.push_back(std::move(config));
            };
            evaluated("text + image", "both", "zeros");
            for (const auto& fill : spec.fills) {
                evaluated("text only (image " + fill + ")", "text", fill);
                evaluated("image only (text " + fill + ")", "image", fill);
            }
            if (spec.retrain)
                for (const std::string fusion : {"text-only", "image-only"}) {
                    ConfigRun config;
                    config.label = fusion + " retrained";
                    config.slug = slug(fusion + "-retrained");
                    config.chain = base_chain;
                    config.chain.push_back({Change::Kind::toml, 0, {}, 0, "fusion = " + toml_string(fusion) + "\n"});
                    config.changes = {{"fusion", fusion}};
                    add_trials(config, spec, model_seeds, inherited);
                    phase.configs.push_back(std::move(config));
                }
        } else if (spec.kind == "clip") {
            ClipConfig clip;
            clip.checkpoint = spec.clip;
            if (std::string reason; !train::clip_checkpoint_present(clip, reason)) {
                phase.status = "skipped";
                phase.reason = reason;
                return;
            }
            if (incumbent) reference("incumbent of " + spec.from + ": " + incumbent->label, false);
            std::string templates;
            if (!spec.templates.empty()) {
                for (const auto& t : spec.templates) templates += (templates.empty() ? "" : ", ") + toml_string(t);
                templates = "templates = [" + templates + "]\n";
            }
            for (const std::string method : {"linear-probe", "zero-shot"}) {
                ConfigRun config;
                config.label = "CLIP " + method;
                config.slug = slug("clip-" + method);
                config.chain = base_chain;
                config.chain.push_back({Change::Kind::toml, 0, {}, 0,
                                        "[clip]\ncheckpoint = " + toml_string(spec.clip.string()) +
                                            "\nmethod = " + toml_string(method) + "\n" + templates});
                config.changes = {{"clip.method", method}};
                // Zero-shot trains nothing: one seed says all.
                add_trials(config, spec, method == "zero-shot" ? std::vector<std::uint64_t>{seeds.front()} : seeds,
                           inherited);
                phase.configs.push_back(std::move(config));
            }
        }
    }

    // Builds, resumes or runs the phase's trials. Returns false when interrupted.
    bool execute(PhaseRun& phase, bool run_it) {
        std::vector<std::pair<std::size_t, std::size_t>> pending; // (config, trial)
        std::vector<WorkerJob> jobs;
        std::vector<Study> to_encode;
        std::size_t total = 0, resumed = 0;
        for (std::size_t c = 0; c < phase.configs.size(); ++c) {
            ConfigRun& config = phase.configs[c];
            if (config.reference) continue;
            for (std::size_t t = 0; t < config.trials.size(); ++t) {
                TrialRun& trial = config.trials[t];
                ++total;
                const fs::path dir = folder_ / trial.folder;
                Study study;
                try {
                    study = build_trial_study(options_.manifest, trial.changes, catalog_);
                    trial.planned = resolved_manifest(study);
                } catch (const std::exception& e) {
                    trial.status = "failed";
                    trial.error = e.what();
                    continue;
                }
                if (auto reason = missing_checkpoint(study)) {
                    trial.status = "skipped";
                    trial.error = *reason;
                    continue;
                }
                const auto metrics = read_json(dir / "metrics.json");
                if (metrics && metrics->value("status", "") == "ok" && read_file(dir / "trial.toml") == trial.planned) {
                    trial.status = "ok";
                    trial.metrics = *metrics;
                    trial.seconds = (*metrics)["seconds"].value("total", 0.0);
                    ++resumed;
                    continue;
                }
                if (!run_it) continue;
                fs::create_directories(dir);
                train::write_file_atomically(dir / "trial.toml", trial.planned);
                pending.push_back({c, t});
                jobs.push_back({dir / "trial.toml", dir, 1});
                if (!study.evaluate && !study.clip) to_encode.push_back(std::move(study));
            }
        }
        std::cerr << "phase " << phase.spec.name << " (" << phase.spec.kind
                  << (phase.spec.from.empty() ? "" : ", from " + phase.spec.from) << "): " << phase.configs.size()
                  << " configurations, " << total << " trials; " << resumed << " finished earlier, " << jobs.size()
                  << " to run" << (run_it ? "" : " (not selected by --phase)") << "\n";
        if (jobs.empty()) return true;
        encode_features(to_encode);

        const int workers = std::max(1, options_.jobs);
        const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        for (auto& job : jobs) job.threads = std::max(1, cores / std::min<int>(workers, static_cast<int>(jobs.size())));
        std::size_t finished = 0;
        const bool completed = run_workers(jobs, workers, [&](std::size_t j, const WorkerOutcome& outcome) {
            auto [c, t] = pending[j];
            ConfigRun& config = phase.configs[c];
            TrialRun& trial = config.trials[t];
            collect(trial, outcome);
            ++finished;
            std::ostringstream line;
            line << "[" << phase.spec.name << " " << finished << "/" << jobs.size() << "] " << trial.folder << ": ";
            if (trial.status == "ok")
                line << "valid " << phase.spec.select << " " << std::fixed << std::setprecision(4)
                     << metric_value(trial.metrics["valid"], phase.spec.select).value_or(NAN) << ", test weighted F1 "
                     << metric_value(trial.metrics["test"], "weighted_f1").value_or(NAN);
            else
                line << trial.status << (trial.error.empty() ? "" : ": " + trial.error.substr(0, trial.error.find('\n')));
            line << std::setprecision(1) << " (" << outcome.seconds << " s)";
            std::cerr << line.str() << "\n";
        });
        return completed;
    }

    // An augmenter's model folder that is absent (clip-tags without a CLIP checkpoint):
    // no such folder can be fetched here, so the trial is skipped with the reason, not failed.
    static std::optional<std::string> missing_checkpoint(const Study& study) {
        if (!study.augmenter || !study.augmenter->params.has("checkpoint")) return std::nullopt;
        const auto* name = std::get_if<std::string>(&study.augmenter->params.peek("checkpoint"));
        if (!name) return std::nullopt;
        const fs::path folder = *name;
        std::error_code ec;
        if (fs::is_directory(folder, ec)) return std::nullopt;
        return "augmenter " + study.augmenter->plugin + ": no model folder at " + folder.string() +
               " (scripts/fetch-models cannot fetch one; point checkpoint at a Hugging Face model folder)";
    }

    // A worker's trial folder, read back after it ended.
    void collect(TrialRun& trial, const WorkerOutcome& outcome) {
        const fs::path dir = folder_ / trial.folder;
        trial.seconds = outcome.seconds;
        const auto metrics = read_json(dir / "metrics.json");
        if (outcome.interrupted) {
            trial.status = "interrupted";
            trial.error = "stopped by Ctrl-C; runs again on the next msa run";
            fs::remove(dir / "metrics.json");
            return;
        }
        if (outcome.signal == 0 && outcome.exit_code == 0 && metrics && metrics->value("status", "") == "ok") {
            trial.status = "ok";
            trial.metrics = *metrics;
            // Samples only this trial has (augmented copies) are encoded by the trial itself.
            for (const auto& [modality, report] : (*metrics)["features"].items())
                store_use_.encoded += report.value("encoded", std::size_t{0});
            return;
        }
        trial.status = "failed";
        if (metrics && metrics->contains("error")) {
            trial.error = (*metrics)["error"].get<std::string>();
            return;
        }
        // The worker died before it could say why (a crashing plugin): say it for it.
        trial.error = outcome.signal ? "the worker process died of signal " + std::to_string(outcome.signal) + " (" +
                                           strsignal(outcome.signal) + "); see " + (dir / "worker.log").string()
                                     : "the worker process exited with " + std::to_string(outcome.exit_code) +
                                           " without writing metrics.json; see " + (dir / "worker.log").string();
        json failed{{"trial", dir.filename().string()}, {"seed", trial.seed}, {"status", "failed"}, {"error", trial.error}};
        train::write_file_atomically(dir / "error.txt", trial.error + "\n");
        train::write_file_atomically(dir / "metrics.json", failed.dump(2) + "\n");
    }

    // Encodes what the store lacks once, here, before the workers start, so parallel
    // workers never encode the same samples twice.
    void encode_features(const std::vector<Study>& studies) {
        std::set<std::string> done;
        for (const Study& study : studies) {
            std::string key = study.dataset.root.string() + "|" + store_path(study).string();
            for (const auto& [modality, choice] : study.encoders) {
                key += "|" + modality + ":" + choice.plugin;
                for (const auto& name : choice.params.names()) key += "," + name + "=" + format_value(choice.params.peek(name));
            }
            if (!done.insert(key).second) continue;
            const auto dataset = data::read_dataset(study.dataset);
            FeatureStore store(store_path(study), {study.store.dtype, static_cast<int>(study.store.compression)});
            for (const auto& [modality, choice] : study.encoders)
                for (const auto& r : encode_missing(modality, choice, catalog_, dataset.samples, store)) {
                    store_use_.from_store += r.from_store;
                    store_use_.encoded += r.encoded;
                    std::cerr << "features " << modality << " (" << choice.plugin << "): " << r.from_store
                              << " from the store, " << r.encoded << " encoded\n";
                }
        }
    }

    void choose_incumbent(PhaseRun& phase) {
        phase.incumbent.reset();
        if (phase.status == "skipped") return;
        std::optional<double> best;
        std::map<std::string, std::size_t> count;
        for (std::size_t c = 0; c < phase.configs.size(); ++c) {
            const ConfigRun& config = phase.configs[c];
            if (!config.reference)
                for (const auto& t : config.trials) ++count[t.status];
            if (config.reference && !config.candidate) continue;
            const auto value = mean_valid(config, phase.spec.select);
            if (value && (!best || *value > *best)) best = value, phase.incumbent = c;
        }
        if (count["interrupted"]) phase.status = "interrupted";
        else if (count["pending"]) phase.status = "pending"; // not selected by --phase, or not reached
        else if (!count["ok"]) phase.status = "failed", phase.reason = "no trial of the phase finished";
        else phase.status = "complete";
    }

    void write_results(const std::string& status) {
        json phases = json::array();
        std::string final_incumbent;
        StoreUse use = store_use_;
        for (const auto& phase : phases_) {
            json configs = json::array();
            for (const auto& config : phase.configs) {
                json trials = json::array();
                for (const auto& t : config.trials) {
                    trials.push_back({{"folder", t.folder}, {"seed", t.seed}, {"status", t.status},
                                      {"error", t.error.empty() ? json(nullptr) : json(t.error)}, {"seconds", t.seconds}});
                }
                const TrialRun* best = best_trial(config, phase.spec.select);
                json entry{{"label", config.label}, {"changes", config.changes}, {"trials", trials},
                           {"valid", summarize(config, "valid", base_.dataset.labels)},
                           {"test", summarize(config, "test", base_.dataset.labels)},
                           {"best_trial", best ? json(best->folder) : json(nullptr)}};
                if (config.reference) entry["reference"] = true;
                configs.push_back(std::move(entry));
            }
            if (phase.incumbent && (phase.spec.kind == "train" || phase.spec.kind == "augmentation"))
                if (const TrialRun* best = best_trial(phase.configs[*phase.incumbent], phase.spec.select))
                    final_incumbent = best->folder;
            phases.push_back({{"name", phase.spec.name}, {"kind", phase.spec.kind},
                              {"from", phase.spec.from.empty() ? json(nullptr) : json(phase.spec.from)},
                              {"select", phase.spec.select}, {"status", phase.status},
                              {"reason", phase.reason.empty() ? json(nullptr) : json(phase.reason)},
                              {"incumbent", phase.incumbent ? json(*phase.incumbent) : json(nullptr)},
                              {"configs", configs}});
        }
        const std::size_t lookups = use.from_store + use.encoded;
        json results{{"study", base_.name}, {"description", base_.description},
                     {"manifest", fs::absolute(options_.manifest).lexically_normal().string()},
                     {"labels", base_.dataset.labels}, {"status", status}, {"started", started_},
                     {"seconds", seconds_},
                     {"store", {{"from_store", use.from_store}, {"encoded", use.encoded},
                                {"hit_rate", lookups ? json(double(use.from_store) / double(lookups)) : json(nullptr)}}},
                     {"final_incumbent", final_incumbent.empty() ? json(nullptr) : json(final_incumbent)},
                     {"phases", phases}};
        train::write_file_atomically(folder_ / "results.json", results.dump(2) + "\n");
    }

    const RunOptions& options_;
    const PluginCatalog& catalog_;
    Study base_;
    fs::path folder_;
    std::vector<PhaseRun> phases_;
    std::set<std::string> selected_;
    std::string started_;
    double seconds_ = 0;
    StoreUse store_use_;
};

} // namespace

int run_study(const RunOptions& options, const PluginCatalog& catalog) {
    StudyRunner runner(options, catalog);
    runner.check();
    return runner.run();
}

void check_study(const fs::path& manifest, const PluginCatalog& catalog) {
    RunOptions options;
    options.manifest = manifest;
    StudyRunner(options, catalog).check();
}

} // namespace msa::study

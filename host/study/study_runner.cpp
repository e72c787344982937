// `msa run` (study_runner.hpp): plans each phase (study_plan.hpp), resumes finished
// trials, encodes what the store lacks, runs the rest on an executor (executor.hpp),
// reads their folders back, chooses incumbents and writes results.json after every phase.
#include "study/study_runner.hpp"

#include "data/dataset_reader.hpp"
#include "manifest/manifest_reader.hpp"
#include "manifest/resolved_manifest.hpp"
#include "plugin/plugin_catalog.hpp"
#include "records/results_file.hpp"
#include "records/trial_files.hpp"
#include "report/write_reports.hpp"
#include "store/encode_features.hpp"
#include "store/encoder_key.hpp"
#include "store/feature_store.hpp"
#include "study/executor.hpp"
#include "study/slurm_executor.hpp"
#include "study/study_features.hpp"
#include "study/study_lock.hpp"
#include "study/study_plan.hpp"
#include "train/clip_trial.hpp"
#include "train/distillation.hpp"
#include "train/trial_features.hpp"
#include "train/run_folder.hpp"
#include "train/seed_ensemble.hpp"
#include "util/suggest.hpp"
#include "util/utc_time.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

namespace msa::study {

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// A finished trial's trial.toml as if written where the study folder is now. A study
// folder moved or copied elsewhere keeps its trials: their trial.toml names the old
// folder (`output`, and paths into it such as reuse_model and hard_samples), read here as
// `planned`'s, so that only a change of plan runs a trial again.
std::string as_if_moved(const std::string& stored, const std::string& planned) {
    const auto folder_of = [](const std::string& manifest) -> std::string {
        static const std::string key = "\noutput = \"";
        const auto at = manifest.find(key);
        if (at == std::string::npos) return "";
        const auto begin = at + key.size();
        const auto end = manifest.find("\"\n", begin);
        return end == std::string::npos ? "" : manifest.substr(begin, end - begin);
    };
    const std::string from = folder_of(stored), to = folder_of(planned);
    if (from.empty() || to.empty() || from == to) return stored;
    std::string moved;
    std::size_t pos = 0;
    for (std::size_t at; (at = stored.find(from, pos)) != std::string::npos; pos = at + from.size()) {
        // Only a whole path value or its start: "<from>" or "<from>/...".
        const std::size_t after = at + from.size();
        const bool path = at > 0 && stored[at - 1] == '"' && after < stored.size() &&
                          (stored[after] == '"' || stored[after] == '/');
        moved.append(stored, pos, at - pos).append(path ? to : from);
    }
    return moved.append(stored, pos);
}

// The metrics of a trial folder when it finished well; nullopt when absent, unreadable
// or failed (then the trial runs, or ran, again).
std::optional<records::TrialMetrics> finished_metrics(const fs::path& folder) {
    try {
        auto metrics = records::read_trial_metrics(folder);
        if (metrics.status == TrialStatus::ok) return metrics;
    } catch (const Error&) {
    }
    return std::nullopt;
}

void take_metrics(TrialOutcome& outcome, const records::TrialMetrics& metrics) {
    outcome.status = TrialStatus::ok;
    outcome.valid = metrics.valid;
    outcome.test = metrics.test;
    outcome.distill = metrics.distill;
    outcome.parameters = metrics.parameters;
    outcome.solver = metrics.solver;
    outcome.trainable_layers = metrics.trainable_layers;
}

// A trial some earlier run finished: its metrics, and the time it took then.
void resume_finished(TrialOutcome& outcome, const records::TrialMetrics& metrics) {
    take_metrics(outcome, metrics);
    outcome.seconds = metrics.total_seconds;
}

// The last `count` lines of `file`, each on a line of its own, indented ("" when unreadable).
std::string last_lines(const fs::path& file, std::size_t count) {
    std::ifstream in(file);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
    std::string out;
    for (std::size_t i = lines.size() > count ? lines.size() - count : 0; i < lines.size(); ++i) out += "\n  " + lines[i];
    return out;
}

// A trial of a phase that is ready to run, and the study it describes.
struct PreparedTrial {
    std::size_t config = 0, trial = 0;
    Study study;
    records::StoreKeys store_keys; // of its frozen encoders, once the study has encoded them
};

class StudyRunner {
public:
    StudyRunner(const RunOptions& options, const PluginCatalog& catalog)
        : options_(options), catalog_(catalog) {
        const auto document = ManifestDocument::load(options.manifest);
        base_ = document.to_study(catalog);
        executor_ = make_executor();
        if (base_.phases.empty())
            throw ConfigError(options.manifest.string(), "no [[phase]] tables: msa run runs a study's phases "
                                                         "(docs/studies.md); for one configuration use msa trial");
        folder_ = fs::absolute(options.out.empty() ? base_.output / base_.name : options.out).lexically_normal();
        for (const auto& spec : base_.phases) phases_.push_back({spec, PhaseStatus::pending, "", {}, std::nullopt, std::nullopt});
        if (!options.phase.empty()) select_phase(options.phase);
    }

    // The command line's --executor, else the manifest's [executor] kind.
    std::unique_ptr<Executor> make_executor() const {
        const ExecutorConfig& e = base_.executor;
        const std::string kind = options_.executor.empty() ? e.kind : options_.executor;
        if (kind != "slurm") return local_executor(options_.jobs);
        // Every node reads the store: a machine's own /tmp or /dev/shm is not shared.
        const std::string store = fs::absolute(store_path(base_)).lexically_normal().string();
        for (const char* local : {"/tmp/", "/dev/shm/"})
            if (store.rfind(local, 0) == 0)
                throw ConfigError(options_.manifest.string(),
                                  "the slurm executor runs trials on other machines, which need the feature store "
                                  "on a filesystem they all see; " + store + " is under " + local +
                                  ": set [store] path to shared storage");
        return slurm_executor({e.partition, e.account, e.qos, e.time, e.cpus_per_trial, e.mem, e.gres, e.max_parallel,
                               e.setup, e.extra});
    }

    // Plans every phase as if each incumbent were its first configuration, and builds every
    // trial manifest: all problems at once, before anything runs.
    std::vector<PhaseOutline> check() {
        std::vector<ManifestProblem> problems;
        std::set<std::string> seen; // the same problem from several configurations is reported once
        std::vector<PhaseOutline> outline;
        for (std::size_t i = 0; i < phases_.size(); ++i) {
            PhasePlan phase = plan_phase(phases_[i].spec, context(/*dry_run=*/true), from_of(phases_[i].spec));
            PhaseOutline& o = outline.emplace_back();
            o.name = phase.spec.name;
            if (phase.status == PhaseStatus::skipped) o.skipped = phase.reason;
            for (const auto& config : phase.configs) {
                if (config.reference) continue;
                ++o.configurations;
                o.trials += config.trials.size();
                if (config.trials.empty()) continue;
                for (auto& p : trial_problems(phase, config, config.trials.front())) // seeds differ only in the seed
                    if (seen.insert(p.where + p.message).second) problems.push_back(std::move(p));
            }
            if (!phase.configs.empty()) phase.incumbent = 0;
            phases_[i] = std::move(phase);
        }
        if (!problems.empty()) throw ManifestError(std::move(problems));
        for (auto& phase : phases_) phase = {phase.spec, PhaseStatus::pending, "", {}, std::nullopt, std::nullopt};
        return outline;
    }

    int run() {
        const auto start = std::chrono::steady_clock::now();
        started_ = utc_now();
        if (std::error_code ec; !fs::create_directories(folder_, ec) && !fs::is_directory(folder_))
            throw Error("cannot make the study folder " + folder_.string() + " (" +
                        (options_.out.empty() ? "the manifest's output and name" : "--out") + "): " +
                        (ec ? ec.message() : "it exists and is not a folder"));
        const StudyLock lock(folder_);
        carry_earlier_runs();
        std::cerr << "study " << base_.name << ": " << phases_.size() << " phases into " << folder_.string() << " ("
                  << executor_->name() << " executor)\n";
        bool interrupted = false;
        for (auto& phase : phases_) {
            const bool run_it = selected_.empty() || selected_.count(phase.spec.name);
            phase = plan_phase(phase.spec, context(/*dry_run=*/false), from_of(phase.spec));
            if (phase.status == PhaseStatus::skipped) {
                std::cerr << "phase " << phase.spec.name << ": skipped: " << phase.reason << "\n";
            } else {
                if (!phase.reason.empty() && run_it) // a sweep not run (study_plan.cpp, optimizer_sweep_only)
                    std::cerr << "phase " << phase.spec.name << ": " << phase.reason << "\n";
                if (!interrupted && !execute(phase, run_it)) interrupted = true;
            }
            choose_incumbent(phase);
            score_ensemble(phase);
            seconds_ = earlier_seconds_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            write_results(interrupted ? StudyStatus::interrupted : StudyStatus::running);
        }
        const StudyStatus status = interrupted ? StudyStatus::interrupted
                                   : any_failure() ? StudyStatus::failed
                                                   : StudyStatus::complete;
        write_results(status);
        std::cerr << "study " << base_.name << ": " << to_string(status) << " in " << std::fixed
                  << std::setprecision(1) << seconds_ << " s; results in " << (folder_ / "results.json").string()
                  << "\n";
        const bool reported = write_reports();
        if (interrupted) return 130;
        return status == StudyStatus::failed || !reported ? 1 : 0;
    }

private:
    void select_phase(const std::string& name) {
        if (std::none_of(phases_.begin(), phases_.end(), [&](const PhasePlan& p) { return p.spec.name == name; })) {
            std::vector<std::string> names;
            for (const auto& p : phases_) names.push_back(p.spec.name);
            throw ConfigError(options_.manifest.string(), "--phase " + name + ": no such phase; phases: " + join(names));
        }
        // The phase and those it starts from, transitively.
        for (std::string n = name; !n.empty(); n = phase_named(n).spec.from) selected_.insert(n);
    }

    PhasePlan& phase_named(const std::string& name) {
        return *std::find_if(phases_.begin(), phases_.end(), [&](const PhasePlan& p) { return p.spec.name == name; });
    }
    const PhasePlan* from_of(const PhaseSpec& spec) { return spec.from.empty() ? nullptr : &phase_named(spec.from); }

    // The manifest a trial runs. Trials given a GPU by the executor ([executor] gres)
    // train on it unless the manifest names a device.
    Study trial_study(const std::vector<Change>& changes) const {
        Study study = build_trial_study(options_.manifest, changes, catalog_);
        if (executor_->gpus() && !study.train.device_given) study.train.device = "cuda";
        return study;
    }

    PlanContext context(bool dry_run) const {
        PlanContext c;
        c.study_seed = base_.seed;
        c.study_folder = folder_;
        c.dry_run = dry_run;
        c.unavailable = [](const PhaseSpec& spec) -> std::optional<std::string> {
            if (spec.kind != PhaseKind::clip) return std::nullopt;
            ClipConfig clip;
            clip.checkpoint = spec.clip;
            if (std::string reason; !train::clip_checkpoint_present(clip, reason)) return reason;
            return std::nullopt;
        };
        c.trial_exists = [folder = folder_](const std::string& trial) {
            std::error_code ec;
            return fs::exists(folder / trial / "trial.toml", ec);
        };
        return c;
    }

    // What is wrong with the manifest a trial of `config` would run.
    std::vector<ManifestProblem> trial_problems(const PhasePlan& phase, const PlannedConfig& config,
                                                const PlannedTrial& trial) const {
        const std::string prefix = "phase '" + phase.spec.name + "', " + config.label + ": ";
        try {
            const Study study = trial_study(trial.changes);
            check_prompt(study);
            train::check_distill(study, catalog_);
        } catch (const ManifestError& e) {
            std::vector<ManifestProblem> out;
            for (const auto& p : e.problems()) out.push_back({p.where, prefix + p.message});
            return out;
        } catch (const ConfigError& e) {
            return {{e.where(), prefix + e.message()}};
        } catch (const Error& e) {
            return {{phase.spec.where, prefix + e.what()}};
        }
        return {};
    }

    // A [prompt] model's template, label words and checkpoint are checked against its
    // tokenizer and weights, so it is built once per distinct [prompt] (loading the
    // checkpoint). An absent checkpoint folder is left to the run, which skips the trial.
    void check_prompt(const Study& study) const {
        if (!study.prompt) return;
        std::string key = study.prompt->plugin;
        for (const auto& name : study.prompt->params.names()) key += "," + name + "=" + format_value(study.prompt->params.peek(name));
        if (!prompts_checked_.insert(key).second || missing_model_folder(study)) return;
        train::build_prompt(study, catalog_, 0);
    }

    bool any_failure() const {
        for (const auto& phase : phases_) {
            if (phase.status == PhaseStatus::failed) return true;
            for (const auto& c : phase.configs)
                for (const auto& t : c.trials)
                    if (t.outcome.status == TrialStatus::failed) return true;
        }
        return false;
    }

    // A sweep point of a train phase that is the incumbent of `from` again (its trials'
    // manifests are that incumbent's for the same seed and fold, name aside: the encoders
    // phase's point at the encoders the architecture phase used) would train the same
    // models again, and training is deterministic: it takes the incumbent's trials. In a
    // keep_incumbent phase they are beside the sweep already, and the point is dropped.
    void take_repeated_incumbent(PhasePlan& phase) {
        const PhasePlan* from = from_of(phase.spec);
        if (phase.spec.kind != PhaseKind::train || !from || !from->incumbent) return;
        const PlannedConfig& incumbent = from->configs[*from->incumbent];
        for (auto config = phase.configs.begin(); config != phase.configs.end();) {
            if (config->reference || !repeats(*config, incumbent)) {
                ++config;
                continue;
            }
            std::cerr << "phase " << phase.spec.name << ": " << config->label << " is the incumbent of "
                      << phase.spec.from << " again (the same settings, seeds and folds): its "
                      << incumbent.trials.size() << " trials are taken, not trained again\n";
            const bool beside = std::any_of(phase.configs.begin(), phase.configs.end(), [&](const PlannedConfig& c) {
                return c.reference && c.trials.size() == incumbent.trials.size() &&
                       std::equal(c.trials.begin(), c.trials.end(), incumbent.trials.begin(),
                                  [](const PlannedTrial& a, const PlannedTrial& b) { return a.folder == b.folder; });
            });
            if (beside) {
                config = phase.configs.erase(config);
                continue;
            }
            PlannedConfig taken = incumbent;
            taken.label = config->label + " (the incumbent of " + phase.spec.from + ")";
            taken.changes = config->changes;
            taken.reference = taken.candidate = true;
            if (!incumbent.reference) taken.trained_as = incumbent.label;
            *config = std::move(taken);
            ++config;
        }
    }

    // Whether every trial of `config` is the finished trial of `incumbent` with the same
    // seed and fold, as their resolved manifests say.
    bool repeats(const PlannedConfig& config, const PlannedConfig& incumbent) const {
        if (config.trials.empty() || config.trials.size() != incumbent.trials.size()) return false;
        // The trial's name is the one line that differs; it is the first top-level key.
        const auto unnamed = [](const std::string& manifest) {
            const auto at = manifest.find("\nname = ");
            return at == std::string::npos ? manifest : manifest.substr(0, at) + manifest.substr(manifest.find('\n', at + 1));
        };
        for (const auto& trial : config.trials) {
            const auto same_draw = std::find_if(incumbent.trials.begin(), incumbent.trials.end(), [&](const PlannedTrial& t) {
                return t.seed == trial.seed && t.fold == trial.fold && t.outcome.status == TrialStatus::ok;
            });
            if (same_draw == incumbent.trials.end()) return false;
            std::string planned;
            try {
                planned = resolved_manifest(trial_study(trial.changes));
            } catch (const std::exception&) {
                return false; // prepare() reports it
            }
            if (unnamed(planned) != unnamed(read_file(folder_ / same_draw->folder / "trial.toml"))) return false;
        }
        return true;
    }

    // Builds each trial's manifest; a trial whose folder already holds it, finished, is
    // resumed; the others are written out to run. Returns the trials to run.
    std::vector<PreparedTrial> prepare(PhasePlan& phase, bool run_it, std::size_t& total, std::size_t& resumed) {
        std::vector<PreparedTrial> pending;
        for (std::size_t c = 0; c < phase.configs.size(); ++c) {
            if (phase.configs[c].reference) continue;
            for (std::size_t t = 0; t < phase.configs[c].trials.size(); ++t) {
                PlannedTrial& trial = phase.configs[c].trials[t];
                ++total;
                const fs::path dir = folder_ / trial.folder;
                Study study;
                std::string planned;
                try {
                    study = trial_study(trial.changes);
                    planned = resolved_manifest(study);
                } catch (const std::exception& e) {
                    trial.outcome.status = TrialStatus::failed;
                    trial.outcome.error = e.what();
                    continue;
                }
                std::string clip_absent;
                if (study.clip && !train::clip_checkpoint_present(*study.clip, clip_absent)) {
                    trial.outcome.status = TrialStatus::skipped; // a clip phase is skipped whole before this
                    trial.outcome.error = clip_absent;
                    continue;
                }
                if (auto reason = missing_model_folder(study)) {
                    trial.outcome.status = TrialStatus::skipped;
                    trial.outcome.error = *reason;
                    continue;
                }
                const std::string stored = read_file(dir / "trial.toml");
                if (auto metrics = finished_metrics(dir); metrics && as_if_moved(stored, planned) == planned) {
                    // The study folder moved: its trial.toml names where it is now.
                    if (stored != planned) train::write_file_atomically(dir / "trial.toml", planned);
                    resume_finished(trial.outcome, *metrics);
                    ++resumed;
                    continue;
                }
                if (!run_it) continue;
                fs::create_directories(dir);
                if (stored != planned) fs::remove(dir / "metrics.json"); // another plan's
                train::write_file_atomically(dir / "trial.toml", planned);
                pending.push_back({c, t, std::move(study)});
            }
        }
        return pending;
    }

    // Builds, resumes or runs the phase's trials. Returns false when interrupted.
    bool execute(PhasePlan& phase, bool run_it) {
        take_repeated_incumbent(phase);
        std::size_t total = 0, resumed = 0;
        std::vector<PreparedTrial> pending = prepare(phase, run_it, total, resumed);
        std::cerr << "phase " << phase.spec.name << " (" << to_string(phase.spec.kind)
                  << (phase.spec.from.empty() ? "" : ", from " + phase.spec.from) << "): " << phase.configs.size()
                  << " configurations, " << total << " trials; " << resumed << " finished earlier, " << pending.size()
                  << " to run" << (run_it ? "" : " (not selected by --phase)") << "\n";
        if (pending.empty()) return true;
        if (!encode_features(phase, pending)) return false;
        // An earlier msa run's job array that still ran when this one began may have
        // finished some of them meanwhile: they are taken, not run twice.
        const auto before = pending.size();
        pending.erase(std::remove_if(pending.begin(), pending.end(),
                                     [&](const PreparedTrial& p) {
                                         PlannedTrial& trial = phase.configs[p.config].trials[p.trial];
                                         const auto metrics = finished_metrics(folder_ / trial.folder);
                                         if (metrics) resume_finished(trial.outcome, *metrics);
                                         return metrics.has_value();
                                     }),
                      pending.end());
        if (pending.size() != before)
            std::cerr << "phase " << phase.spec.name << ": " << before - pending.size()
                      << " trials were finished meanwhile by the job array of an earlier run\n";
        if (pending.empty()) return true;

        std::vector<TrialJob> jobs;
        for (const auto& p : pending) {
            const fs::path dir = folder_ / phase.configs[p.config].trials[p.trial].folder;
            TrialJob& job = jobs.emplace_back(TrialJob{dir / "trial.toml", dir, {}});
            fs::remove(dir / "store_keys.json"); // another study's, or this one's before the store changed
            if (p.store_keys.empty()) continue;
            job.store_keys = dir / "store_keys.json";
            train::write_file_atomically(job.store_keys, records::store_keys_json(p.store_keys));
        }
        std::size_t finished = 0;
        const auto started = std::chrono::steady_clock::now();
        return executor_->run(jobs, [&](std::size_t j, const JobOutcome& outcome) {
            PlannedTrial& trial = phase.configs[pending[j].config].trials[pending[j].trial];
            collect(trial, outcome);
            const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            std::cerr << progress_line(phase, ++finished, jobs.size(), trial, outcome.seconds, elapsed) << "\n";
        });
    }

    // A model folder that a plugin of the trial declares (ParamSpec::model_folder) and that
    // is absent (clip-tags without a CLIP checkpoint, an encoder choice whose checkpoint was
    // not fetched): the trial is skipped with the reason and where to get one, not failed.
    std::optional<std::string> missing_model_folder(const Study& study) const {
        std::optional<std::string> reason;
        for_each_plugin_choice(study, [&](PluginKind kind, const PluginChoice& choice) {
            if (reason || choice.plugin.empty()) return;
            const PluginEntry& entry = catalog_.get(kind, choice.plugin, choice.where);
            for (const ParamSpec& spec : entry.info.params) {
                if (reason || !spec.is_model_folder || !choice.params.has(spec.name)) continue;
                const auto* folder = std::get_if<std::string>(&choice.params.peek(spec.name));
                std::error_code ec;
                if (!folder || fs::is_directory(*folder, ec)) continue;
                reason = std::string(to_string(kind)) + " " + choice.plugin + ": no model folder at " + *folder +
                         " (" + spec.name + ": " + spec.doc + ")";
            }
        });
        return reason;
    }

    // The incumbent's seed ensemble on the test split, from its finished trials'
    // predictions.csv: reported beside the seeds' mean ± std, never used to choose.
    void score_ensemble(PhasePlan& phase) const {
        phase.incumbent_ensemble.reset();
        if (!phase.incumbent || !hands_on_incumbent(phase.spec.kind)) return;
        std::vector<const PlannedTrial*> finished;
        for (const auto& t : phase.configs[*phase.incumbent].trials)
            if (t.outcome.status == TrialStatus::ok) finished.push_back(&t);
        if (finished.size() < 2) return; // one seed is its own ensemble
        records::EnsembleScores scores;
        try {
            std::vector<train::SeedPredictions> seeds;
            for (const PlannedTrial* t : finished)
                seeds.push_back({t->folder, static_cast<std::int64_t>(t->seed),
                                 read_predictions(folder_ / t->folder, base_.dataset.labels)});
            scores = train::test_ensemble(seeds);
        } catch (const Error& e) {
            scores = {};
            for (const PlannedTrial* t : finished) {
                scores.trials.push_back(t->folder);
                scores.seeds.push_back(static_cast<std::int64_t>(t->seed));
            }
            scores.unavailable = e.what();
        }
        std::ostringstream line;
        line << "phase " << phase.spec.name << ": seed ensemble of the incumbent (" << scores.trials.size()
             << (phase.spec.select_folds >= 2 ? " models, a seed's on each fold" : " seeds") << "): ";
        if (scores.scored())
            line << "test weighted F1 " << std::fixed << std::setprecision(4) << scores.weighted_f1 << ", macro F1 "
                 << scores.macro_f1 << ", accuracy " << scores.accuracy << " on " << scores.samples << " test rows";
        else
            line << "not scored: " << scores.unavailable;
        std::cerr << line.str() << "\n";
        phase.incumbent_ensemble = std::move(scores);
    }

    // A trial's folder, read back after its job ended.
    void collect(PlannedTrial& trial, const JobOutcome& job) {
        const fs::path dir = folder_ / trial.folder;
        TrialOutcome& outcome = trial.outcome;
        outcome.seconds = job.seconds;
        if (job.interrupted) {
            outcome.status = TrialStatus::interrupted;
            outcome.error = "stopped by Ctrl-C; runs again on the next msa run";
            fs::remove(dir / "metrics.json");
            return;
        }
        std::optional<records::TrialMetrics> metrics;
        try {
            metrics = records::read_trial_metrics(dir);
        } catch (const Error&) {
        }
        if (job.signal == 0 && job.exit_code == 0 && metrics && metrics->status == TrialStatus::ok) {
            take_metrics(outcome, *metrics);
            // Samples only this trial has (augmented copies) are encoded by the trial itself.
            store_use_.encoded += static_cast<std::int64_t>(metrics->encoded);
            return;
        }
        outcome.status = TrialStatus::failed;
        if (metrics && !metrics->error.empty()) {
            outcome.error = metrics->error;
            return;
        }
        // The worker died before it could say why (a crashing plugin): say it for it.
        const std::string log = (dir / "worker.log").string();
        outcome.error = !job.reason.empty() ? job.reason + "; see " + log
                        : job.signal ? "the worker process died of signal " + std::to_string(job.signal) + " (" +
                                           strsignal(job.signal) + "); see " + log
                                     : "the worker process exited with " + std::to_string(job.exit_code) +
                                           " without writing metrics.json; see " + log;
        train::write_file_atomically(dir / "error.txt", outcome.error + "\n");
        train::write_file_atomically(dir / "metrics.json",
                                     records::failed_trial_metrics(dir.filename().string(), trial.seed, outcome.error));
    }

    // Encodes what the store lacks once, before the trials start, so parallel trials never
    // encode the same samples twice, and gives each trial the store keys of its frozen
    // encoders, so that its worker need not load their weights to find them. With an
    // executor on other machines, what is missing is encoded by a job of its own there
    // (msa encode on one trial manifest per distinct set of encoders), unless
    // --encode-locally. Returns false when interrupted.
    bool encode_features(const PhasePlan& phase, std::vector<PreparedTrial>& trials) {
        std::vector<std::string> key_of(trials.size()); // "" for a trial that reads no features
        std::map<std::string, std::size_t> first;       // features key -> the first trial that reads them
        for (std::size_t i = 0; i < trials.size(); ++i)
            if (reads_features(trials[i].study)) first.emplace(key_of[i] = features_key(trials[i].study), i);
        const bool elsewhere = executor_->remote() && !options_.encode_locally;
        std::map<std::string, records::StoreKeys> keys;
        std::vector<std::string> lines; // what each pass found, said when nothing was left to encode
        std::size_t missing = 0;
        for (const auto& [key, i] : first) {
            const Study& study = trials[i].study;
            FeatureStore store(store_path(study), {study.store.dtype, static_cast<int>(study.store.compression)});
            const auto report = [&](const EncodeResult& r, const std::string& what) {
                missing += r.missing;
                store_use_.from_store += static_cast<std::int64_t>(r.from_store);
                store_use_.encoded += static_cast<std::int64_t>(r.encoded);
                lines.push_back("features " + what + " (" + r.plugin + "): " + std::to_string(r.from_store) +
                                " from the store, " + std::to_string(r.encoded) + " encoded");
                if (!elsewhere) std::cerr << lines.back() << "\n";
            };
            keys[key] = encode_study_features(study, catalog_, read_dataset(study.dataset).samples, store, report,
                                              /*count_only=*/elsewhere);
        }
        if (elsewhere && missing == 0)
            for (const auto& line : lines) std::cerr << line << "\n";
        if (elsewhere && missing > 0 && !encode_elsewhere(phase, trials, first)) return false;
        for (std::size_t i = 0; i < trials.size(); ++i)
            if (!key_of[i].empty()) trials[i].store_keys = keys.at(key_of[i]);
        return true;
    }

    // The encode step as a job of the executor's; says what it encoded. Returns false when
    // interrupted.
    bool encode_elsewhere(const PhasePlan& phase, const std::vector<PreparedTrial>& trials,
                          const std::map<std::string, std::size_t>& first) {
        const fs::path folder = folder_ / phase.spec.name / "encode";
        fs::create_directories(folder);
        StepJob step{"encode", {"encode", "--counts", (folder / "counts.json").string()}, folder};
        for (const auto& [key, i] : first)
            step.arguments.push_back(
                (folder_ / phase.configs[trials[i].config].trials[trials[i].trial].folder / "trial.toml").string());
        fs::remove(folder / "counts.json");
        const JobOutcome outcome = executor_->run_step(step);
        if (outcome.interrupted) return false;
        if (outcome.exit_code != 0 || outcome.signal != 0 || !outcome.reason.empty())
            throw Error("phase " + phase.spec.name + ": the encode step failed" +
                        (outcome.reason.empty() ? " (exit code " + std::to_string(outcome.exit_code) + ")"
                                                : ": " + outcome.reason) +
                        "; the end of " + (folder / "worker.log").string() + ":" +
                        last_lines(folder / "worker.log", 8) +
                        "\n(msa run --encode-locally encodes on this machine instead)");
        std::vector<records::EncodeCount> counts;
        try {
            counts = records::read_encode_counts(folder / "counts.json");
        } catch (const Error& e) {
            throw Error("phase " + phase.spec.name + ": the encode step's counts: " + e.what() + "; see " +
                        (folder / "worker.log").string());
        }
        for (const auto& r : counts) {
            // The count pass took these as from the store; the job encoded them.
            store_use_.encoded += r.encoded;
            std::cerr << "features " << r.what << " (" << r.plugin << "): " << r.encoded << " encoded by the encode job\n";
        }
        return true;
    }

    // The dataset, read once for the whole study (every phase encodes from it).
    const data::Dataset& read_dataset(const DatasetConfig& config) {
        std::string key = config.format + "|" + config.root.string() + "|" + config.encoding + "|" + config.on_error;
        for (const auto& label : config.labels) key += "|" + label;
        auto it = datasets_.find(key);
        if (it == datasets_.end()) it = datasets_.emplace(key, data::read_dataset(config)).first;
        return it->second;
    }

    // A rerun into a folder of an earlier run (resumed after a stop, or run again when
    // complete) reports the whole: the first run's start, the seconds and store use of
    // every run. An unreadable results.json is left to be replaced, as the trials say all.
    void carry_earlier_runs() {
        const fs::path file = folder_ / "results.json";
        if (!fs::exists(file)) return;
        try {
            const records::StudyResults earlier = records::read_study_results(file);
            if (!earlier.started.empty()) started_ = earlier.started;
            earlier_seconds_ = earlier.seconds.value_or(0);
            if (earlier.store) {
                store_use_.from_store += earlier.store->from_store;
                store_use_.encoded += earlier.store->encoded;
            }
        } catch (const Error& e) {
            std::cerr << "note: " << file.string() << " is not read (" << e.what()
                      << "); its wall time and store use are not carried into this run's\n";
        }
    }

    records::StudyResults results(StudyStatus status) const {
        records::StudyResults out;
        out.study = base_.name;
        out.description = base_.description;
        out.manifest = fs::absolute(options_.manifest).lexically_normal().string();
        out.labels = base_.dataset.labels;
        out.status = status;
        out.started = started_;
        out.seconds = seconds_;
        records::StoreUse use = store_use_;
        const auto lookups = use.from_store + use.encoded;
        use.hit_rate = lookups ? static_cast<double>(use.from_store) / static_cast<double>(lookups) : 0.0;
        out.store = use;
        for (const auto& phase : phases_) {
            out.phases.push_back(phase_result(phase, base_.dataset.labels));
            if (phase.incumbent && hands_on_incumbent(phase.spec.kind))
                if (const PlannedTrial* best = best_trial(phase.configs[*phase.incumbent], phase.spec.select))
                    out.final_incumbent = best->folder;
        }
        return out;
    }

    void write_results(StudyStatus status) const {
        train::write_file_atomically(folder_ / "results.json", records::results_json(results(status)));
    }

    // report.md and report.html; false when they could not be written.
    bool write_reports() const {
        try {
            const auto reports = report::write_reports(folder_);
            for (const auto& warning : reports.warnings) std::cerr << "report: warning: " << warning << "\n";
            std::cerr << "reports: " << reports.markdown.string() << ", " << reports.html.string() << "\n";
            return true;
        } catch (const std::exception& e) {
            // The trials and results.json stand; `msa report` can write the reports again.
            std::cerr << "report: error: " << e.what() << "\n";
            return false;
        }
    }

    const RunOptions& options_;
    const PluginCatalog& catalog_;
    std::unique_ptr<Executor> executor_;
    Study base_;
    fs::path folder_;
    std::vector<PhasePlan> phases_;
    std::set<std::string> selected_;
    std::string started_;
    double seconds_ = 0;
    double earlier_seconds_ = 0; // of the runs before this one into the same folder
    records::StoreUse store_use_;
    mutable std::set<std::string> prompts_checked_; // [prompt] tables msa validate built once
    std::map<std::string, data::Dataset> datasets_;
};

} // namespace

int run_study(const RunOptions& options, const PluginCatalog& catalog) {
    StudyRunner runner(options, catalog);
    runner.check();
    return runner.run();
}

std::vector<PhaseOutline> check_study(const fs::path& manifest, const PluginCatalog& catalog) {
    RunOptions options;
    options.manifest = manifest;
    return StudyRunner(options, catalog).check();
}

} // namespace msa::study

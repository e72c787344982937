// Where a phase's trials run. The study runner plans, resumes and collects; an executor
// only runs `msa trial` on each planned trial.toml, with the trial folder as its run
// folder, and says how each one ended. What a trial produced is read back from its
// folder (records/trial_files.hpp), never from the executor, so every executor yields the
// same run folders, resume and results.json.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace msa::study {

struct TrialJob {
    std::filesystem::path trial_file; // the planned trial.toml
    std::filesystem::path folder;     // its run folder (absolute)
    std::filesystem::path store_keys; // its store_keys.json (records/trial_files.hpp), or empty
};

// The arguments after `msa` that run `job` with `threads` intra-op threads: every executor
// runs exactly this command, so a trial behaves the same wherever it runs.
std::vector<std::string> trial_arguments(const TrialJob& job, int threads);

// How a job's process ended.
struct JobOutcome {
    int exit_code = 0;        // when it exited
    int signal = 0;           // when a signal ended it (0: it exited)
    bool interrupted = false; // stopped by msa after Ctrl-C or SIGTERM
    std::string reason;       // the executor's own words when the job never ran to an end
    double seconds = 0;
};

// A step a phase's trials wait for (the encode step): `msa ARGUMENTS` run once, its
// output in `folder`/worker.log.
struct StepJob {
    std::string name; // "encode"
    std::vector<std::string> arguments;
    std::filesystem::path folder;
};

class Executor {
public:
    virtual ~Executor() = default;
    // "local", "slurm", ...
    virtual std::string name() const = 0;
    // Whether its jobs run on other machines: the runner then sends the encode step there
    // too (unless msa run --encode-locally); else it encodes in its own process.
    virtual bool remote() const { return false; }
    // Whether it gives each trial a GPU of its own (Slurm's --gres=gpu:N).
    virtual bool gpus() const { return false; }
    // Runs `step` to its end and says how it ended; interrupted when Ctrl-C or SIGTERM
    // stopped it.
    virtual JobOutcome run_step(const StepJob& step) = 0;
    // Runs every job, calling `done(index, outcome)` in the calling thread as each one
    // ends. Returns false when interrupted (Ctrl-C, SIGTERM) before every job ran; the
    // jobs that had not ended are reported as interrupted or not at all.
    virtual bool run(const std::vector<TrialJob>& jobs,
                     const std::function<void(std::size_t job, const JobOutcome&)>& done) = 0;
};

// Worker processes on this machine, `workers` at once, each with an equal share of the
// usable cores as its intra-op threads (study/worker_pool.hpp).
std::unique_ptr<Executor> local_executor(int workers);

} // namespace msa::study

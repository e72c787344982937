// Trials run in worker processes (`msa trial`), at most N at once: a plugin that crashes
// fails its trial, not the study. Ctrl-C (SIGINT) or SIGTERM stops the workers and
// returns; what finished stays finished.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace msa::study {

struct WorkerJob {
    std::vector<std::string> arguments; // of `msa`: trial_arguments() (executor.hpp)
    std::filesystem::path folder;       // the run folder; the worker's output goes to worker.log there
};

struct WorkerOutcome {
    int exit_code = 0; // when it exited
    int signal = 0;    // when a signal ended it (0: it exited)
    bool interrupted = false; // stopped by us after Ctrl-C
    double seconds = 0;
};

class ForkServer;

// Runs `jobs` with at most `workers` at once, calling `done` as each ends (in this
// thread); forked by `server` when given (fork_server.hpp), else started afresh. Returns
// false when interrupted before every job ran.
bool run_workers(const std::vector<WorkerJob>& jobs, int workers,
                 const std::function<void(std::size_t job, const WorkerOutcome&)>& done,
                 ForkServer* server = nullptr);

// The `msa` binary the workers run (this process's own executable).
std::filesystem::path msa_executable();

} // namespace msa::study

// The Slurm executor: a phase's trials as one job array (sbatch --array), polled until
// every task ended; nothing Slurm-specific lives outside it.
#pragma once

#include "study/executor.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace msa::study {

// What each array task asks of Slurm ([executor] in the manifest, docs/studies.md).
struct SlurmOptions {
    std::string partition;             // empty: the cluster's default
    std::string account, qos;          // empty: none given
    std::string time;                  // per trial, Slurm's format ("30", "01:00:00"); empty: the partition's
    std::int64_t cpus_per_trial = 2;   // --cpus-per-task, and the trial's intra-op threads
    std::string mem;                   // --mem ("8G"); empty: the partition's default
    std::string gres;                  // --gres ("gpu:1"); empty: none
    std::int64_t max_parallel = 0;     // the array's %N; 0: no limit
    std::vector<std::string> setup;    // shell lines run before each trial (module load ...)
    std::vector<std::string> extra;    // more sbatch options, as #SBATCH lines
};

// Writes <phase folder>/slurm/array.sh and tasks.tsv (index, trial folder, digest, command:
// a person can read and resubmit them), submits the array, and polls squeue with back-off;
// a task that ends reports its exit code, or Slurm's state (TIMEOUT, OUT_OF_MEMORY,
// NODE_FAIL, CANCELLED, ...) from scontrol, else sacct, as the reason. Ctrl-C or SIGTERM
// cancels the array (scancel) and reports what had not ended as interrupted. When msa died
// while the phase's array ran, a rerun re-attaches to it (slurm/job_id) if it still runs
// every pending trial as planned now (the digest of each trial.toml in tasks.tsv). A step
// (the encode step) is an array of one task, its files in the step's folder.
std::unique_ptr<Executor> slurm_executor(SlurmOptions options);

} // namespace msa::study

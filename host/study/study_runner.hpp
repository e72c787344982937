// `msa run`: a study's phases, one after another (docs/studies.md). Each phase is
// expanded into trials (sweep points × seeds) from the incumbent of the phase it starts
// from; the trials run in worker processes; the phase's incumbent is the configuration
// with the best mean validation `select`. results.json is written after every phase.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace msa {
class PluginCatalog;
}

namespace msa::study {

struct RunOptions {
    std::filesystem::path manifest;
    std::string phase;         // run only this phase and those it starts from; empty: all
    int jobs = 1;              // worker processes at once
    std::filesystem::path out; // empty: <output>/<name> of the manifest
    std::string executor;      // local | slurm; empty: the manifest's [executor] kind
    bool encode_locally = false; // with an executor on other machines: encode here, not as a job there
};

// Runs the study; returns the exit code: 0 when every phase completed, 1 when a trial
// or phase failed, 130 when interrupted (Ctrl-C).
int run_study(const RunOptions& options, const PluginCatalog& catalog);

// What a phase would run, as msa validate tells it before anything has run.
struct PhaseOutline {
    std::string name;
    std::size_t configurations = 0;
    // Trials at most: msa run takes an incumbent's trials where a sweep point repeats them
    // and leaves out a sweep that cannot change its incumbent.
    std::size_t trials = 0;
    std::string skipped; // why the phase will be skipped here; empty when it runs
};

// Checks a study's phases and every trial manifest they expand to, without running
// anything (msa validate), and outlines each phase. Throws ManifestError listing the
// problems.
std::vector<PhaseOutline> check_study(const std::filesystem::path& manifest, const PluginCatalog& catalog);

} // namespace msa::study

// The subcommands of `msa`: each registers its options on the CLI11 app and runs.
#pragma once

#include <CLI/CLI.hpp>

#include "plugin/plugin_loader.hpp"

#include <filesystem>
#include <functional>
#include <ostream>
#include <vector>

namespace msa::cli {

// A subcommand added to the app, and what runs it once parsed (returns the exit code).
struct Command {
    CLI::App* subcommand;
    std::function<int()> run;
};

// Loads the built-in plugins, MSA_PLUGIN_PATH and `extra` into `catalog`; prints each
// library that failed as a warning on stderr and returns them.
std::vector<LoadFailure> load_plugins(PluginCatalog& catalog, const std::vector<std::filesystem::path>& extra = {});

// Every command with its synopsis and a one-line summary (what `msa` alone prints).
void print_command_list(std::ostream& out);

Command add_encode_command(CLI::App& app);
Command add_plugins_command(CLI::App& app);
Command add_validate_command(CLI::App& app);
Command add_version_command(CLI::App& app);
Command add_cache_command(CLI::App& app);
Command add_trial_command(CLI::App& app);
Command add_demo_data_command(CLI::App& app);
Command add_run_command(CLI::App& app);
Command add_report_command(CLI::App& app);
Command add_predict_command(CLI::App& app);

} // namespace msa::cli

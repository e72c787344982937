// msa: the workbench's command-line entry point.
#include "cli/commands.hpp"
#include "study/fork_server.hpp"
#include "util/build_info.hpp"
#include "util/heap_policy.hpp"
#include "util/omp_wait_policy.hpp"
#include "util/thread_budget.hpp"

#include <msa/error.hpp>

#include <filesystem>
#include <iostream>
#include <vector>

namespace {

// A command line, parsed and run: what main does after the process-wide settings, and
// what each worker of msa run's fork server runs (study/fork_server.hpp).
int run_command(int argc, char** argv) {
    // `threads = 0` means every usable core; LibTorch alone would start with one.
    msa::set_intra_op_threads(msa::usable_cores());
    CLI::App app{"msa: multimodal (image + text) sentiment analysis workbench"};
    app.require_subcommand(1);
    app.set_version_flag("--version", MSA_VERSION);
    const std::vector<msa::cli::Command> commands{
        msa::cli::add_encode_command(app),
        msa::cli::add_plugins_command(app),
        msa::cli::add_validate_command(app),
        msa::cli::add_version_command(app),
        msa::cli::add_cache_command(app),
        msa::cli::add_trial_command(app),
        msa::cli::add_demo_data_command(app),
        msa::cli::add_run_command(app),
        msa::cli::add_report_command(app),
        msa::cli::add_predict_command(app),
    };
    if (argc == 1) {
        // A bare `msa` is a usage error, answered with the commands rather than CLI11's
        // "A subcommand is required".
        msa::cli::print_command_list(std::cerr);
        return 2;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version exit 0; every usage error exits 2, like most Unix tools.
        return app.exit(e) == 0 ? 0 : 2;
    }
    try {
        for (const auto& command : commands)
            if (command.subcommand->parsed()) return command.run();
    } catch (const msa::Error& e) {
        std::cerr << "msa: " << e.what() << "\n";
        return 1;
    } catch (const std::filesystem::filesystem_error& e) {
        // The file system refused (a path that is a file, no permission, a full disk):
        // the user's to mend, not msa's fault. what() names the operation and the paths.
        std::string what = e.what();
        if (const std::string prefix = "filesystem error: "; what.rfind(prefix, 0) == 0) what.erase(0, prefix.size());
        std::cerr << "msa: " << what << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "msa: internal error: " << e.what() << "\n";
        return 2;
    }
    return 1;
}

} // namespace

int main(int argc, char** argv) {
    msa::use_passive_omp_wait(argv);
    msa::keep_freed_memory();
    // Before any thread starts: the server forks.
    if (msa::study::is_fork_server(argc, argv)) return msa::study::serve_forks(run_command, argc, argv);
    return run_command(argc, argv);
}

// `msa run MANIFEST`: runs a study's phases (docs/studies.md).
#include "cli/commands.hpp"

#include "manifest/manifest_reader.hpp"
#include "study/study_runner.hpp"

#include <iostream>

namespace msa::cli {

Command add_run_command(CLI::App& app) {
    auto options = std::make_shared<study::RunOptions>();
    auto manifest = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    CLI::App* sub = app.add_subcommand(
        "run", "Run a study: every phase's trials in worker processes, the incumbent of each phase, results.json "
               "and the reports; a rerun skips finished trials");
    sub->add_option("manifest", *manifest, "The study manifest (TOML) with [[phase]] tables")->required();
    sub->add_option("--phase", options->phase, "Run only this phase (and the phases it starts from)");
    sub->add_option("--jobs,-j", options->jobs, "Trials run at once, each in its own worker process")
        ->check(CLI::Range(1, 256))
        ->default_val(1);
    sub->add_option("--executor", options->executor,
                    "Where the trials run: local (worker processes here, --jobs at once) or slurm (a job array "
                    "per phase, [executor] in the manifest); default: the manifest's [executor] kind, else local")
        ->check(CLI::IsMember({"local", "slurm"}));
    sub->add_flag("--encode-locally", options->encode_locally,
                  "With the slurm executor: encode what the store lacks on this machine, not as a job of its own");
    sub->add_option("--out", *out, "Study folder (default: <output>/<name> of the manifest, e.g. runs/<study>)");
    return {sub, [options, manifest, out] {
                options->manifest = *manifest;
                options->out = *out;
                const auto document = ManifestDocument::load(options->manifest);
                PluginCatalog catalog;
                load_plugins(catalog, document.plugin_paths());
                return study::run_study(*options, catalog);
            }};
}

} // namespace msa::cli

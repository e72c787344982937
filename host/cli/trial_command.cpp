// `msa trial FILE`: runs one fully resolved trial and writes its run folder.
#include "cli/commands.hpp"

#include "manifest/manifest_reader.hpp"
#include "train/trial.hpp"

#include <iostream>

namespace msa::cli {

Command add_trial_command(CLI::App& app) {
    struct Options {
        std::string manifest;
        std::string out;
        int threads = 0;
    };
    auto options = std::make_shared<Options>();
    CLI::App* sub = app.add_subcommand(
        "trial", "Run one trial: split, sample, encode what the store lacks, train, evaluate, write the run folder");
    sub->add_option("manifest", options->manifest, "The trial's manifest (TOML)")->required();
    sub->add_option("--out", options->out, "Run folder (default: <output>/<name> of the manifest)");
    sub->add_option("--threads", options->threads,
                    "Intra-op threads where [train] threads is 0 (msa run gives each worker its share)")
        ->check(CLI::Range(0, 1024));
    return {sub, [options] {
                const auto document = ManifestDocument::load(options->manifest);
                PluginCatalog catalog;
                load_plugins(catalog, document.plugin_paths());
                Study study = document.to_study(catalog);
                if (study.train.threads == 0) study.train.threads = options->threads;
                if (!study.phases.empty())
                    std::cerr << "note: " << options->manifest << " declares " << study.phases.size()
                              << " [[phase]] tables; msa trial runs its base configuration only (msa run runs the "
                                 "study)\n";
                const auto out = options->out.empty() ? train::default_run_folder(study)
                                                      : std::filesystem::path(options->out);
                train::run_trial(study, catalog, out);
                std::cout << out.string() << "\n";
                return 0;
            }};
}

} // namespace msa::cli

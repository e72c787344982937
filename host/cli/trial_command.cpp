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
    };
    auto options = std::make_shared<Options>();
    CLI::App* sub = app.add_subcommand(
        "trial", "Run one trial: split, sample, encode what the store lacks, train, evaluate, write the run folder");
    sub->add_option("manifest", options->manifest, "The trial's manifest (TOML)")->required();
    sub->add_option("--out", options->out, "Run folder (default: <output>/<name> of the manifest)");
    return {sub, [options] {
                const auto document = ManifestDocument::load(options->manifest);
                PluginCatalog catalog;
                load_plugins(catalog, document.plugin_paths());
                const Study study = document.to_study(catalog);
                const auto out = options->out.empty() ? train::default_run_folder(study)
                                                      : std::filesystem::path(options->out);
                train::run_trial(study, catalog, out);
                std::cout << out.string() << "\n";
                return 0;
            }};
}

} // namespace msa::cli

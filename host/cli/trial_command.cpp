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
        std::string store_keys;
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
    sub->add_option("--store-keys", options->store_keys,
                    "store_keys.json (msa run writes it): the feature-store keys of the frozen encoders, read "
                    "without loading their weights")
        ->check(CLI::ExistingFile);
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
                const records::StoreKeys keys =
                    options->store_keys.empty() ? records::StoreKeys{} : records::read_store_keys(options->store_keys);
                train::run_trial(study, catalog, out, keys);
                std::cout << out.string() << "\n";
                return 0;
            }};
}

} // namespace msa::cli

// `msa validate FILE`: checks a manifest and its plugins' parameters without running
// anything. Exit 0 when valid, 1 otherwise.
#include "cli/commands.hpp"

#include "manifest/manifest_reader.hpp"

#include <iostream>

namespace msa::cli {

Command add_validate_command(CLI::App& app) {
    auto file = std::make_shared<std::string>();
    CLI::App* sub = app.add_subcommand("validate", "Check a study manifest and its plugins' parameters; run nothing");
    sub->add_option("manifest", *file, "The study manifest (TOML)")->required();
    return {sub, [file] {
                try {
                    const auto document = ManifestDocument::load(*file);
                    PluginCatalog catalog;
                    load_plugins(catalog, document.plugin_paths());
                    const Study study = document.to_study(catalog);
                    std::cout << *file << ": valid study '" << study.name << "' (" << study.encoders.size()
                              << " encoder(s), fusion " << study.fusion.plugin << ", loss " << study.loss.plugin
                              << ", sampler " << study.sampler.plugin << ")\n";
                    return 0;
                } catch (const ManifestError& e) {
                    std::cerr << e.what() << "\n"
                              << e.problems().size() << " problem(s) in " << *file << "\n";
                    return 1;
                }
            }};
}

} // namespace msa::cli

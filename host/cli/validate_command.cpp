// `msa validate FILE`: checks a manifest and its plugins' parameters without running
// anything. Exit 0 when valid, 1 otherwise.
#include "cli/commands.hpp"

#include "manifest/manifest_reader.hpp"
#include "study/study_runner.hpp"

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
                    // A study's phases expand to trial manifests: every one is checked too.
                    if (!study.phases.empty()) study::check_study(*file, catalog);
                    std::cout << *file << ": valid study '" << study.name << "' (" << study.encoders.size()
                              << " encoder(s), fusion " << study.fusion.plugin << ", loss " << study.loss.plugin
                              << ", sampler " << study.sampler.plugin;
                    if (!study.phases.empty()) {
                        std::cout << "; phases";
                        for (const auto& phase : study.phases) std::cout << " " << phase.name;
                    }
                    std::cout << ")\n";
                    return 0;
                } catch (const ManifestError& e) {
                    std::cerr << e.what() << "\n"
                              << e.problems().size() << " problem(s) in " << *file << "\n";
                    return 1;
                }
            }};
}

} // namespace msa::cli

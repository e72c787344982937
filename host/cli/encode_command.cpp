// `msa encode MANIFEST`: encodes the manifest's dataset with its encoders into the
// feature store; only samples the store lacks are encoded.
#include "cli/commands.hpp"

#include "data/dataset_reader.hpp"
#include "manifest/manifest_reader.hpp"
#include "store/encode_features.hpp"
#include "store/feature_store.hpp"
#include "util/progress.hpp"

#include <msa/encoder.hpp>

#include <nlohmann/json.hpp>

#include <iostream>

namespace msa::cli {

Command add_encode_command(CLI::App& app) {
    struct Options {
        std::string manifest;
        std::string store;
        bool json = false;
    };
    auto options = std::make_shared<Options>();
    CLI::App* sub = app.add_subcommand("encode", "Encode the manifest's dataset into the feature store (only what is missing)");
    sub->add_option("manifest", options->manifest, "The study manifest (TOML)")->required();
    sub->add_option("--store", options->store, "Feature store file (default: [store] path, else the per-dataset cache file)");
    sub->add_flag("--json", options->json, "Print the counts as JSON on stdout");
    return {sub, [options] {
                const auto document = ManifestDocument::load(options->manifest);
                PluginCatalog catalog;
                load_plugins(catalog, document.plugin_paths());
                const Study study = document.to_study(catalog);
                if (study.encoders.empty())
                    throw ConfigError(options->manifest, "no [encoders.text] or [encoders.image] table: nothing to encode");
                const data::Dataset dataset = data::read_dataset(study.dataset);
                FeatureStore store(options->store.empty() ? store_path(study) : std::filesystem::path(options->store),
                                   {study.store.dtype, static_cast<int>(study.store.compression)});

                std::vector<EncodeResult> results;
                for (const auto& [modality, choice] : study.encoders)
                    for (auto& result : encode_missing(modality, choice, catalog, dataset.samples, store))
                        results.push_back(std::move(result));

                if (options->json) {
                    nlohmann::json out{{"store", store.file().string()},
                                       {"samples", dataset.samples.size()},
                                       {"encoders", nlohmann::json::array()}};
                    for (const auto& r : results)
                        out["encoders"].push_back({{"modality", r.modality}, {"plugin", r.plugin}, {"key", r.key},
                                                   {"total", r.total}, {"encoded", r.encoded},
                                                   {"from_store", r.from_store}, {"seconds", r.seconds},
                                                   {"threads", r.threads}});
                    std::cout << out.dump(2) << "\n";
                } else {
                    std::cout << "store " << store.file().string() << "\n";
                    for (const auto& r : results)
                        std::cout << r.modality << " (" << r.plugin << ", key " << r.key.substr(0, 12) << "): "
                                  << r.total << " samples, " << r.encoded << " encoded, " << r.from_store
                                  << " from the store"
                                  << (r.encoded ? ", " + Progress::format_duration(r.seconds) + " on " +
                                                      std::to_string(r.threads) + " threads"
                                                : "")
                                  << "\n";
                }
                return 0;
            }};
}

} // namespace msa::cli

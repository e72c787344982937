// `msa encode MANIFEST...`: encodes each manifest's dataset with its encoders (and its
// distillation pools and prompt model, where it has them) into the feature store; only
// samples the store lacks are encoded. msa run's encode step on a cluster runs it on the
// phase's trial manifests.
#include "cli/commands.hpp"

#include "data/dataset_reader.hpp"
#include "manifest/manifest_reader.hpp"
#include "store/encoder_key.hpp"
#include "store/feature_store.hpp"
#include "study/study_features.hpp"
#include "train/run_folder.hpp"
#include "util/progress.hpp"

#include <nlohmann/json.hpp>

#include <iostream>
#include <map>
#include <set>

namespace msa::cli {

Command add_encode_command(CLI::App& app) {
    struct Options {
        std::vector<std::string> manifests;
        std::string store;
        bool json = false;
        std::string counts;
    };
    auto options = std::make_shared<Options>();
    CLI::App* sub = app.add_subcommand("encode", "Encode the manifest's dataset into the feature store (only what is missing)");
    sub->add_option("manifest", options->manifests,
                    "The study manifest (TOML); several share their features where they use the same encoders")
        ->required();
    sub->add_option("--store", options->store, "Feature store file (default: [store] path, else the per-dataset cache file)");
    sub->add_flag("--json", options->json, "Print the counts as JSON on stdout");
    sub->add_option("--counts", options->counts, "Also write the counts as JSON to this file (msa run reads it)");
    return {sub, [options] {
                PluginCatalog catalog;
                std::vector<std::filesystem::path> plugin_paths;
                std::map<std::string, data::Dataset> datasets; // by root
                std::set<std::string> encoded;                 // features keys done
                nlohmann::json out{{"encoders", nlohmann::json::array()}};
                for (const auto& manifest : options->manifests) {
                    const auto document = ManifestDocument::load(manifest);
                    if (manifest == options->manifests.front()) {
                        plugin_paths = document.plugin_paths();
                        load_plugins(catalog, plugin_paths);
                    } else if (document.plugin_paths() != plugin_paths) {
                        throw ConfigError(manifest, "its [plugins] differ from those of " + options->manifests.front() +
                                                        ": encode manifests that load different plugins one at a time");
                    }
                    Study study = document.to_study(catalog);
                    if (!options->store.empty()) study.store.path = options->store;
                    if (study.encoders.empty() && !study.prompt)
                        throw ConfigError(manifest, "no [encoders.text], [encoders.image] or [prompt] table: nothing to encode");
                    if (!encoded.insert(study::features_key(study)).second) continue; // a manifest alike was encoded
                    auto dataset = datasets.find(study.dataset.root.string());
                    if (dataset == datasets.end())
                        dataset = datasets.emplace(study.dataset.root.string(), data::read_dataset(study.dataset)).first;
                    FeatureStore store(store_path(study), {study.store.dtype, static_cast<int>(study.store.compression)});
                    if (!out.contains("store")) out.update({{"store", store.file().string()},
                                                            {"samples", dataset->second.samples.size()}});
                    if (!options->json) std::cout << "store " << store.file().string() << "\n";
                    std::vector<std::string> keys;
                    study::encode_study_features(
                        study, catalog, dataset->second.samples, store, [&](const EncodeResult& r, const std::string& what) {
                            out["encoders"].push_back({{"manifest", manifest}, {"modality", r.modality}, {"for", what},
                                                       {"plugin", r.plugin}, {"key", r.key}, {"total", r.total},
                                                       {"encoded", r.encoded}, {"from_store", r.from_store},
                                                       {"seconds", r.seconds}, {"threads", r.threads}});
                            keys.push_back(r.key);
                            if (options->json) return;
                            std::cout << what << " (" << r.plugin << ", key " << r.key.substr(0, 12) << "): " << r.total
                                      << " samples, " << r.encoded << " encoded, " << r.from_store << " from the store"
                                      << (r.encoded ? ", " + Progress::format_duration(r.seconds) + " on " +
                                                          std::to_string(r.threads) + " threads"
                                                    : "")
                                      << std::endl;
                        });
                    // What the trials will read, read back once: a group damaged on disk is
                    // refused here, with how to repair it, not met by every trial.
                    const VerifyReport report = store.verify(keys);
                    if (!report.ok()) {
                        std::string problems;
                        for (const auto& p : report.problems) problems += "\n  " + p.message;
                        throw Error("the feature store " + store.file().string() + " holds damaged features:" +
                                    problems);
                    }
                }
                if (options->json) std::cout << out.dump(2) << "\n";
                if (!options->counts.empty()) train::write_file_atomically(options->counts, out.dump(2) + "\n");
                return 0;
            }};
}

} // namespace msa::cli

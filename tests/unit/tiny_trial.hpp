// Small trained trials on the demo data, for the tests that load a model back from its
// run folder (saved models, [evaluate] trials).
#pragma once

#include "test_helpers.hpp"

#include "data/demo_data.hpp"
#include "manifest/manifest_reader.hpp"
#include "train/trial.hpp"

#include <filesystem>
#include <string>

namespace msa::test {

// 120 labelled and 12 unlabelled demo posts with 32-pixel images, in `dir`/demo.
inline std::filesystem::path tiny_demo_data(const std::filesystem::path& dir) {
    data::DemoDataOptions options;
    options.samples = 120;
    options.unlabelled = 12;
    options.image_size = 32;
    data::write_demo_data(dir / "demo", options);
    return dir / "demo";
}

// What a tiny trial uses: hashed-ngram text features, and EfficientNet-Lite0 image
// features when `image` (callers check efficientnet_lite_dir() first).
struct TinyTrialOptions {
    std::string fusion = "concat";
    std::string fusion_params;          // TOML lines under [fusion]
    bool image = false;
    std::string extra;                  // TOML appended at the end ([evaluate], ...)
    std::string labels;                 // dataset.labels as TOML, empty: the default
};

inline std::filesystem::path efficientnet_lite_dir() { return models_dir() / "efficientnet-lite0"; }

// Writes `dir`/<name>.toml for the demo data in `dir`/demo (store `dir`/store.h5).
inline std::filesystem::path tiny_manifest(const std::filesystem::path& dir, const std::string& name,
                                           const TinyTrialOptions& o = {}) {
    std::string toml = "schema_version = 1\nname = \"" + name + "\"\nseed = 4\noutput = \"" + (dir / "runs").string() +
                       "\"\n[dataset]\nroot = \"" + (dir / "demo").string() + "\"\n" +
                       (o.labels.empty() ? "" : "labels = " + o.labels + "\n") +
                       "[split]\nvalid = 0.2\ntest = 0.2\n[store]\npath = \"" + (dir / "store.h5").string() +
                       "\"\n[encoders.text]\nplugin = \"hashed-ngram\"\ndim = 128\n";
    if (o.image)
        toml += "[encoders.image]\nplugin = \"efficientnet-lite\"\ncheckpoint = \"" + efficientnet_lite_dir().string() +
                "\"\n";
    toml += "[fusion]\nplugin = \"" + o.fusion + "\"\n" + o.fusion_params +
            "[train]\nepochs = 6\nbatch_size = 16\nlearning_rate = 0.01\npatience = 0\n" + o.extra;
    const auto file = dir / (name + ".toml");
    std::ofstream(file) << toml;
    return file;
}

inline Study load_study(const std::filesystem::path& manifest) {
    return ManifestDocument::load(manifest).to_study(builtin_catalog());
}

// Runs the manifest as `msa trial` does; returns its run folder.
inline std::filesystem::path run_tiny_trial(const std::filesystem::path& manifest) {
    const Study study = load_study(manifest);
    const auto out = train::default_run_folder(study);
    train::run_trial(study, builtin_catalog(), out);
    return out;
}

} // namespace msa::test

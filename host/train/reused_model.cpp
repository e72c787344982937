// A trained model taken from another trial folder (reused_model.hpp).
#include "train/reused_model.hpp"

#include "manifest/manifest_reader.hpp"
#include "manifest/resolved_manifest.hpp"
#include "records/trial_files.hpp"
#include "train/saved_model.hpp"

#include <torch/torch.h>

#include <sstream>
#include <string>
#include <vector>

namespace msa::train {

namespace fs = std::filesystem;

namespace {

// The lines of a resolved manifest as settings: "# (default) " dropped, so that a value
// written out and the same value left to its default compare equal; comments and blank
// lines left out.
std::vector<std::string> settings(const std::string& manifest) {
    std::vector<std::string> out;
    std::istringstream in(manifest);
    for (std::string line; std::getline(in, line);) {
        static const std::string defaulted = "# (default) ";
        if (line.rfind(defaulted, 0) == 0) line = line.substr(defaulted.size());
        if (line.empty() || line[0] == '#') continue;
        out.push_back(line);
    }
    return out;
}

Study source_study(const fs::path& source, const PluginCatalog& catalog) {
    check_trial_folder(source);
    return ManifestDocument::load(source / "config.toml").to_study(catalog);
}

void check_same(const Study& study, Study theirs, const fs::path& source) {
    // What may differ: how the trial is named and where it writes, its threads, and what
    // applies after training.
    theirs.name = study.name;
    theirs.description = study.description;
    theirs.output = study.output;
    theirs.train.threads = study.train.threads;
    theirs.train.class_bias = study.train.class_bias;
    theirs.train.reuse_model = study.train.reuse_model;
    const std::vector<std::string> ours = settings(resolved_manifest(study)), other = settings(resolved_manifest(theirs));
    std::string section = "(top level)";
    for (std::size_t i = 0; i < std::max(ours.size(), other.size()); ++i) {
        const std::string here = i < ours.size() ? ours[i] : "(nothing)";
        const std::string there = i < other.size() ? other[i] : "(nothing)";
        if (here == there) {
            if (!here.empty() && here[0] == '[') section = here;
            continue;
        }
        throw Error(study.file.string() + ": [train] reuse_model = \"" + source.string() +
                    "\": that trial trained another model than this one would: in " + section + " it has `" + there +
                    "`, this trial `" + here + "` (reuse_model takes a trial whose configuration is this one's but "
                    "for class_bias, threads, name and output)");
    }
}

} // namespace

FitResult take_reused_model(Classifier& model, const Study& study, const PluginCatalog& catalog, const fs::path& out,
                            TrialLog& log) {
    const fs::path& source = study.train.reuse_model;
    const Study theirs = source_study(source, catalog);
    check_same(study, theirs, source);
    // Offsets are what this trial chooses: that model's (if any) are not read.
    load_weights(model, source, {"class_bias"});

    const records::TrialMetrics metrics = records::read_trial_metrics(source);
    FitResult fitted;
    fitted.history.resize(records::read_history(source).size());
    fitted.best_epoch = metrics.best_epoch.value_or(static_cast<std::int64_t>(fitted.history.size()));
    fitted.solver = metrics.solver == "lbfgs" ? Solver::lbfgs : Solver::adamw;
    fitted.stopped_early = fitted.solver == Solver::adamw &&
                           static_cast<std::int64_t>(fitted.history.size()) < study.train.epochs;
    fs::copy_file(source / "history.csv", out / "history.csv", fs::copy_options::overwrite_existing);
    log("model: the one " + source.string() + " trained (best epoch " + std::to_string(fitted.best_epoch) + " of " +
        std::to_string(fitted.history.size()) + "), reused ([train] reuse_model: the same configuration but for "
        "class_bias), not trained again");
    return fitted;
}

} // namespace msa::train

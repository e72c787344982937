// Reading a trained model back from its trial folder (see saved_model.hpp).
#include "train/saved_model.hpp"

#include "manifest/manifest_reader.hpp"
#include "plugin/plugin_catalog.hpp"
#include "records/results_file.hpp"
#include "records/trial_files.hpp"

#include <msa/error.hpp>

#include <torch/torch.h>

#include <set>

namespace msa::train {

namespace fs = std::filesystem;

namespace {

constexpr const char* kTrialFiles = "config.toml, model.pt, metrics.json with \"status\": \"ok\"";

std::string join_names(const std::set<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

// The names a module's archive holds at its top level: its own tensors and its children.
std::set<std::string> top_level_names(const torch::nn::Module& module) {
    std::set<std::string> names;
    for (const auto& p : module.named_parameters(/*recurse=*/false)) names.insert(p.key());
    for (const auto& b : module.named_buffers(/*recurse=*/false)) names.insert(b.key());
    for (const auto& c : module.named_children()) names.insert(c.key());
    return names;
}

} // namespace

// torch::load alone would not do: InputArchive::read replaces each tensor whatever its
// shape, and ignores what the archive holds beyond the model. Both are checked here,
// so that a model.pt from another configuration is an error, not a wrong model.
void load_weights(Classifier& model, const fs::path& folder, const std::set<std::string>& own) {
    const fs::path file = folder / "model.pt";
    const std::string mismatch =
        file.string() + " does not match the classifier " + (folder / "config.toml").string() +
        " describes (was model.pt copied from another trial, or config.toml edited after training?): ";
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(file.string());
    } catch (const c10::Error& e) {
        throw Error(file.string() + ": not a model saved by msa trial (" + e.what_without_backtrace() + ")");
    }
    std::set<std::string> expected = top_level_names(*model);
    const auto keys = archive.keys();
    std::set<std::string> found(keys.begin(), keys.end());
    for (const auto& name : own) {
        expected.erase(name);
        found.erase(name);
    }
    std::set<std::string> missing, extra;
    std::set_difference(expected.begin(), expected.end(), found.begin(), found.end(),
                        std::inserter(missing, missing.end()));
    std::set_difference(found.begin(), found.end(), expected.begin(), expected.end(),
                        std::inserter(extra, extra.end()));
    if (!missing.empty() || !extra.empty())
        throw Error(mismatch + (missing.empty() ? "" : "it lacks " + join_names(missing)) +
                    (!missing.empty() && !extra.empty() ? " and " : "") +
                    (extra.empty() ? "" : "it holds " + join_names(extra) + ", which the classifier has not"));

    std::map<std::string, std::vector<std::int64_t>> shapes;
    for (const auto& p : model->named_parameters()) shapes[p.key()] = p.value().sizes().vec();
    for (const auto& b : model->named_buffers()) shapes[b.key()] = b.value().sizes().vec();
    try {
        // Module::load, less the tensors the classifier keeps its own of.
        for (auto& p : model->named_parameters(/*recurse=*/false)) archive.read(p.key(), p.value());
        for (auto& b : model->named_buffers(/*recurse=*/false))
            if (!own.count(b.key())) archive.read(b.key(), b.value(), /*is_buffer=*/true);
        for (const auto& child : model->named_children()) {
            torch::serialize::InputArchive part;
            archive.read(child.key(), part);
            child.value()->load(part);
        }
    } catch (const c10::Error& e) {
        throw Error(mismatch + e.what_without_backtrace());
    }
    for (const auto& p : model->named_parameters())
        if (p.value().sizes().vec() != shapes[p.key()])
            throw Error(mismatch + p.key() + " has shape " + c10::str(p.value().sizes()) + " in model.pt, " +
                        c10::str(c10::IntArrayRef(shapes[p.key()])) + " in the classifier");
    for (const auto& b : model->named_buffers())
        if (b.value().sizes().vec() != shapes[b.key()])
            throw Error(mismatch + b.key() + " has shape " + c10::str(b.value().sizes()) + " in model.pt, " +
                        c10::str(c10::IntArrayRef(shapes[b.key()])) + " in the classifier");
}

void check_trial_folder(const fs::path& folder) {
    const std::string where = folder.string() + " is not a finished trial folder (" + kTrialFiles + "): ";
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) throw Error("no such trial folder: " + folder.string());
    if (!fs::is_regular_file(folder / "config.toml", ec)) throw Error(where + "config.toml is missing");
    if (!fs::is_regular_file(folder / "metrics.json", ec))
        throw Error(where + "metrics.json is missing (the trial is still running, or died before it finished)");
    const records::TrialMetrics metrics = records::read_trial_metrics(folder);
    if (metrics.status != TrialStatus::ok)
        throw Error(where + "metrics.json says \"status\": \"" + to_string(metrics.status) + "\"" +
                    (metrics.error.empty() ? "" : " (" + metrics.error + ")"));
    if (!fs::is_regular_file(folder / "model.pt", ec)) {
        // An [evaluate] trial finishes without a model: it evaluated another trial's.
        if (!metrics.evaluated_model.empty())
            throw Error(where + "model.pt is missing: it is an [evaluate] trial, which keeps no model of its own; "
                                "its model is " + metrics.evaluated_model);
        throw Error(where + "model.pt is missing");
    }
}

fs::path model_folder(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_regular_file(dir / "results.json", ec)) {
        if (!fs::is_directory(dir, ec)) throw Error("no such folder: " + dir.string());
        if (!fs::is_regular_file(dir / "config.toml", ec))
            throw Error(dir.string() + " is neither a trial folder (" + kTrialFiles +
                        ") nor a study folder (runs/<study> with results.json)");
        return dir;
    }
    const fs::path results = dir / "results.json";
    const records::StudyResults study = records::read_study_results(results);
    if (study.final_incumbent.empty())
        throw Error(results.string() + " names no \"final_incumbent\" (study status: \"" + to_string(study.status) +
                    "\"): no phase picked a model; pass one of its trial folders instead, e.g. " +
                    (dir / "<phase>" / "<trial>").string());
    return dir / study.final_incumbent;
}

PredictionModels prediction_models(const fs::path& dir, bool single) {
    PredictionModels out;
    const fs::path folder = model_folder(dir);
    std::error_code ec;
    out.from_study = fs::is_regular_file(dir / "results.json", ec);
    if (!out.from_study) {
        check_trial_folder(folder);
        out.members.push_back({folder, std::nullopt});
        out.source = "the trial " + folder.string();
        return out;
    }
    const fs::path results_file = dir / "results.json";
    const records::StudyResults results = records::read_study_results(results_file);
    const auto [phase, config] = results.final_incumbent_config();
    std::optional<std::int64_t> best_seed;
    if (config)
        for (const auto& t : config->trials)
            if (t.folder == results.final_incumbent) best_seed = t.seed;
    if (single || !config) {
        check_trial_folder(folder);
        out.members.push_back({folder, best_seed});
        out.source = !config ? "the final incumbent " + results.final_incumbent + " (" + results_file.string() +
                                   " records no configuration whose best_trial it is, so no other seeds)"
                             : "the final incumbent " + results.final_incumbent + " alone (--single: of the " +
                                   std::to_string(config->finished_trials()) + " finished seeds of " +
                                   config->label + ", phase " + phase->name + ", the best by valid " +
                                   phase->select + ")";
        return out;
    }
    for (const auto& t : config->trials) {
        const std::string seed = t.seed ? " (seed " + std::to_string(*t.seed) + ")" : "";
        if (t.status != TrialStatus::ok) {
            out.left_out.push_back(t.folder + seed + ": " + to_string(t.status) +
                                   (t.error.empty() ? "" : " (" + t.error.substr(0, t.error.find('\n')) + ")"));
            continue;
        }
        const fs::path member = dir / t.folder;
        try {
            check_trial_folder(member);
        } catch (const Error& e) {
            throw Error(std::string(e.what()) + "; " + results_file.string() + " lists " + t.folder + seed +
                        " as a finished seed of the final incumbent's configuration (" + config->label + ", phase " +
                        phase->name + "), whose finished seeds msa predict averages. Predict with the final "
                        "incumbent alone (--single), or train the seed again (remove " +
                        (member / "metrics.json").string() + ", then msa run the study's manifest)");
        }
        out.members.push_back({member, t.seed});
    }
    out.source = "the final incumbent's configuration " + config->label + " (phase " + phase->name + "): " +
                 std::to_string(out.members.size()) + " finished seed" + (out.members.size() == 1 ? "" : "s");
    return out;
}

SavedModel::SavedModel(const fs::path& folder, const PluginCatalog& catalog)
    : folder_(fs::absolute(folder).lexically_normal()), catalog_(&catalog) {
    check_trial_folder(folder_);
    study_ = ManifestDocument::load(folder_ / "config.toml").to_study(catalog);
    // A model trained before [train] standardize existed has no statistics in model.pt.
    if (!study_.train.standardize_given) study_.train.standardize = false;
    // One trained before [train] precision existed trained its encoder tops in float32.
    if (!study_.train.precision_given) study_.train.precision = "float32";
    if (study_.evaluate || study_.clip || (study_.encoders.empty() && !study_.prompt) ||
        (study_.zero_shot && !study_.prompt))
        throw Error(folder_.string() + ": only trials that train a fusion on encoder features, or a prompt model, "
                    "can be loaded; this one has " + (study_.evaluate    ? "[evaluate]"
                                                      : study_.clip      ? "[clip]"
                                                      : study_.zero_shot ? "[zero_shot]"
                                                                         : "no [encoders.text], [encoders.image] or [prompt]"));
    try {
        build_classifier();
        if (study_.train.class_bias) model_->add_class_bias(); // its offsets are in model.pt
    } catch (const Error& e) {
        throw Error(folder_.string() + ": the classifier its config.toml describes cannot be built: " + e.what());
    }
    load_weights(model_, folder_);
}

void SavedModel::build_classifier() {
    // Exactly as the trial built it (trial.cpp): the encoders' widths and trainable tops,
    // then the fusion and head, whose weights model.pt replaces.
    const PluginCatalog& catalog = *catalog_;
    std::int64_t dims[2] = {0, 0};
    TrainableEncoder tops[2];
    for (const auto& [modality, choice] : study_.encoders) {
        if (modality == "text" && study_.prompt) continue; // the prompt model reads the texts
        const PluginEntry& entry = catalog.get(PluginKind::encoder, choice.plugin, choice.where);
        auto encoder = catalog.create_encoder(choice.plugin, choice.params);
        const int m = modality == "text" ? 0 : 1;
        dims[m] = call_plugin(entry, "dim()", [&] { return encoder->dim(); });
        tops[m] = {call_plugin(entry, "trainable_top()", [&] { return encoder->trainable_top(); }), &entry};
        encoders_.emplace(modality, std::move(encoder));
    }
    const auto num_classes = static_cast<std::int64_t>(labels().size());
    if (study_.prompt) {
        prompt_ = build_prompt(study_, catalog, dims[1]);
        model_ = Classifier(prompt_.model, *prompt_.entry, num_classes);
        return;
    }
    const FusionContext context{dims[0], dims[1], num_classes};
    const PluginEntry& fusion_entry = catalog.get(PluginKind::fusion, study_.fusion.plugin, study_.fusion.where);
    model_ = Classifier(catalog.create_fusion(study_.fusion.plugin, study_.fusion.params, context), fusion_entry,
                        num_classes, tops[0], tops[1], standardization(study_.train, context, tops[0], tops[1]),
                        top_precision(study_.train));
}

LoadedFeatures SavedModel::features(const std::vector<Sample>& samples,
                                    const std::function<void(const std::string&)>& log, const Study* data) const {
    Study source = data ? *data : study_;
    source.encoders = study_.encoders;
    source.prompt = study_.prompt;
    LoadedFeatures out = load_features(source, *catalog_, samples, log, encoders_);
    if (prompt_.model) read_prompt_text(source, prompt_, samples, out, log);
    return out;
}

at::Tensor SavedModel::probabilities(const FeatureSet& set, const torch::Device& device) {
    model_->to(device);
    return predict_probabilities(model_, set, device);
}

at::Tensor SavedModel::probabilities(const std::vector<Sample>& samples,
                                     const std::function<void(const std::string&)>& log,
                                     const torch::Device& device, const Study* data) {
    const LoadedFeatures f = features(samples, log, data);
    // Labels are not needed to predict; the feature set still carries one per row.
    return probabilities(FeatureSet{f.text, f.image, torch::full({static_cast<std::int64_t>(samples.size())}, -1,
                                                                 torch::kLong)},
                         device);
}

} // namespace msa::train

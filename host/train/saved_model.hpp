// A trained model read back from its trial folder (config.toml + model.pt), for
// [evaluate] trials and `msa predict`: the trial's encoders (or prompt model), the
// classifier built as the trial built it, and the weights the trial saved.
#pragma once

#include "manifest/study.hpp"
#include "train/trainer.hpp"
#include "train/trial_features.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace msa {
class PluginCatalog;
}

namespace msa::train {

// Throws msa::Error unless `folder` holds a finished trial: config.toml, model.pt and a
// metrics.json whose status is "ok". The message names the folder and what is missing.
void check_trial_folder(const std::filesystem::path& folder);

// Reads `folder`/model.pt into `model`, built as that trial's config.toml describes;
// throws msa::Error naming the file when a parameter or buffer is missing, extra or of
// another shape (a model.pt of another configuration). Top-level tensors named in `own`
// (class_bias) are the classifier's own: not read, whether model.pt has them or not.
void load_weights(Classifier& model, const std::filesystem::path& folder, const std::set<std::string>& own = {});

// The trial folder `dir` names: `dir` itself, or for a study folder (runs/<study>, with a
// results.json) the trial its "final_incumbent" names. Throws msa::Error when `dir` is
// neither, or its results.json names no final incumbent.
std::filesystem::path model_folder(const std::filesystem::path& dir);

// The models `msa predict --run DIR` labels with, averaging their probabilities.
struct PredictionModels {
    struct Member {
        std::filesystem::path folder;     // a finished trial folder
        std::optional<std::int64_t> seed; // as results.json records it; none for a trial folder
    };
    std::vector<Member> members;       // in the order of the configuration's trials
    std::string source;                // for people: where the members come from
    std::vector<std::string> left_out; // seeds of that configuration that did not finish, with why
    bool from_study = false;           // DIR is a study folder
};

// For a trial folder `dir`, that trial. For a study folder, every finished seed of the
// final incumbent's configuration (the configuration whose best_trial is results.json's
// "final_incumbent"); with `single`, or where results.json records no such configuration,
// the final incumbent alone. Throws msa::Error as model_folder does, and when a member is
// not a finished trial folder (check_trial_folder): for a seed that results.json lists as
// finished, the message says so and offers --single.
PredictionModels prediction_models(const std::filesystem::path& dir, bool single);

class SavedModel {
public:
    // Reads `folder`/config.toml as a manifest against `catalog` (which must outlive this
    // object), builds its encoders and classifier, and loads model.pt into it. Throws
    // msa::Error naming the folder when it is not a finished trial or model.pt does not
    // fit the classifier config.toml describes.
    SavedModel(const std::filesystem::path& folder, const PluginCatalog& catalog);

    const std::filesystem::path& folder() const { return folder_; } // absolute
    const Study& study() const { return study_; }                   // the trial's resolved manifest
    const std::vector<std::string>& labels() const { return study_.dataset.labels; }

    // The features of `samples` as the model reads them (prefix features for fine-tuned
    // tops), encoding what the store lacks with the trial's own encoders. The store is the
    // one of `data` ([dataset] and [store]; the model's own when null), since the samples
    // come from that dataset.
    LoadedFeatures features(const std::vector<Sample>& samples, const std::function<void(const std::string&)>& log,
                            const Study* data = nullptr) const;

    // Class probabilities [N, C] on the CPU for rows of features().
    at::Tensor probabilities(const FeatureSet& set, const torch::Device& device);
    // Both steps at once; `data` as for features().
    at::Tensor probabilities(const std::vector<Sample>& samples, const std::function<void(const std::string&)>& log,
                             const torch::Device& device, const Study* data = nullptr);

private:
    void build_classifier();

    std::filesystem::path folder_;
    const PluginCatalog* catalog_;
    Study study_;
    std::map<std::string, std::shared_ptr<Encoder>> encoders_; // by modality; own the trainable tops
    LoadedPrompt prompt_; // a [prompt] trial's model, which the classifier wraps
    Classifier model_{nullptr};
};

} // namespace msa::train

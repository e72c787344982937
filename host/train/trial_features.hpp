// A trial's encoder features: read from the feature store after encoding what it lacks.
#pragma once

#include "manifest/study.hpp"
#include "records/trial_files.hpp"
#include "train/trainer.hpp"

#include <msa/prompt.hpp>

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace msa {
class PluginCatalog;
struct PluginEntry;
}

namespace msa::train {

// The features of every sample (in the samples' order). An encoder that fine-tunes its
// top layers gives its stored prefix features instead, and its trainable top for the model.
struct LoadedFeatures {
    Features text, image;
    std::int64_t text_dim = 0, image_dim = 0; // widths entering the fusion
    TrainableEncoder text_top, image_top;
    std::vector<std::shared_ptr<Encoder>> encoders; // keep the tops' owners alive
    nlohmann::json report = nlohmann::json::object(); // metrics.json's "features"
    std::map<std::string, int> threads;                // intra-op threads each modality encoded with
};

// A trial's prompt model ([prompt]) and the plugin that made it.
struct LoadedPrompt {
    std::shared_ptr<PromptModel> model;
    const PluginEntry* entry = nullptr;
    std::shared_ptr<Encoder> text_encoder; // model->text_encoder()
};

// `built` holds encoders already built from `study.encoders`, by modality; the others are
// built here, except where `store_keys` names the key of a modality's features and the
// store has all of them: those are read without building the encoder (no weights loaded).
LoadedFeatures load_features(const Study& study, const PluginCatalog& catalog, const std::vector<Sample>& samples,
                             const std::function<void(const std::string&)>& log,
                             const std::map<std::string, std::shared_ptr<Encoder>>& built = {},
                             const records::StoreKeys& store_keys = {});

// Whether the study's prompt model trains: not at a few-shot phase's k = 0 (zero-shot).
bool prompt_trains(const Study& study);

// Builds the study's [prompt] model for image features of width `image_dim` (0: none;
// PromptContext::image_dim is 0 too when it does not train, since nothing maps them).
LoadedPrompt build_prompt(const Study& study, const PluginCatalog& catalog, std::int64_t image_dim);

// Puts the prompt model's text-encoder features of every sample into `features.text`,
// encoding what the store lacks.
void read_prompt_text(const Study& study, const LoadedPrompt& prompt, const std::vector<Sample>& samples,
                      LoadedFeatures& features, const std::function<void(const std::string&)>& log);

} // namespace msa::train

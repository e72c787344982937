// A [clip] trial (docs/studies.md, kind "clip"): a CLIP model folder in place of the
// manifest's encoders and fusion, as a linear probe on frozen CLIP embeddings or as
// zero-shot classification with prompt templates. run_trial calls it for a study with
// [clip]; the study runner asks clip_checkpoint_present first.
#pragma once

#include "manifest/study.hpp"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace msa {
class PluginCatalog;
}

namespace msa::records {
struct MetricsWriter;
}

namespace msa::train {

class TrialLog;

// Whether clip.checkpoint is a model folder at all (a folder with config.json). When it
// is not, `reason` names the folder and says where such a folder comes from: no script
// of this project fetches CLIP checkpoints.
bool clip_checkpoint_present(const ClipConfig& clip, std::string& reason);

// The [clip] trial of `study` into the run folder `out`: predictions.csv, model.pt (the
// probe), log lines, and the entries of `metrics` (metrics.json, which run_trial writes).
// linear-probe: the L2-normalised CLIP image and/or text embeddings of every sample
// (the joint-space encoder pair of builtin_defaults.hpp, through the feature store), concatenated, and a logistic
// regression fitted on the sampler's training rows for each [clip] l2, keeping the best
// on the validation split by [train] monitor. zero-shot: each image's probabilities over
// the labels' prompt embeddings (zero_shot_probabilities); nothing is trained.
void run_clip_trial(const Study& study, const PluginCatalog& catalog, const std::filesystem::path& out,
                    TrialLog& log, records::MetricsWriter& metrics);

// Every template with each {} replaced by the label, label by label:
// prompt (c, t) is at c * templates.size() + t.
std::vector<std::string> zero_shot_prompts(const std::vector<std::string>& labels,
                                           const std::vector<std::string>& templates);

// Class embeddings [C, E] from the projected text embeddings of zero_shot_prompts
// [C * T, E]: per class the normalised mean of its normalised prompt embeddings (CLIP's
// prompt ensembling).
at::Tensor zero_shot_class_embeddings(const at::Tensor& prompt_embeds, std::int64_t num_classes);

// softmax(exp(logit_scale) * cos(image, class)) [N, C] from projected image embeddings
// [N, E]; logit_scale is the checkpoint's raw (log) value, as CLIPModel keeps it.
at::Tensor zero_shot_probabilities(const at::Tensor& image_embeds, const at::Tensor& class_embeds,
                                   double logit_scale);

} // namespace msa::train

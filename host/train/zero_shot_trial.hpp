// A [zero_shot] trial (docs/studies.md, the k = 0 point of a few-shot phase): nothing is
// trained; each post's text embedding is compared with its label descriptions'.
#pragma once

#include "manifest/study.hpp"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <vector>

namespace msa {
class PluginCatalog;
}

namespace msa::records {
struct MetricsWriter;
}

namespace msa::train {

class TrialLog;

// The factor on cosine similarities before the softmax that turns them into the
// probabilities predictions.csv holds (the argmax, and so every F1, does not depend on it):
// sentence-transformers' similarity losses train with the same scale.
inline constexpr double kZeroShotScale = 20.0;

// The [zero_shot] trial of `study` into `out`: the [encoders.text] embeddings of every
// post (through the feature store) and of every description (encoded directly: they are
// not samples); a class's embedding is the normalised mean of its descriptions'
// normalised embeddings; probabilities are softmax(kZeroShotScale * cosine).
void run_zero_shot_trial(const Study& study, const PluginCatalog& catalog, const std::filesystem::path& out,
                         TrialLog& log, records::MetricsWriter& metrics);

// Class embeddings [C, E] from description embeddings [D, E], where `owner[d]` is the
// class of description d and every class has at least one.
at::Tensor description_class_embeddings(const at::Tensor& description_embeds, const std::vector<std::int64_t>& owner,
                                        std::int64_t num_classes);

// softmax(scale * cos(post, class)) [N, C].
at::Tensor cosine_probabilities(const at::Tensor& post_embeds, const at::Tensor& class_embeds, double scale);

} // namespace msa::train

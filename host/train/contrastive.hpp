// SetFit's contrastive stage ([contrastive], Tunstall et al. 2022): the text encoder's
// trainable top learns, from pairs of training posts, to embed posts of one label close
// together and posts of different labels apart, before the head trains.
#pragma once

#include "manifest/study.hpp"
#include "train/trainer.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace msa::train {

// Pairs of rows of a training set with their target cosine: for each row in order,
// `per_row` partners, alternately one of its label (1, another row when the label has
// one) and one of another label (0, when another label has rows), drawn with `seed`.
struct Pair {
    std::int64_t a = 0, b = 0;
    float target = 0;
};
std::vector<Pair> contrastive_pairs(const std::vector<std::int64_t>& labels, std::int64_t per_row, std::uint64_t seed);

struct ContrastiveResult {
    std::int64_t pairs = 0, same_label = 0, steps = 0;
    std::vector<double> epoch_loss; // mean MSE per epoch
    double seconds = 0;
};

// Trains the model's text top on the pairs of `train` (MSE between the cosine of the two
// texts' features and the target; AdamW at config.learning_rate, a tenth of the steps
// warming up, then linear decay; gradient norm clipped at 1), then freezes it when
// config.freeze. Needs a trainable text top (trainable_layers > 0 with cached_prefix).
ContrastiveResult contrastive_tune(Classifier& model, const FeatureSet& train, const ContrastiveConfig& config,
                                   double weight_decay, std::uint64_t seed, const torch::Device& device,
                                   const std::function<void(const std::string&)>& log);

} // namespace msa::train

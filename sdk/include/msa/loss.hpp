// Loss plugins turn logits (and, for auxiliary image-text losses, the unimodal
// features) into a scalar training objective.
#pragma once

#include <torch/nn/module.h>

#include <cstdint>
#include <vector>

namespace msa {

struct LossContext {
    std::int64_t num_classes = 0;
    std::vector<std::int64_t> class_counts; // training-set count per class
    // Widths of the pooled unimodal features (0 when a modality is absent), for losses
    // with their own heads on them (image-text contrastive and matching). SDK 2.1.
    std::int64_t text_dim = 0;
    std::int64_t image_dim = 0;
};

struct LossInput {
    at::Tensor logits;  // [N, C]
    at::Tensor targets; // [N] int64 class indices
    at::Tensor text;    // [N, Dt] pooled text features, for auxiliary losses
    at::Tensor image;   // [N, Di] pooled image features, for auxiliary losses
};

// A Module, so that losses with parameters (a matching head) train with the model.
class __attribute__((visibility("default"))) Loss : public torch::nn::Module {
public:
    virtual at::Tensor forward(const LossInput& input) = 0;
};

} // namespace msa

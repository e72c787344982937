// Fusion plugins combine text and image features into one representation (or, for
// late fusion, directly into class logits).
#pragma once

#include <msa/encoder.hpp>

#include <torch/nn/module.h>

#include <cstdint>

namespace msa {

struct FusionContext {
    std::int64_t text_dim = 0;  // width of the pooled text features
    std::int64_t image_dim = 0; // width of the pooled image features
    std::int64_t num_classes = 0;
};

class __attribute__((visibility("default"))) Fusion : public torch::nn::Module {
public:
    // Width of what forward() returns.
    virtual std::int64_t output_dim() const = 0;
    // True when forward() returns class logits, so no classifier follows.
    virtual bool outputs_logits() const { return false; }
    // What it reads of the features (text, image, token sequences) is declared in its
    // PluginInfo::needs, which the host checks before building it.
    virtual at::Tensor forward(const Features& text, const Features& image) = 0;
};

} // namespace msa

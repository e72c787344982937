// The modality attention shared by the `attention` and `attention-combine` fusions
// (one library each): both modalities are projected to `hidden`, scored by a learned
// vector, and summed with softmax weights over the two modalities. `attention-combine`
// also passes the projected modalities on beside the weighted sum.
#pragma once

#include "fusion_inputs.hpp"

#include <msa/fusion.hpp>
#include <msa/properties.hpp>

#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include <string>
#include <utility>
#include <vector>

namespace msa::fusions {

class AttentionFusion final : public Fusion {
public:
    // `combine`: output [weighted sum; h_text; h_image] instead of the weighted sum alone.
    AttentionFusion(std::string name, const Properties& props, const FusionContext& context, bool combine)
        : name_(std::move(name)), text_dim_(context.text_dim), image_dim_(context.image_dim),
          hidden_(props.get_int("hidden")), combine_(combine) {
        const double dropout = props.get_real("dropout");
        require_both_modalities(name_, context);
        text_ = register_module("text", torch::nn::Linear(text_dim_, hidden_));
        image_ = register_module("image", torch::nn::Linear(image_dim_, hidden_));
        // No bias: a constant added to both scores cancels in the softmax and would never train.
        score_ = register_module("score", torch::nn::Linear(torch::nn::LinearOptions(hidden_, 1).bias(false)));
        dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
    }

    std::int64_t output_dim() const override { return combine_ ? 3 * hidden_ : hidden_; }

    at::Tensor forward(const Features& text, const Features& image) override {
        const at::Tensor& x_text = pooled_input(name_, text, Modality::text, text_dim_);
        const at::Tensor& x_image = pooled_input(name_, image, Modality::image, image_dim_);
        require_same_batch(name_, x_text, x_image);
        const at::Tensor h_text = torch::tanh(text_(x_text));
        const at::Tensor h_image = torch::tanh(image_(x_image));
        const at::Tensor stacked = torch::stack({h_text, h_image}, /*dim=*/1);            // [N, 2, hidden]
        const at::Tensor weights = torch::softmax(score_(stacked).squeeze(-1), /*dim=*/1); // [N, 2]
        const at::Tensor fused = (weights.unsqueeze(-1) * stacked).sum(/*dim=*/1);
        return dropout_(combine_ ? torch::cat({fused, h_text, h_image}, /*dim=*/1) : fused);
    }

private:
    std::string name_;
    std::int64_t text_dim_, image_dim_, hidden_;
    bool combine_;
    torch::nn::Linear text_{nullptr}, image_{nullptr}, score_{nullptr};
    torch::nn::Dropout dropout_{nullptr};
};

inline std::vector<ParamSpec> attention_params() {
    return {ParamSpec::integer("hidden", 256, "Width each modality is projected to (tanh) before weighting")
                .range(1, 65536),
            ParamSpec::real("dropout", 0.1, "Dropout probability on the output").range(0.0, 0.95)};
}

} // namespace msa::fusions

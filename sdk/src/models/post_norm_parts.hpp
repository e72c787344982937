// Private modules of the post-norm text encoders (BertModel, MPNetModel) and the pooler
// ViTModel shares with them: transformers gives each model its own copies
// (BertIntermediate, MPNetIntermediate, ...) under the same checkpoint names.
#pragma once

#include <msa/models/linear.hpp>
#include <msa/models/transformer_blocks.hpp>

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace msa::models::detail {

// dense, dropout, then LayerNorm of the sum with the block's input: BERT's attention.output
// and output, MPNet's output.
class ResidualOutputImpl : public torch::nn::Module {
public:
    ResidualOutputImpl(std::int64_t in_features, std::int64_t hidden_size, double layer_norm_eps, double dropout)
        : dropout_(dropout) {
        dense = register_module("dense", Linear(in_features, hidden_size));
        LayerNorm = register_module("LayerNorm",
                                    torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden_size}).eps(layer_norm_eps)));
    }
    at::Tensor forward(const at::Tensor& hidden, const at::Tensor& input) {
        return LayerNorm->forward(at::dropout(dense->forward(hidden), dropout_, is_training()) + input);
    }
    Linear dense{nullptr};
    torch::nn::LayerNorm LayerNorm{nullptr};

private:
    double dropout_;
};
TORCH_MODULE(ResidualOutput);

// intermediate.dense and its activation.
class IntermediateImpl : public torch::nn::Module {
public:
    IntermediateImpl(std::int64_t hidden_size, std::int64_t intermediate_size, const std::string& activation)
        : activation_(activation) {
        dense = register_module("dense", Linear(hidden_size, intermediate_size));
    }
    at::Tensor forward(const at::Tensor& hidden) { return activation_(dense->forward(hidden)); }
    Linear dense{nullptr};

private:
    Activation activation_;
};
TORCH_MODULE(Intermediate);

// pooler.dense over the first token, then the activation (tanh in BERT and MPNet, ViT's
// pooler_act).
class FirstTokenPoolerImpl : public torch::nn::Module {
public:
    FirstTokenPoolerImpl(std::int64_t hidden_size, std::int64_t output_size, const std::string& activation)
        : activation_(activation) {
        dense = register_module("dense", Linear(hidden_size, output_size));
    }
    at::Tensor forward(const at::Tensor& last_hidden_state) {
        return activation_(dense->forward(last_hidden_state.select(/*dim=*/1, /*index=*/0)));
    }
    Linear dense{nullptr};

private:
    Activation activation_;
};
TORCH_MODULE(FirstTokenPooler);

} // namespace msa::models::detail

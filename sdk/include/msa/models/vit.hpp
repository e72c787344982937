// The Vision Transformer (ViT) as a LibTorch module named like transformers' ViTModel
// checkpoints (google/vit-*, DINO), so that they load one to one.
#pragma once

#include <msa/models/checkpoint.hpp>
#include <msa/models/export.hpp>
#include <msa/models/model_config.hpp>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace msa::models {

struct MSA_MODELS_API ViTConfig {
    std::int64_t hidden_size = 768;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t intermediate_size = 3072;
    std::string hidden_act = "gelu";
    double hidden_dropout_prob = 0.0;
    double attention_probs_dropout_prob = 0.0;
    double layer_norm_eps = 1e-12;
    // config.json's image_size and patch_size: one number, or [height, width].
    std::int64_t image_height = 224;
    std::int64_t image_width = 224;
    std::int64_t patch_height = 16;
    std::int64_t patch_width = 16;
    std::int64_t num_channels = 3;
    bool qkv_bias = true;
    std::int64_t pooler_output_size = 768;
    std::string pooler_act = "tanh";
    // Not in config.json: whether the checkpoint has pooler.dense (ViTForImageClassification
    // and DINO checkpoints have none). vit_from_checkpoint sets it from the weights.
    bool with_pooler = true;

    std::int64_t num_patches() const { return (image_height / patch_height) * (image_width / patch_width); }
    // Reads config.json (model_type "vit"); a CheckpointError names a key it cannot use.
    static ViTConfig from_json(const ModelConfig& config);
};

// What forward returns.
struct MSA_MODELS_API ViTModelOutput {
    // As transformers' output_hidden_states: the embedding output ([CLS] + patches, with
    // position embeddings), then each layer's output before the final layernorm;
    // num_layers() + 1 tensors of [N, 1 + num_patches, hidden_size].
    std::vector<at::Tensor> hidden_states;
    // layernorm(last layer's output), [N, 1 + num_patches, hidden_size].
    at::Tensor last_hidden_state;
    // transformers' "pooler_output": pooler_act(pooler.dense(last_hidden_state[:, 0])),
    // [N, pooler_output_size]; undefined when the model has no pooler (config.with_pooler false).
    at::Tensor pooled;
};

class ViTEmbeddingsImpl;
class ViTLayerImpl;
class ViTPoolerImpl;

// Parameter names as in transformers' ViT checkpoints: embeddings.cls_token,
// embeddings.position_embeddings, embeddings.patch_embeddings.projection,
// encoder.layer.N.{layernorm_before, attention.attention.{query,key,value},
// attention.output.dense, layernorm_after, intermediate.dense, output.dense}, layernorm,
// pooler.dense. Dropout follows train()/eval().
class MSA_MODELS_API ViTModelImpl : public torch::nn::Module {
public:
    explicit ViTModelImpl(ViTConfig config);

    // pixel_values [N, num_channels, image_height, image_width] float, already normalized;
    // another size is an error (position embeddings are not interpolated). Returns the
    // hidden state that enters layer 0, [N, 1 + num_patches, hidden_size].
    at::Tensor embed(const at::Tensor& pixel_values);
    std::int64_t num_layers() const { return static_cast<std::int64_t>(layers_.size()); }
    // Runs layers [begin, end) on `hidden` (the output of layer begin-1, or of embed when
    // begin is 0). `mask` must be undefined: every patch attends everywhere.
    at::Tensor run_layers(at::Tensor hidden, const at::Tensor& mask, std::int64_t begin, std::int64_t end);
    // The final step, in two parts: the final layernorm on the last layer's output (giving
    // last_hidden_state), then the pooler on that (see ViTModelOutput::pooled).
    at::Tensor final_norm(const at::Tensor& last_layer_output);
    at::Tensor pool(const at::Tensor& last_hidden_state);
    // embed, every layer, final_norm, pool.
    ViTModelOutput forward(const at::Tensor& pixel_values);

    // Layer `index` (encoder.layer.INDEX), e.g. to train or freeze it.
    std::shared_ptr<torch::nn::Module> layer(std::int64_t index);
    // The modules of the final step: layernorm, and the pooler when there is one.
    std::vector<std::shared_ptr<torch::nn::Module>> final_step_modules();
    bool has_pooler() const { return pooler_ != nullptr; }
    const ViTConfig& config() const { return config_; }

private:
    ViTConfig config_;
    std::shared_ptr<ViTEmbeddingsImpl> embeddings_;
    std::vector<std::shared_ptr<ViTLayerImpl>> layers_;
    torch::nn::LayerNorm layernorm_{nullptr};
    std::shared_ptr<ViTPoolerImpl> pooler_;
};
TORCH_MODULE(ViTModel);

// A ViTModel built from a checkpoint folder's config.json and filled with its weights,
// strictly. Names may carry a task model's prefix ("vit."), which is found and removed;
// the task's head (classifier.) is then left unused, as is a masked-image-modeling
// checkpoint's embeddings.mask_token. A pooler is built when the checkpoint
// has one. The model is returned in eval mode.
MSA_MODELS_API ViTModel vit_from_checkpoint(const Checkpoint& checkpoint);

} // namespace msa::models

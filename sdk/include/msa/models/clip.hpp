// CLIP's text and vision towers with their projections, as LibTorch modules named like
// transformers' CLIPModel / CLIPTextModelWithProjection / CLIPVisionModelWithProjection,
// each run as a stack: embeddings, encoder layers, final step.
#pragma once

#include <msa/models/checkpoint.hpp>
#include <msa/models/export.hpp>
#include <msa/models/model_config.hpp>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <msa/models/linear.hpp>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace msa::models {

// transformers' ACT2FN names a CLIP config may use.
enum class ClipActivation {
    quick_gelu, // "quick_gelu": x * sigmoid(1.702 x), OpenAI's checkpoints
    gelu,       // "gelu": the exact (erf) GELU
    gelu_new,   // "gelu_new": the tanh approximation, spelled out as transformers does
    gelu_tanh,  // "gelu_pytorch_tanh": the tanh approximation, PyTorch's kernel
    relu,       // "relu"
};

// What both towers' encoders read from config.json (CLIPTextConfig / CLIPVisionConfig).
struct MSA_MODELS_API ClipEncoderConfig {
    std::int64_t hidden_size = 512;
    std::int64_t intermediate_size = 2048;
    std::int64_t num_attention_heads = 8;
    std::int64_t num_hidden_layers = 12;
    ClipActivation hidden_act = ClipActivation::quick_gelu;
    double layer_norm_eps = 1e-5;
    // The output size of text_projection / visual_projection.
    std::int64_t projection_dim = 512;
    double attention_dropout = 0.0; // training only
    // Whether the checkpoint has the projection (CLIPModel and *WithProjection do; a bare
    // CLIPTextModel / CLIPVisionModel does not). Set by the loaders from the weights.
    bool with_projection = true;
};

// Defaults are CLIPTextConfig's (openai/clip-vit-base-patch32), used for keys a config
// leaves out, as transformers does.
struct MSA_MODELS_API ClipTextConfig : ClipEncoderConfig {
    std::int64_t vocab_size = 49408;
    std::int64_t max_position_embeddings = 77;
    // Pooling takes the first position holding this id; the legacy value 2 (configs from
    // before transformers PR #24773) means "the highest id in the row" instead.
    std::int64_t eos_token_id = 49407;

    // Either a CLIPConfig (model_type "clip": reads "text_config", or "text_config_dict"
    // when an old config has it, and the top-level "projection_dim") or a CLIPTextConfig
    // (model_type "clip_text_model" or none). A vision config, an unknown hidden_act, an
    // eos_token_id that is a list, or a hidden_size that the heads do not divide is a
    // CheckpointError naming the file and key.
    static ClipTextConfig from_json(const ModelConfig& config);
};

// Defaults are CLIPVisionConfig's (openai/clip-vit-base-patch32).
struct MSA_MODELS_API ClipVisionConfig : ClipEncoderConfig {
    std::int64_t image_size = 224; // inputs must be image_size x image_size
    std::int64_t patch_size = 32;
    std::int64_t num_channels = 3;

    ClipVisionConfig() {
        hidden_size = 768;
        intermediate_size = 3072;
        num_attention_heads = 12;
    }
    std::int64_t num_positions() const { return (image_size / patch_size) * (image_size / patch_size) + 1; }

    // A CLIPConfig ("vision_config" / "vision_config_dict", top-level "projection_dim") or
    // a CLIPVisionConfig (model_type "clip_vision_model" or none); errors as for text.
    static ClipVisionConfig from_json(const ModelConfig& config);
};

// "self_attn": q_proj, k_proj, v_proj, out_proj (all with bias).
class MSA_MODELS_API ClipAttentionImpl : public torch::nn::Module {
public:
    explicit ClipAttentionImpl(const ClipEncoderConfig& config);
    // bias: additive [N or 1, 1, T, T] (0 = may attend) or undefined; sees_any: [N, 1, T, 1]
    // 1/0, the queries that may attend to at least one key, or undefined (all may).
    at::Tensor forward(const at::Tensor& hidden, const at::Tensor& bias, const at::Tensor& sees_any);

    Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};

private:
    std::int64_t num_heads_;
    std::int64_t head_dim_;
    double scale_;
    double dropout_;
};
TORCH_MODULE(ClipAttention);

// "mlp": fc1, activation, fc2.
class MSA_MODELS_API ClipMlpImpl : public torch::nn::Module {
public:
    explicit ClipMlpImpl(const ClipEncoderConfig& config);
    at::Tensor forward(const at::Tensor& hidden);

    Linear fc1{nullptr}, fc2{nullptr};

private:
    ClipActivation activation_;
};
TORCH_MODULE(ClipMlp);

// "encoder.layers.N": pre-norm block, x + attn(ln1(x)), then x + mlp(ln2(x)).
class MSA_MODELS_API ClipEncoderLayerImpl : public torch::nn::Module {
public:
    explicit ClipEncoderLayerImpl(const ClipEncoderConfig& config);
    at::Tensor forward(const at::Tensor& hidden, const at::Tensor& bias, const at::Tensor& sees_any);

    ClipAttention self_attn{nullptr};
    torch::nn::LayerNorm layer_norm1{nullptr};
    ClipMlp mlp{nullptr};
    torch::nn::LayerNorm layer_norm2{nullptr};
};
TORCH_MODULE(ClipEncoderLayer);

// "encoder": layers.0 .. layers.{num_hidden_layers-1}.
class MSA_MODELS_API ClipEncoderImpl : public torch::nn::Module {
public:
    explicit ClipEncoderImpl(const ClipEncoderConfig& config);
    std::int64_t size() const { return static_cast<std::int64_t>(layers->size()); }
    ClipEncoderLayer layer(std::int64_t index) const;
    // Runs layers [begin, end); checks the range against the depth.
    at::Tensor run(at::Tensor hidden, const at::Tensor& bias, const at::Tensor& sees_any, std::int64_t begin,
                   std::int64_t end, const std::string& who);

    torch::nn::ModuleList layers{nullptr};
};
TORCH_MODULE(ClipEncoder);

// "text_model.embeddings": token_embedding + position_embedding (positions 0..T-1).
class MSA_MODELS_API ClipTextEmbeddingsImpl : public torch::nn::Module {
public:
    explicit ClipTextEmbeddingsImpl(const ClipTextConfig& config);
    at::Tensor forward(const at::Tensor& input_ids);

    torch::nn::Embedding token_embedding{nullptr}, position_embedding{nullptr};
};
TORCH_MODULE(ClipTextEmbeddings);

// transformers' CLIPTextModel: "embeddings", "encoder", "final_layer_norm".
class MSA_MODELS_API ClipTextTransformerImpl : public torch::nn::Module {
public:
    explicit ClipTextTransformerImpl(const ClipTextConfig& config);

    ClipTextEmbeddings embeddings{nullptr};
    ClipEncoder encoder{nullptr};
    torch::nn::LayerNorm final_layer_norm{nullptr};
};
TORCH_MODULE(ClipTextTransformer);

struct ClipTextOutput {
    // The embedding output, then each layer's output, as transformers' output_hidden_states
    // (the last one is BEFORE final_layer_norm). Empty from head().
    std::vector<at::Tensor> hidden_states;
    // final_layer_norm(last layer's output) [N, T, hidden_size]: transformers' last_hidden_state.
    at::Tensor last_hidden_state;
    // pooled: transformers' pooler_output [N, hidden_size], last_hidden_state at the
    // position pool_positions() picks (the EOS token); no projection.
    at::Tensor pooled;
    // text_projection(pooled) [N, projection_dim]: transformers' text_embeds (not
    // normalized); undefined when the checkpoint has no text_projection.
    at::Tensor projected;
};

// CLIPTextModelWithProjection (and the text half of CLIPModel): "text_model" (the tower)
// and "text_projection" (no bias, absent when !config.with_projection).
class MSA_MODELS_API ClipTextModelImpl : public torch::nn::Module {
public:
    explicit ClipTextModelImpl(const ClipTextConfig& config);

    // input_ids: integer [N, T], T <= max_position_embeddings -> [N, T, hidden_size], the
    // hidden state entering layer 0.
    at::Tensor embed(const at::Tensor& input_ids);
    std::int64_t num_layers() const { return text_model->encoder->size(); }
    // Runs layers [begin, end) with CLIP's causal mask, and, when `mask` ([N, T], 1 = real
    // token) is defined, its padding mask too. As transformers' default (sdpa) attention, a
    // query that may see no key at all (a pad before the first real token) attends to
    // nothing: its attention output is 0.
    at::Tensor run_layers(at::Tensor hidden, const at::Tensor& mask, std::int64_t begin, std::int64_t end);
    // The pooled position of each row [N] (int64): the first eos_token_id, or (legacy
    // eos_token_id 2) the first highest id. A row without EOS gives 0, as in transformers.
    at::Tensor pool_positions(const at::Tensor& input_ids) const;
    // The final step from the last layer's output: final_layer_norm, pooling at
    // `positions` ([N] integers), text_projection. hidden_states stays empty.
    ClipTextOutput head(const at::Tensor& hidden, const at::Tensor& positions);
    // attention_mask: [N, T] 1 = real token, or undefined (causal mask only).
    ClipTextOutput forward(const at::Tensor& input_ids, const at::Tensor& attention_mask = {});

    ClipEncoderLayer layer(std::int64_t index) const { return text_model->encoder->layer(index); }
    // final_layer_norm and text_projection: what trains with the top layers.
    std::vector<std::shared_ptr<torch::nn::Module>> head_modules() const;
    const ClipTextConfig& config() const { return config_; }

    ClipTextTransformer text_model{nullptr};
    Linear text_projection{nullptr};

private:
    ClipTextConfig config_;
};
TORCH_MODULE(ClipTextModel);

// "vision_model.embeddings": class_embedding, patch_embedding (conv, no bias),
// position_embedding (all num_positions, added as is).
class MSA_MODELS_API ClipVisionEmbeddingsImpl : public torch::nn::Module {
public:
    explicit ClipVisionEmbeddingsImpl(const ClipVisionConfig& config);
    at::Tensor forward(const at::Tensor& pixel_values);

    at::Tensor class_embedding;
    torch::nn::Conv2d patch_embedding{nullptr};
    torch::nn::Embedding position_embedding{nullptr};

private:
    ClipVisionConfig config_;
};
TORCH_MODULE(ClipVisionEmbeddings);

// transformers' CLIPVisionModel: "embeddings", "pre_layrnorm" (sic), "encoder", "post_layernorm".
class MSA_MODELS_API ClipVisionTransformerImpl : public torch::nn::Module {
public:
    explicit ClipVisionTransformerImpl(const ClipVisionConfig& config);

    ClipVisionEmbeddings embeddings{nullptr};
    torch::nn::LayerNorm pre_layrnorm{nullptr};
    ClipEncoder encoder{nullptr};
    torch::nn::LayerNorm post_layernorm{nullptr};
};
TORCH_MODULE(ClipVisionTransformer);

struct ClipVisionOutput {
    // The embedding output (after pre_layrnorm), then each layer's output, as transformers'
    // output_hidden_states. Empty from head().
    std::vector<at::Tensor> hidden_states;
    // The last layer's output [N, 1 + patches, hidden_size], no norm: transformers'
    // last_hidden_state (token 0 is CLS, then patches in row-major order).
    at::Tensor last_hidden_state;
    // pooled: transformers' pooler_output [N, hidden_size] = post_layernorm(CLS token).
    at::Tensor pooled;
    // visual_projection(pooled) [N, projection_dim]: transformers' image_embeds (not
    // normalized); undefined when the checkpoint has no visual_projection.
    at::Tensor projected;
};

// CLIPVisionModelWithProjection (and the image half of CLIPModel): "vision_model" and
// "visual_projection" (no bias, absent when !config.with_projection).
class MSA_MODELS_API ClipVisionModelImpl : public torch::nn::Module {
public:
    explicit ClipVisionModelImpl(const ClipVisionConfig& config);

    // pixel_values: float [N, num_channels, image_size, image_size] (CLIP-normalized) ->
    // [N, 1 + patches, hidden_size] after pre_layrnorm, the hidden state entering layer 0.
    at::Tensor embed(const at::Tensor& pixel_values);
    std::int64_t num_layers() const { return vision_model->encoder->size(); }
    // Runs layers [begin, end); `mask` must be undefined (images have no padding).
    at::Tensor run_layers(at::Tensor hidden, const at::Tensor& mask, std::int64_t begin, std::int64_t end);
    // The final step: post_layernorm(CLS), visual_projection. last_hidden_state = hidden.
    ClipVisionOutput head(const at::Tensor& hidden);
    ClipVisionOutput forward(const at::Tensor& pixel_values);

    ClipEncoderLayer layer(std::int64_t index) const { return vision_model->encoder->layer(index); }
    // post_layernorm and visual_projection: what trains with the top layers.
    std::vector<std::shared_ptr<torch::nn::Module>> head_modules() const;
    const ClipVisionConfig& config() const { return config_; }

    ClipVisionTransformer vision_model{nullptr};
    Linear visual_projection{nullptr};

private:
    ClipVisionConfig config_;
};
TORCH_MODULE(ClipVisionModel);

// x / ||x||_2 over the last dimension, as CLIPModel normalizes embeddings.
MSA_MODELS_API at::Tensor clip_normalize(const at::Tensor& embeds);
// CLIPModel's logits_per_image [images, texts] = exp(logit_scale) * image . text, from
// NORMALIZED embeddings (clip_normalize of the projected ones). logit_scale is the
// checkpoint's raw (log) value.
MSA_MODELS_API at::Tensor clip_logits_per_image(const at::Tensor& image_embeds, const at::Tensor& text_embeds,
                                                double logit_scale);

// The whole CLIPModel, for zero-shot: both towers share their modules with `text` and
// `vision`, registered under CLIPModel's names, plus "logit_scale" (a scalar, log scale).
class MSA_MODELS_API ClipModelImpl : public torch::nn::Module {
public:
    ClipModelImpl(const ClipTextConfig& text_config, const ClipVisionConfig& vision_config);
    // exp(logit_scale) * normalized image embeds . normalized text embeds: [images, texts].
    at::Tensor logits_per_image(const at::Tensor& pixel_values, const at::Tensor& input_ids,
                                const at::Tensor& attention_mask = {});
    double logit_scale_value() const;
    // Also switches the tower wrappers `text` and `vision`, which are not children.
    void train(bool on = true) override;

    ClipTextModel text{nullptr};
    ClipVisionModel vision{nullptr};
    at::Tensor logit_scale;
};
TORCH_MODULE(ClipModel);

// Builds and strictly loads a tower from a checkpoint folder's config and weights. They
// accept a CLIPModel (the other tower, its projection and logit_scale are left unused),
// a CLIP*ModelWithProjection, and a bare CLIPTextModel / CLIPVisionModel (names without
// "text_model." / "vision_model."; no projection, so `projected` stays undefined).
// Checkpoints that still carry the position_ids buffer are accepted.
MSA_MODELS_API ClipTextModel load_clip_text_model(const Checkpoint& checkpoint);
MSA_MODELS_API ClipVisionModel load_clip_vision_model(const Checkpoint& checkpoint);
// A CLIPModel checkpoint, strictly (both towers, both projections, logit_scale).
MSA_MODELS_API ClipModel load_clip_model(const Checkpoint& checkpoint);

} // namespace msa::models

// MPNet (sentence-transformers' all-mpnet-base-v2 and other MPNet checkpoints) as a LibTorch
// module named like transformers' MPNetModel, so that its checkpoints load one to one.
#pragma once

#include <msa/models/checkpoint.hpp>
#include <msa/models/export.hpp>
#include <msa/models/model_config.hpp>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace msa::models {

struct MSA_MODELS_API MPNetConfig {
    std::int64_t vocab_size = 30527;
    std::int64_t hidden_size = 768;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t intermediate_size = 3072;
    std::string hidden_act = "gelu";
    double hidden_dropout_prob = 0.1;
    double attention_probs_dropout_prob = 0.1;
    std::int64_t max_position_embeddings = 512;
    double layer_norm_eps = 1e-12;
    // Rows of encoder.relative_attention_bias. transformers buckets relative positions
    // into relative_position_buckets() whatever this says, so it must be at least that.
    std::int64_t relative_attention_num_buckets = 32;
    // Not in config.json: whether the checkpoint has pooler.dense. mpnet_from_checkpoint
    // sets it from the weights.
    bool with_pooler = true;

    // transformers' MPNetEmbeddings pads with id 1 and numbers positions from 2 (as RoBERTa
    // does), whatever config.json's pad_token_id says.
    static constexpr std::int64_t padding_idx = 1;
    // The relative position buckets and the distance from which they stop growing, fixed in
    // transformers' MPNetEncoder.
    static constexpr std::int64_t relative_position_buckets = 32;
    static constexpr std::int64_t relative_max_distance = 128;
    // The most tokens per sequence: the last position id is padding_idx + tokens.
    std::int64_t max_tokens() const { return max_position_embeddings - padding_idx - 1; }
    // Reads config.json (model_type "mpnet"); rejects what the module cannot run with a
    // CheckpointError naming the key.
    static MPNetConfig from_json(const ModelConfig& config);
};

// What forward returns.
struct MSA_MODELS_API MPNetModelOutput {
    // As transformers' output_hidden_states: the embedding output, then each layer's
    // output; num_layers() + 1 tensors of [N,T,hidden_size].
    std::vector<at::Tensor> hidden_states;
    // The last layer's output, [N,T,hidden_size] (MPNet has no final norm).
    at::Tensor last_hidden_state;
    // transformers' "pooler_output": tanh(pooler.dense(last_hidden_state[:, 0])), [N,hidden_size];
    // undefined when the model has no pooler.
    at::Tensor pooled;
};

class MPNetEmbeddingsImpl;
class MPNetEncoderImpl;
class MPNetLayerImpl;
class MPNetPoolerImpl;

// Parameter names as in transformers: embeddings.{word,position}_embeddings,
// embeddings.LayerNorm, encoder.layer.N.attention.attn.{q,k,v,o},
// encoder.layer.N.attention.LayerNorm, encoder.layer.N.intermediate.dense,
// encoder.layer.N.output.{dense,LayerNorm}, encoder.relative_attention_bias, pooler.dense.
// Dropout follows train()/eval().
class MSA_MODELS_API MPNetModelImpl : public torch::nn::Module {
public:
    explicit MPNetModelImpl(MPNetConfig config);

    // input_ids [N,T] integer (padding = MPNetConfig::padding_idx). Returns the hidden state
    // that enters layer 0, [N,T,hidden_size].
    at::Tensor embed(const at::Tensor& input_ids);
    std::int64_t num_layers() const { return static_cast<std::int64_t>(layers_.size()); }
    // Runs layers [begin, end) on `hidden` (the output of layer begin-1, or of embed when
    // begin is 0). attention_mask [N,T]: 1 = real token, 0 = padding; undefined = all real.
    // The relative position bias is computed once and shared by the layers, as in
    // transformers' MPNetEncoder.
    at::Tensor run_layers(at::Tensor hidden, const at::Tensor& attention_mask, std::int64_t begin, std::int64_t end);
    // The final step: the pooler on the last hidden state (see MPNetModelOutput::pooled).
    at::Tensor pool(const at::Tensor& last_hidden_state);
    // embed, every layer, pool.
    MPNetModelOutput forward(const at::Tensor& input_ids, const at::Tensor& attention_mask = {});

    // The bias every layer adds to its attention scores for a sequence of `tokens`:
    // encoder.relative_attention_bias at the bucket of each (query, key) distance,
    // [1,heads,tokens,tokens]. It depends on the distance in the padded sequence only.
    at::Tensor position_bias(std::int64_t tokens);
    // transformers' MPNetEncoder.relative_position_bucket: key position minus query position
    // [..] (int64) -> bucket [..] (int64): exact for |distance| < 8, logarithmic up to
    // relative_max_distance, the two directions in separate halves.
    static at::Tensor relative_position_bucket(const at::Tensor& relative_position);

    // Layer `index` (encoder.layer.INDEX), e.g. to train or freeze it. The relative
    // attention bias belongs to no layer: every layer shares it.
    std::shared_ptr<torch::nn::Module> layer(std::int64_t index);
    // The modules of the final step (the pooler; none without one).
    std::vector<std::shared_ptr<torch::nn::Module>> final_step_modules();
    bool has_pooler() const { return pooler_ != nullptr; }
    const MPNetConfig& config() const { return config_; }

private:
    MPNetConfig config_;
    std::shared_ptr<MPNetEmbeddingsImpl> embeddings_;
    std::shared_ptr<MPNetEncoderImpl> encoder_; // the layers and the relative attention bias
    std::vector<std::shared_ptr<MPNetLayerImpl>> layers_;
    std::shared_ptr<MPNetPoolerImpl> pooler_;
};
TORCH_MODULE(MPNetModel);

// An MPNetModel built from a checkpoint folder's config.json and filled with its weights,
// strictly. Names may carry a task model's prefix ("mpnet."), which is found and removed;
// the task's heads (lm_head., classifier., ...) are then left unused, as is the
// embeddings.position_ids buffer older transformers saved. A pooler is built when the
// checkpoint has one. The model is returned in eval mode.
MSA_MODELS_API MPNetModel mpnet_from_checkpoint(const Checkpoint& checkpoint);

} // namespace msa::models

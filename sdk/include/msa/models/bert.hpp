// The BERT family (BERT, MiniLM, RoBERTa, XLM-R) as a LibTorch module named like
// transformers' BertModel/RobertaModel, so that their checkpoints load one to one.
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

struct MSA_MODELS_API BertConfig {
    // "bert" or, with fairseq's position numbering, "roberta" / "xlm-roberta".
    std::string model_type = "bert";
    std::int64_t vocab_size = 30522;
    std::int64_t hidden_size = 768;
    std::int64_t num_hidden_layers = 12;
    std::int64_t num_attention_heads = 12;
    std::int64_t intermediate_size = 3072;
    std::string hidden_act = "gelu";
    double hidden_dropout_prob = 0.1;
    double attention_probs_dropout_prob = 0.1;
    std::int64_t max_position_embeddings = 512;
    std::int64_t type_vocab_size = 2;
    double layer_norm_eps = 1e-12;
    std::int64_t pad_token_id = 0;
    // Not in config.json: whether the checkpoint has pooler.dense (task models and some
    // sentence encoders were saved without it). bert_from_checkpoint sets it from the weights.
    bool with_pooler = true;

    // RoBERTa numbers positions from pad_token_id + 1 and skips padding tokens.
    bool roberta_positions() const { return model_type != "bert"; }
    // The most tokens per sequence: RoBERTa's last position id is pad_token_id + tokens.
    std::int64_t max_tokens() const {
        return roberta_positions() ? max_position_embeddings - pad_token_id - 1 : max_position_embeddings;
    }
    // Reads config.json; rejects what this module does not implement (relative position
    // embeddings, decoders, cross-attention) with a CheckpointError naming the key.
    static BertConfig from_json(const ModelConfig& config);
};

// What forward returns.
struct MSA_MODELS_API BertModelOutput {
    // As transformers' output_hidden_states: the embedding output, then each layer's
    // output; num_layers() + 1 tensors of [N,T,hidden_size].
    std::vector<at::Tensor> hidden_states;
    // The last layer's output, [N,T,hidden_size] (BERT has no final norm).
    at::Tensor last_hidden_state;
    // transformers' "pooler_output": tanh(pooler.dense(last_hidden_state[:, 0])), [N,hidden_size];
    // undefined when the model has no pooler (config.with_pooler false).
    at::Tensor pooled;
};

class BertEmbeddingsImpl;
class BertLayerImpl;
class BertPoolerImpl;

// Parameter names as in transformers: embeddings.{word,position,token_type}_embeddings,
// embeddings.LayerNorm, encoder.layer.N.attention.self.{query,key,value},
// encoder.layer.N.attention.output.{dense,LayerNorm}, encoder.layer.N.intermediate.dense,
// encoder.layer.N.output.{dense,LayerNorm}, pooler.dense. Dropout follows train()/eval().
class MSA_MODELS_API BertModelImpl : public torch::nn::Module {
public:
    explicit BertModelImpl(BertConfig config);

    // input_ids [N,T] integer; token_type_ids [N,T] or undefined (all 0). Returns the
    // hidden state that enters layer 0, [N,T,hidden_size].
    at::Tensor embed(const at::Tensor& input_ids, const at::Tensor& token_type_ids = {});
    std::int64_t num_layers() const { return static_cast<std::int64_t>(layers_.size()); }
    // Runs layers [begin, end) on `hidden` (the output of layer begin-1, or of embed when
    // begin is 0). attention_mask [N,T]: 1 = real token, 0 = padding; undefined = all real.
    at::Tensor run_layers(at::Tensor hidden, const at::Tensor& attention_mask, std::int64_t begin, std::int64_t end);
    // The final step: the pooler on the last hidden state (see BertModelOutput::pooled).
    at::Tensor pool(const at::Tensor& last_hidden_state);
    // embed, every layer, pool.
    BertModelOutput forward(const at::Tensor& input_ids, const at::Tensor& attention_mask = {},
                            const at::Tensor& token_type_ids = {});

    // Layer `index` (encoder.layer.INDEX), e.g. to train or freeze it.
    std::shared_ptr<torch::nn::Module> layer(std::int64_t index);
    // The modules of the final step (the pooler; none without one).
    std::vector<std::shared_ptr<torch::nn::Module>> final_step_modules();
    bool has_pooler() const { return pooler_ != nullptr; }
    const BertConfig& config() const { return config_; }

private:
    BertConfig config_;
    std::shared_ptr<BertEmbeddingsImpl> embeddings_;
    std::vector<std::shared_ptr<BertLayerImpl>> layers_;
    std::shared_ptr<BertPoolerImpl> pooler_;
};
TORCH_MODULE(BertModel);

// A BertModel built from a checkpoint folder's config.json and filled with its weights,
// strictly. Names may carry a task model's prefix ("bert.", "roberta."), which is found and
// removed; the task's heads (cls., classifier., lm_head., ...) are then left unused, as is
// the embeddings.position_ids buffer older transformers saved. A pooler is built when the
// checkpoint has one. The model is returned in eval mode.
MSA_MODELS_API BertModel bert_from_checkpoint(const Checkpoint& checkpoint);

} // namespace msa::models

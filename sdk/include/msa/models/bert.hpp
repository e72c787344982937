// The BERT family (BERT, MiniLM, RoBERTa, XLM-R) and its masked-language-model heads as LibTorch
// modules named like transformers' BertModel/RobertaModel and BertOnlyMLMHead/RobertaLMHead, so
// that their checkpoints load one to one.
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
    // The word-embedding matrix [vocab_size, hidden_size] (embeddings.word_embeddings.weight),
    // which an MLM head's decoder shares.
    at::Tensor word_embeddings() const;

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

class MaskedLmTransformImpl;

// transformers' BertOnlyMLMHead (cls.predictions.*) and RobertaLMHead (lm_head.*): a transform
// (dense, activation, LayerNorm), then the decoder, tied to the word embeddings, and a bias.
// BERT's activation is config.hidden_act, RoBERTa's is gelu (exact), as in transformers.
// The family is config.roberta_positions() (RoBERTa and XLM-R take RobertaLMHead).
// Parameters are named as the checkpoint names them under its head prefix, so that a state
// dict maps one to one: BERT's transform.dense.{weight,bias}, transform.LayerNorm.{weight,bias}
// and bias; RoBERTa's dense.{weight,bias}, layer_norm.{weight,bias} and bias. The decoder weight
// is neither a parameter nor a buffer of the head: it is the model's embedding matrix, held as
// the same tensor, so training, freezing, moving or changing the embeddings acts on the head
// too, and the head's parameters() never count it twice.
class MSA_MODELS_API MaskedLmHeadImpl : public torch::nn::Module {
public:
    // decoder_weight: [vocab_size, hidden_size], normally BertModel::word_embeddings() (tied).
    MaskedLmHeadImpl(const BertConfig& config, at::Tensor decoder_weight);
    // hidden [..., hidden_size] -> the transformed state [..., hidden_size].
    at::Tensor transform(const at::Tensor& hidden);
    // hidden [..., hidden_size] -> vocabulary logits [..., vocab_size].
    at::Tensor forward(const at::Tensor& hidden);
    // The logits of `token_ids` only ([K] int64), [..., K]: decoder rows and bias entries
    // gathered, so scoring a few verbalizer words never computes the whole vocabulary. Equal
    // to forward(hidden).index_select(-1, token_ids).
    at::Tensor logits_for(const at::Tensor& hidden, const at::Tensor& token_ids);

private:
    void check_hidden(const at::Tensor& hidden) const;
    std::int64_t vocab_size_;
    std::shared_ptr<MaskedLmTransformImpl> transform_;
    at::Tensor decoder_weight_;
    at::Tensor bias_;
};
TORCH_MODULE(MaskedLmHead);

struct MSA_MODELS_API BertMaskedLm {
    BertModel model;
    MaskedLmHead head;
};

// A BertForMaskedLM / RobertaForMaskedLM (or BertForPreTraining) checkpoint: the model as
// bert_from_checkpoint loads it, and its MLM head (cls.predictions.* for BERT, lm_head.* for
// RoBERTa and XLM-R, beside the base model's prefix), loaded strictly. The decoder weight is
// the word embeddings (tied, as transformers saves it): the file may or may not repeat it as
// cls.predictions.decoder.weight / lm_head.decoder.weight, and the decoder's bias as
// *.decoder.bias. Untied decoders are not supported: a repeated decoder weight or bias that
// differs from the embeddings or the head's bias is a CheckpointError ("untied decoders are
// not supported"), and so is a config.json with tie_word_embeddings false unless the file
// repeats both and they are equal, because transformers' versions disagree on which bias an
// untied head uses (4.x: the head's bias; 5.x: the decoder's).
// Throws CheckpointError naming the folder and the missing weight names, and what is accepted,
// when the checkpoint has no MLM head (a BertModel or sentence-transformers folder such as
// all-MiniLM-L6-v2). Both are returned in eval mode.
MSA_MODELS_API BertMaskedLm masked_lm_from_checkpoint(const Checkpoint& checkpoint);

} // namespace msa::models

// Pieces shared by the BERT-family, MPNet and ViT encoders: multi-head self-attention under
// Hugging Face's query/key/value names, the additive padding mask, activations by their
// config.json names, and finding a task model's name prefix in a checkpoint.
#pragma once

#include <msa/models/checkpoint.hpp>
#include <msa/models/export.hpp>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <msa/models/linear.hpp>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace msa::models {

// The checkpoint names of the query, key and value projections: BERT's and ViT's
// "query", "key", "value"; MPNet's "q", "k", "v".
struct ProjectionNames {
    std::string query = "query";
    std::string key = "key";
    std::string value = "value";
};

// Scaled dot-product self-attention over `num_heads` heads: the query, key and value
// projections (BertSelfAttention's and ViTSelfAttention's submodules) and the weighted
// sum with the heads concatenated again. The output projection belongs to the caller,
// because BERT and ViT name and normalize it differently.
class MSA_MODELS_API MultiHeadSelfAttentionImpl : public torch::nn::Module {
public:
    MultiHeadSelfAttentionImpl(std::int64_t hidden_size, std::int64_t num_heads, bool bias, double dropout);
    // The projections registered under `names` (the members keep their names below).
    MultiHeadSelfAttentionImpl(std::int64_t hidden_size, std::int64_t num_heads, bool bias, double dropout,
                               const ProjectionNames& names);
    // hidden [N,T,D]; additive_mask [N,1,1,T] from additive_attention_mask (or anything that
    // broadcasts to [N,heads,T,T], such as a padding mask plus MPNet's relative position
    // bias), or undefined when every position may attend everywhere. Returns [N,T,D].
    at::Tensor forward(const at::Tensor& hidden, const at::Tensor& additive_mask);

    Linear query{nullptr}, key{nullptr}, value{nullptr};

private:
    std::int64_t num_heads_;
    std::int64_t head_size_;
    double scaling_;
    double dropout_;
};
TORCH_MODULE(MultiHeadSelfAttention);

// softmax(q k^T * scaling + additive_mask) v for each head, for float32 CPU inference
// (no autograd): q, k, v [N,T,D] as the projections give them, D = num_heads x head
// size; additive_mask broadcasts to [N,heads,T,T]. Returns [N,T,D] with the heads
// concatenated. The per-head products run through oneDNN's sgemm in parallel over
// samples and heads, reading each head in place, instead of LibTorch's batched matmul
// (one small BLAS call after another, see linear.hpp).
MSA_MODELS_API at::Tensor self_attention_inference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                                   std::int64_t num_heads, double scaling,
                                                   const at::Tensor& additive_mask);

// Whether `attention` (a module holding the q/k/v projections) may take
// self_attention_inference for `hidden`: float32 [N,T,D] on the CPU, no dropout, and
// nothing that needs gradients (a trainable layer or an input that requires them).
MSA_MODELS_API bool self_attention_inference_applies(const torch::nn::Module& attention, const at::Tensor& hidden,
                                                     double dropout);

// Checks token ids before an embedding lookup, so that a text too long or a tokenizer of
// another checkpoint is an error saying so (LibTorch would say "index out of range in
// self"): an integer tensor [batch, tokens], at most max_tokens tokens (the model has
// `positions` position embeddings), every id in [0, vocab_size). `model` ("BertModel")
// starts each message.
MSA_MODELS_API void check_token_ids(const at::Tensor& input_ids, std::int64_t vocab_size, std::int64_t max_tokens,
                                    std::int64_t positions, const std::string& model);

// A [N,T] padding mask (nonzero = real token) as the [N,1,1,T] tensor transformers adds to
// the attention scores: 0 where a key may be attended, the lowest value of `dtype` where not.
MSA_MODELS_API at::Tensor additive_attention_mask(const at::Tensor& mask, at::ScalarType dtype);

// An activation function named as in config.json ("hidden_act"), matching transformers' ACT2FN.
class MSA_MODELS_API Activation {
public:
    // Throws msa::Error naming the accepted names when `name` is not one of them.
    explicit Activation(const std::string& name);
    at::Tensor operator()(const at::Tensor& x) const;
    const std::string& name() const { return name_; }
    // The names this class accepts, for messages: "gelu, gelu_new, ...".
    static std::string accepted_names();
    static bool accepts(const std::string& name);

private:
    enum class Kind { gelu, gelu_tanh_formula, gelu_tanh, quick_gelu, relu, silu, tanh };
    static const std::vector<std::pair<std::string, Kind>>& table();
    std::string name_;
    Kind kind_;
};

// The prefix a task model puts before the base model's names ("bert." in a
// BertForSequenceClassification checkpoint), found from `anchor`, a tensor every
// checkpoint of the architecture has ("embeddings.word_embeddings.weight"). Returns ""
// when the names are unprefixed; a CheckpointError naming `source` when no name or more
// than one kind of name ends with the anchor.
MSA_MODELS_API std::string find_name_prefix(const StateDict& weights, const std::string& anchor,
                                            const std::string& source, const std::string& architecture);

} // namespace msa::models

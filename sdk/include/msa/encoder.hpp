// Encoder plugins turn samples of one modality into feature tensors.
#pragma once

#include <msa/modality.hpp>
#include <msa/sample.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace torch::nn {
class Module;
}

namespace msa {

// What an encoder produces for a batch of N samples.
struct Features {
    at::Tensor pooled; // [N, D] float
    at::Tensor tokens; // [N, T, D] token or patch sequence; undefined when not produced
    at::Tensor mask;   // [N, T] 1 for real tokens; undefined when tokens is
};

struct EncoderBatch {
    std::vector<const Sample*> samples;
};

// Fine-tuning of an encoder's top k layers (`trainable_layers = k`). The frozen bottom
// turns a batch into the hidden state entering those layers (the prefix); with
// `cached_prefix = true` the host keeps prefix features in the feature store, so
// training runs only the top layers and never the frozen bottom again.
class __attribute__((visibility("default"))) TrainableTop {
public:
    virtual ~TrainableTop() = default;
    // k: how many of the encoder's top layers train.
    virtual std::int64_t layers() const = 0;
    // Whether the host should keep prefix features in the feature store.
    virtual bool cached_prefix() const = 0;
    // Everything that changes the prefix besides plugin name and version (checkpoint,
    // preprocessing, where the cut is); the store keys prefix features on it.
    virtual std::string prefix_cache_key() const = 0;
    // The hidden state below the top k layers as tokens [N, T, D] and mask [N, T];
    // pooled is the masked mean of the tokens (the store wants a pooled row per sample).
    virtual Features encode_prefix(const EncoderBatch& batch) = 0;
    // The part that trains: the top k layers and what follows them (final norm,
    // pooler, projection). Its parameters are the ones to optimise, in float32. Its
    // direct children, in order: the k layers from the lowest to the highest, then the
    // final step's modules; [train] layer_decay gives the rates by that order.
    virtual std::shared_ptr<torch::nn::Module> module() = 0;
    // The encoder's output (as encode() gives it) computed from prefix features, with
    // autograd through module()'s parameters. The host may call it under CPU autocast to
    // bfloat16 ([train] precision): every op on the way needs bfloat16 forward and
    // backward kernels, and the features it returns are float32.
    virtual Features forward(const Features& prefix) = 0;
    // SDK 4.4, last in the vtable so that 4.3 libraries keep their slots (the host asks
    // it only of 4.4 libraries): what encode_prefix computes in, for the records, when it
    // differs from the encoder's precision() (e.g. "bfloat16-autocast": float32 weights,
    // bfloat16 matmuls); empty: the same. prefix_cache_key() must change with it.
    virtual std::string prefix_precision() const { return ""; }
};

class __attribute__((visibility("default"))) Encoder {
public:
    virtual ~Encoder() = default;
    virtual Modality modality() const = 0;
    // Width D of the pooled features.
    virtual std::int64_t dim() const = 0;
    // Identity of everything that changes the output besides the plugin's name and
    // version: checkpoint digest, preprocessing, pooling. The feature store keys on it.
    virtual std::string cache_key() const = 0;
    virtual Features encode(const EncoderBatch& batch) = 0;
    // How many samples the host should pass to encode() at once.
    virtual std::int64_t batch_size() const { return 64; }
    // Non-null when the encoder was configured to fine-tune its top layers.
    virtual TrainableTop* trainable_top() { return nullptr; }
    // Intra-op threads this encoder asks for while it encodes (its `threads` parameter);
    // 0 = the host's own count. The host sets them around encode() and restores its own
    // after: a plugin never changes process-wide settings itself. SDK 3.0.
    virtual std::int64_t threads() const { return 0; }
    // The compute type it encodes in ("float32", "bfloat16", ...), after resolving
    // dtype = "auto" for this CPU; metrics.json records it beside the features. SDK 4.0.
    virtual std::string precision() const { return "float32"; }
};

} // namespace msa

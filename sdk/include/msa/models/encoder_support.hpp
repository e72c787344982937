// What the checkpoint encoder plugins share: their common parameters, opening the
// checkpoint folder, dtype and threads, pooling, image batches, and fine-tuning of the
// top layers on top of any model seen as a stack of layers.
#pragma once

#include <msa/encoder.hpp>
#include <msa/media/image_processor.hpp>
#include <msa/models/checkpoint.hpp>
#include <msa/models/export.hpp>
#include <msa/properties.hpp>

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace msa::models {

// The parameters every checkpoint encoder declares: checkpoint, dtype, batch_size,
// threads, layer, tokens, trainable_layers, cached_prefix. `checkpoint_hint` says where a
// suitable folder comes from (shown in `msa plugins` and in the missing-folder error).
MSA_MODELS_API std::vector<ParamSpec> checkpoint_encoder_params(const std::string& checkpoint_hint);

// Those parameters, read and checked.
struct MSA_MODELS_API EncoderSettings {
    std::string plugin;
    Checkpoint checkpoint;
    at::ScalarType dtype = at::kFloat; // float32 or bfloat16 (dtype = "auto" resolved for this CPU)
    std::int64_t batch_size = 32;
    std::int64_t threads = 0;          // asked of the host while encoding; 0: the host's count
    std::int64_t layer = -1;           // -1: the last layer, with the model's final norm
    bool tokens = false;               // also return the token sequence
    std::int64_t trainable_layers = 0;
    bool cached_prefix = false;
    // The frozen bottom of a fine-tuned encoder encodes its prefix under CPU bfloat16
    // autocast: dtype = "auto" (float32 weights for the top) on a CPU with native BF16.
    bool prefix_autocast = false;
    std::string where_layer;           // manifest positions, for errors found later
    std::string where_trainable_layers;

    // Reads them from `props` and opens the checkpoint folder (a missing folder is a
    // ConfigError that names it and repeats the hint).
    static EncoderSettings read(const Properties& props, const std::string& plugin, const std::string& checkpoint_hint);

    // Everything in them that changes the output: checkpoint digest, dtype, layer, tokens.
    std::string cache_key() const;
    // Checks layer and trainable_layers against the model's depth; returns the layer
    // index counted from 0 (= the embedding output) to num_layers (= the last layer).
    std::int64_t resolve_layer(std::int64_t num_layers) const;
};

// Mean over the tokens whose mask is nonzero: [N, T, D], [N, T] -> [N, D].
MSA_MODELS_API at::Tensor masked_mean(const at::Tensor& tokens, const at::Tensor& mask);

// Decodes and preprocesses the batch's images on `threads` threads (0: LibTorch's
// intra-op count, which the host sets) into float32 pixels [N, 3, H, W]. A bad image is an error naming the
// sample id and the file.
MSA_MODELS_API at::Tensor load_image_batch(const EncoderBatch& batch, const media::ImageProcessorOptions& options,
                                           std::int64_t threads);

// The checkpoint's image processor: its preprocessor_config.json when the folder has one,
// else the defaults of `processor_type` ("ViTImageProcessor", ...) resized to the
// model's height x width.
MSA_MODELS_API media::ImageProcessorOptions image_processor_for(const Checkpoint& checkpoint,
                                                                const std::string& processor_type,
                                                                std::int64_t height, std::int64_t width);
// Every option that changes the pixels, for cache keys.
MSA_MODELS_API std::string image_processor_key(const media::ImageProcessorOptions& options);

// A model as an encoder plugin sees it: an input step (in the plugin), num_layers layers,
// and a final step from the last hidden state to the encoder's features.
struct LayerStack {
    std::int64_t num_layers = 0;
    // Text models take a token mask; image models none (their stored mask is all ones).
    bool takes_mask = true;
    // Runs layers [begin, end) on `hidden` (mask: [N, T], undefined for image models).
    std::function<at::Tensor(const at::Tensor& hidden, const at::Tensor& mask, std::int64_t begin, std::int64_t end)>
        run_layers;
    // From the last layer's hidden state to the features encode() returns.
    std::function<Features(const at::Tensor& hidden, const at::Tensor& mask)> finish;
    // The modules that train when the top k layers do: those layers and the final step's.
    std::function<std::vector<std::shared_ptr<torch::nn::Module>>(std::int64_t k)> top_modules;
    // For hidden states that are not [N, T, D] (a CNN's [N, C, H, W]): conversions to and
    // from the token form the feature store keeps. Identity when unset.
    std::function<at::Tensor(const at::Tensor&)> to_tokens;
    std::function<at::Tensor(const at::Tensor&)> from_tokens;
};

// Fine-tuning of the top k layers of a LayerStack. `embed` runs the plugin's input step
// (tokenizer or image preprocessing, then the model's embeddings) and returns the hidden
// state entering layer 0 with its mask.
class MSA_MODELS_API StackTrainableTop final : public TrainableTop {
public:
    using Embed = std::function<std::pair<at::Tensor, at::Tensor>(const EncoderBatch& batch)>;
    StackTrainableTop(LayerStack stack, Embed embed, std::int64_t k, bool cached_prefix, bool prefix_autocast,
                      std::string prefix_cache_key);

    std::int64_t layers() const override { return k_; }
    bool cached_prefix() const override { return cached_prefix_; }
    std::string prefix_cache_key() const override { return prefix_cache_key_; }
    Features encode_prefix(const EncoderBatch& batch) override;
    std::string prefix_precision() const override { return prefix_autocast_ ? "bfloat16-autocast" : ""; }
    std::shared_ptr<torch::nn::Module> module() override { return module_; }
    Features forward(const Features& prefix) override;

private:
    LayerStack stack_;
    Embed embed_;
    std::int64_t k_;
    bool cached_prefix_;
    bool prefix_autocast_;
    std::string prefix_cache_key_;
    std::shared_ptr<torch::nn::Module> module_;
};

// Pools a token sequence: "cls" takes the first token, "mean" the masked mean.
MSA_MODELS_API at::Tensor pool_tokens(const at::Tensor& tokens, const at::Tensor& mask, const std::string& pooling);

// What a checkpoint encoder plugin provides to become an Encoder: its input step, its
// model as a LayerStack, and how an inner layer's hidden state becomes features.
struct StackEncoderSpec {
    Modality modality = Modality::text;
    std::int64_t dim = 0; // width of the pooled features
    // The plugin's own output-changing parameters (max_length, pooling, preprocessing).
    std::string extra_cache_key;
    // Tokenizer or image preprocessing, then the model's embeddings: the hidden state
    // entering layer 0, and the token mask (undefined for image models).
    StackTrainableTop::Embed embed;
    LayerStack stack;
    // Features from the output of an inner layer (`layer` below the last).
    std::function<Features(const at::Tensor& hidden, const at::Tensor& mask)> inner;
};

// The Encoder every checkpoint plugin is: runs embed, the layers up to `layer`, then the
// final step (or `inner`), without autograd; offers fine-tuning of the top layers when
// trainable_layers > 0. Features come back as float32 whatever the compute dtype.
class MSA_MODELS_API StackEncoder final : public Encoder {
public:
    StackEncoder(EncoderSettings settings, StackEncoderSpec spec);
    Modality modality() const override { return spec_.modality; }
    std::int64_t dim() const override { return spec_.dim; }
    std::string cache_key() const override;
    std::int64_t batch_size() const override { return settings_.batch_size; }
    std::int64_t threads() const override { return settings_.threads; }
    std::string precision() const override { return settings_.dtype == at::kBFloat16 ? "bfloat16" : "float32"; }
    Features encode(const EncoderBatch& batch) override;
    TrainableTop* trainable_top() override { return top_.get(); }

private:
    EncoderSettings settings_;
    StackEncoderSpec spec_;
    std::int64_t layer_;
    std::unique_ptr<TrainableTop> top_;
};

} // namespace msa::models

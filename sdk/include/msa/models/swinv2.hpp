// Swin Transformer V2 (transformers' Swinv2Model) as a LibTorch module with the checkpoint's
// parameter names, run as a stack whose layers are the stages (encoder.layers.N).
#pragma once

#include <msa/models/export.hpp>
#include <msa/models/model_config.hpp>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace msa::models {

// Swinv2Config's fields that change the network, with transformers' defaults.
struct MSA_MODELS_API Swinv2Config {
    std::int64_t image_height = 224; // "image_size": an integer or [height, width]
    std::int64_t image_width = 224;
    std::int64_t patch_height = 4;   // "patch_size": an integer or [height, width]
    std::int64_t patch_width = 4;
    std::int64_t num_channels = 3;
    std::int64_t embed_dim = 96;     // stage i has embed_dim * 2^i channels
    std::vector<std::int64_t> depths{2, 2, 6, 2};
    std::vector<std::int64_t> num_heads{3, 6, 12, 24};
    std::int64_t window_size = 7;
    // Per stage; 0 = the window the checkpoint was trained with is this one. Scales the
    // coordinates fed to the continuous position bias MLP.
    std::vector<std::int64_t> pretrained_window_sizes{0, 0, 0, 0};
    double mlp_ratio = 4.0;
    bool qkv_bias = true;            // query and value biases (key never has one)
    std::string hidden_act = "gelu";
    double hidden_dropout_prob = 0.0;
    double attention_probs_dropout_prob = 0.0;
    double drop_path_rate = 0.1;     // stochastic depth, linear over all blocks, training only
    double layer_norm_eps = 1e-5;    // blocks and final layernorm (embeddings and downsample use 1e-5)
    // Not in config.json: a Swinv2ForMaskedImageModeling checkpoint has embeddings.mask_token,
    // a Swinv2Model normally does not (transformers' use_mask_token argument).
    bool use_mask_token = false;

    // Reads config.json. "model_type", when present, must be "swinv2". Options transformers
    // itself cannot run are CheckpointErrors: "use_absolute_embeddings": true (its position
    // table has one row more than there are patches), depths and num_heads of different
    // lengths, fewer pretrained_window_sizes than stages, heads that do not divide a stage's
    // width, an activation other than those listed in the error.
    static Swinv2Config from_json(const ModelConfig& config);

    std::int64_t num_stages() const { return static_cast<std::int64_t>(depths.size()); }
    std::int64_t stage_dim(std::int64_t stage) const { return embed_dim << stage; }
    // The last stage's width: the size of last_hidden_state and pooled.
    std::int64_t hidden_size() const { return stage_dim(num_stages() - 1); }
};

// The token grid of a hidden state [N, height * width, C], positions in row-major order.
struct Swinv2Grid {
    std::int64_t height = 0;
    std::int64_t width = 0;
};

struct Swinv2Output {
    // transformers' hidden_states (output_hidden_states=True): the embedding output, then
    // each stage's output after its downsample (the last stage has none), [N, T_i, D_i].
    std::vector<at::Tensor> hidden_states;
    // layernorm(last stage's output) [N, T, hidden_size]: transformers' last_hidden_state.
    at::Tensor last_hidden_state;
    // last_hidden_state averaged over the tokens [N, hidden_size]: Swinv2Model's
    // pooler_output (AdaptiveAvgPool1d(1) then flatten).
    at::Tensor pooled;
};

class Swinv2EmbeddingsImpl;
class Swinv2StageImpl;

// Swinv2Model without its pooler module (the pooler has no weights; pool() is the same
// average). Checkpoint names: embeddings.*, encoder.layers.N.*, layernorm.*. For
// Swinv2ForImageClassification checkpoints load with LoadOptions{prefix "swinv2.",
// may_ignore {"classifier."}}. The relative coordinate table and index of each attention
// are not in checkpoints (transformers makes them non-persistent buffers); they are
// computed from the config and kept as plain tensors, not buffers, so that strict loading
// needs no exceptions; they follow the weights' device and dtype when used.
class MSA_MODELS_API Swinv2ModelImpl : public torch::nn::Module {
public:
    explicit Swinv2ModelImpl(Swinv2Config config);

    // Patch embedding (pixels padded right/bottom to a multiple of the patch size), norm,
    // mask token where bool_masked_pos [N, T] is nonzero (needs use_mask_token), dropout.
    // pixel_values: float [N, num_channels, H, W], any H and W. Returns [N, T0, embed_dim].
    at::Tensor embed(const at::Tensor& pixel_values, const at::Tensor& bool_masked_pos = {});
    // The layers are the stages, encoder.layers.0 .. encoder.layers.{num_layers-1}; each ends
    // with its patch merging (downsample), except the last.
    std::int64_t num_layers() const { return config_.num_stages(); }
    // Runs stages [begin, end) on hidden [N, T, D_begin]. `mask` must be undefined: images
    // have no padding mask. The token grid is that of an image of the configured
    // image_size when T matches it, else a square one; other grids need the overload below.
    at::Tensor run_layers(at::Tensor hidden, const at::Tensor& mask, std::int64_t begin, std::int64_t end);
    at::Tensor run_layers(at::Tensor hidden, Swinv2Grid grid, std::int64_t begin, std::int64_t end);
    // The final steps: layernorm -> last_hidden_state, then the mean over tokens -> pooled.
    at::Tensor final_norm(const at::Tensor& hidden);
    static at::Tensor pool(const at::Tensor& last_hidden_state);

    Swinv2Output forward(const at::Tensor& pixel_values, const at::Tensor& bool_masked_pos = {});

    // The token grid entering stage `stage` (num_layers() = after the last stage) for an
    // image of height x width pixels.
    Swinv2Grid grid(std::int64_t stage, std::int64_t image_height, std::int64_t image_width) const;
    const Swinv2Config& config() const { return config_; }
    // encoder.layers.N, for training the top stages.
    std::shared_ptr<torch::nn::Module> layer(std::int64_t index) const;
    // The final step's weights (layernorm), which train with the top stages.
    torch::nn::LayerNorm layernorm() const { return layernorm_; }

private:
    Swinv2Grid infer_grid(std::int64_t stage, std::int64_t tokens) const;

    Swinv2Config config_;
    std::shared_ptr<Swinv2EmbeddingsImpl> embeddings_;
    std::vector<std::shared_ptr<Swinv2StageImpl>> stages_;
    torch::nn::ModuleList layers_{nullptr};
    torch::nn::LayerNorm layernorm_{nullptr};
};
TORCH_MODULE(Swinv2Model);

} // namespace msa::models

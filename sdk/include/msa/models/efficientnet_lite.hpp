// EfficientNet-Lite0..4 as a LibTorch module with the state-dict names of the PyPI package
// efficientnet_lite_pytorch (the port of TensorFlow's efficientnet/lite), run as a stack:
// stem, MBConv blocks, head.
#pragma once

#include <msa/media/image_processor.hpp>
#include <msa/models/export.hpp>
#include <msa/models/model_config.hpp>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <msa/models/linear.hpp>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace msa::models {

// One MBConv block after width and depth scaling (the reference's BlockArgs).
struct EfficientNetLiteBlockConfig {
    std::int64_t input_filters = 0;
    std::int64_t output_filters = 0;
    std::int64_t expand_ratio = 1; // 1: no _expand_conv/_bn0
    std::int64_t kernel_size = 3;
    std::int64_t stride = 1;
    // The residual (and drop connect) applies only where the block keeps the shape.
    bool has_skip() const { return stride == 1 && input_filters == output_filters; }
};

// The reference's GlobalParams for the lite family. Lite models always use ReLU6, no
// squeeze-excitation, and an unscaled stem (32 channels), head (1280 channels) and
// first/last block groups; those are not options here.
struct MSA_MODELS_API EfficientNetLiteConfig {
    std::string variant = "efficientnet-lite0";
    double width_coefficient = 1.0;
    double depth_coefficient = 1.0;
    std::int64_t image_size = 224;   // the training resolution; inputs may be any size
    double dropout_rate = 0.2;       // before _fc, training only
    double drop_connect_rate = 0.2;  // block i drops its residual branch with rate * i / blocks, training only
    std::int64_t num_classes = 1000;
    double batch_norm_momentum = 0.99; // TensorFlow's convention: PyTorch's momentum is 1 - this
    double batch_norm_epsilon = 1e-3;
    std::int64_t depth_divisor = 8;
    std::int64_t min_depth = 0;        // 0: depth_divisor, as the reference's None

    static constexpr std::int64_t stem_channels = 32;
    static constexpr std::int64_t head_channels = 1280;

    // The published coefficients of "efficientnet-lite0".."efficientnet-lite4"; any other
    // name is a CheckpointError that lists these.
    static EfficientNetLiteConfig from_variant(const std::string& variant);
    // config.json: "variant" (required) sets the defaults; "num_classes", "image_size",
    // "width_coefficient", "depth_coefficient", "dropout_rate", "drop_connect_rate",
    // "batch_norm_momentum", "batch_norm_epsilon", "depth_divisor", "min_depth" override
    // them. "model_type", when present, must be "efficientnet-lite". Options the lite
    // family does not have ("relu_fn" other than "relu6", "use_se": true,
    // "fix_head_stem": false, "local_pooling": true) are CheckpointErrors.
    static EfficientNetLiteConfig from_json(const ModelConfig& config);

    // The reference's round_filters / round_repeats applied to the lite block table.
    std::int64_t round_filters(std::int64_t filters) const;
    std::int64_t round_repeats(std::int64_t repeats) const;
    // Every block in _blocks order.
    std::vector<EfficientNetLiteBlockConfig> blocks() const;
};

// The preprocessing the lite checkpoints expect: TensorFlow's lite builder trains with
// "inception-style" MEAN_RGB = 127 and STDDEV_RGB = 128 on 0..255 pixels (not ImageNet's
// mean/std), and evaluates on a centre crop of image_size from an image whose short side
// is image_size + 32 (CROP_PADDING), bicubic. As image-processor options: shortest_edge
// image_size + 32, bicubic, centre crop image_size, rescale 1/255, mean 127/255, std 128/255.
MSA_MODELS_API media::ImageProcessorOptions efficientnet_lite_image_options(const EfficientNetLiteConfig& config);

// Mobile inverted bottleneck without squeeze-excitation: [1x1 expand, BN, ReLU6],
// depthwise kxk, BN, ReLU6, 1x1 project, BN, + input when the shape is kept.
class MSA_MODELS_API EfficientNetLiteBlockImpl : public torch::nn::Module {
public:
    EfficientNetLiteBlockImpl(const EfficientNetLiteBlockConfig& block, const EfficientNetLiteConfig& config);
    // drop_connect_rate acts only in training mode.
    at::Tensor forward(const at::Tensor& x, double drop_connect_rate = 0.0);

    const EfficientNetLiteBlockConfig& block_config() const { return block_; }

private:
    EfficientNetLiteBlockConfig block_;
    torch::nn::Conv2d expand_conv_{nullptr}; // "_expand_conv", absent when expand_ratio == 1
    torch::nn::BatchNorm2d bn0_{nullptr};    // "_bn0", likewise
    torch::nn::Conv2d depthwise_conv_{nullptr};
    torch::nn::BatchNorm2d bn1_{nullptr};
    torch::nn::Conv2d project_conv_{nullptr};
    torch::nn::BatchNorm2d bn2_{nullptr};
};
TORCH_MODULE(EfficientNetLiteBlock);

struct EfficientNetLiteOutput {
    // The stem's output, then each block's output: [N, C, H, W] maps, in the order the
    // reference's extract_features computes them (the stack's hidden states).
    std::vector<at::Tensor> hidden_states;
    // The head's output (_conv_head, _bn1, ReLU6) [N, 1280, h, w] ...
    at::Tensor feature_map;
    // ... and the same as a token sequence [N, h*w, 1280], positions in row-major order.
    at::Tensor last_hidden_state;
    // pooled: the mean of feature_map over h and w [N, 1280] -- what the reference's
    // forward passes to _dropout and _fc.
    at::Tensor pooled;
    // _fc(pooled) [N, num_classes] (dropout only in training mode).
    at::Tensor logits;
};

class MSA_MODELS_API EfficientNetLiteImpl : public torch::nn::Module {
public:
    explicit EfficientNetLiteImpl(const EfficientNetLiteConfig& config);

    // Stem: "same"-padded stride-2 3x3 conv, BN, ReLU6. pixel_values: float [N, 3, H, W].
    at::Tensor embed(const at::Tensor& pixel_values);
    // The layers are the MBConv blocks, _blocks.0 .. _blocks.{num_layers-1}.
    std::int64_t num_layers() const { return static_cast<std::int64_t>(blocks_->size()); }
    // Runs blocks [begin, end). `mask` must be undefined: images have no padding mask.
    at::Tensor run_layers(at::Tensor hidden, const at::Tensor& mask, std::int64_t begin, std::int64_t end);
    // The final steps: head (1x1 conv to 1280, BN, ReLU6) -> [N, 1280, h, w], global
    // average -> [N, 1280], dropout + _fc -> [N, num_classes].
    at::Tensor head(const at::Tensor& hidden);
    static at::Tensor pool(const at::Tensor& feature_map);
    at::Tensor classify(const at::Tensor& pooled);
    // [N, C, H, W] -> [N, H*W, C].
    static at::Tensor to_tokens(const at::Tensor& feature_map);

    EfficientNetLiteOutput forward(const at::Tensor& pixel_values);

    const EfficientNetLiteConfig& config() const { return config_; }
    EfficientNetLiteBlock block(std::int64_t index) const;
    // _conv_head, _bn1 and _fc: what trains with the top blocks.
    std::vector<std::shared_ptr<torch::nn::Module>> head_modules() const;

private:
    EfficientNetLiteConfig config_;
    torch::nn::Conv2d conv_stem_{nullptr};
    torch::nn::BatchNorm2d bn0_{nullptr};
    torch::nn::ModuleList blocks_{nullptr};
    torch::nn::Conv2d conv_head_{nullptr};
    torch::nn::BatchNorm2d bn1_{nullptr};
    Linear fc_{nullptr};
};
TORCH_MODULE(EfficientNetLite);

} // namespace msa::models

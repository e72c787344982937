// EfficientNet-Lite as the efficientnet_lite_pytorch package builds it (model.py, utils.py),
// layer for layer and name for name, so its state dicts load one to one.
#include <msa/models/efficientnet_lite.hpp>

#include <msa/models/checkpoint.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>

namespace msa::models {
namespace {

// min(max(x, 0), 6) as a clamp: relu6's backward (hardtanh_backward) has no bfloat16 CPU
// kernel in LibTorch 1.13, and a top block fine-tuned under bfloat16 autocast needs one.
at::Tensor clamped_relu6(const at::Tensor& x) { return at::clamp(x, 0.0, 6.0); }

struct VariantParams {
    const char* name;
    double width;
    double depth;
    std::int64_t resolution;
    double dropout;
};

// (width_coefficient, depth_coefficient, resolution, dropout_rate), from TensorFlow's
// efficientnet_lite_builder.py as the reference copies it.
constexpr std::array<VariantParams, 5> kVariants{{
    {"efficientnet-lite0", 1.0, 1.0, 224, 0.2},
    {"efficientnet-lite1", 1.0, 1.1, 240, 0.2},
    {"efficientnet-lite2", 1.1, 1.2, 260, 0.3},
    {"efficientnet-lite3", 1.2, 1.4, 280, 0.3},
    {"efficientnet-lite4", 1.4, 1.8, 300, 0.3},
}};

std::string variant_names() {
    std::string out;
    for (const auto& v : kVariants) out += (out.empty() ? "" : ", ") + std::string(v.name);
    return out;
}

const VariantParams* find_variant(const std::string& name) {
    for (const auto& v : kVariants)
        if (name == v.name) return &v;
    return nullptr;
}

// The lite block table before scaling ('r1_k3_s11_e1_i32_o16', ...).
struct BlockGroup {
    std::int64_t repeats, kernel_size, stride, expand_ratio, input_filters, output_filters;
};
constexpr std::array<BlockGroup, 7> kBlockGroups{{
    {1, 3, 1, 1, 32, 16},
    {2, 3, 2, 6, 16, 24},
    {2, 5, 2, 6, 24, 40},
    {3, 3, 2, 6, 40, 80},
    {3, 5, 1, 6, 80, 112},
    {4, 5, 2, 6, 112, 192},
    {1, 3, 1, 6, 192, 320},
}};

// The stem's kernel and stride; the stride also halves the resolution before block 0.
constexpr std::int64_t kStemKernel = 3;
constexpr std::int64_t kStemStride = 2;
constexpr std::int64_t kRgbChannels = 3;
// TensorFlow's eval preprocessing crops image_size out of image_size + CROP_PADDING.
constexpr int kCropPadding = 32;

std::string shape_of(const at::Tensor& t) {
    std::ostringstream out;
    out << t.sizes();
    return out.str();
}

// TensorFlow's "SAME" padding for a dilation-1 conv, computed from the input's size as the
// reference's Conv2dDynamicSamePadding does (its static variant computes the same numbers
// once for the configured image_size): output = ceil(input / stride), extra pixel at the end.
at::Tensor same_pad(const at::Tensor& x, std::int64_t kernel, std::int64_t stride) {
    const auto pad_for = [&](std::int64_t in) {
        const std::int64_t out = (in + stride - 1) / stride;
        return std::max<std::int64_t>((out - 1) * stride + kernel - in, 0);
    };
    const std::int64_t pad_h = pad_for(x.size(2));
    const std::int64_t pad_w = pad_for(x.size(3));
    if (pad_h == 0 && pad_w == 0) return x;
    return at::constant_pad_nd(x, {pad_w / 2, pad_w - pad_w / 2, pad_h / 2, pad_h - pad_h / 2}, 0.0);
}

torch::nn::Conv2d make_conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride = 1,
                            std::int64_t groups = 1) {
    // Padding is applied by same_pad, never by the conv itself; the lite convs have no bias.
    return torch::nn::Conv2d(
        torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(0).groups(groups).bias(false));
}

torch::nn::BatchNorm2d make_bn(std::int64_t channels, const EfficientNetLiteConfig& config) {
    return torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels)
                                      .momentum(1.0 - config.batch_norm_momentum)
                                      .eps(config.batch_norm_epsilon));
}

// Stochastic depth as the reference's drop_connect: keeps each sample's branch with
// probability 1 - p and rescales it by 1 / (1 - p).
at::Tensor drop_connect(const at::Tensor& x, double p) {
    const double keep = 1.0 - p;
    const at::Tensor mask = at::floor(at::rand({x.size(0), 1, 1, 1}, x.options()) + keep);
    return x / keep * mask;
}

} // namespace

// ---- config ------------------------------------------------------------------------------

EfficientNetLiteConfig EfficientNetLiteConfig::from_variant(const std::string& variant) {
    const VariantParams* params = find_variant(variant);
    if (!params)
        throw CheckpointError("EfficientNet-Lite: unknown variant '" + variant + "'; accepted: " + variant_names());
    EfficientNetLiteConfig config;
    config.variant = variant;
    config.width_coefficient = params->width;
    config.depth_coefficient = params->depth;
    config.image_size = params->resolution;
    config.dropout_rate = params->dropout;
    return config;
}

EfficientNetLiteConfig EfficientNetLiteConfig::from_json(const ModelConfig& json) {
    if (json.has("model_type") && json.string("model_type") != "efficientnet-lite")
        json.fail("model_type", "'" + json.string("model_type") + "' is not this architecture; expected 'efficientnet-lite'");
    const std::string variant = json.string("variant");
    if (!find_variant(variant)) json.fail("variant", "unknown variant '" + variant + "'; accepted: " + variant_names());
    EfficientNetLiteConfig config = from_variant(variant);

    // What the lite family fixes; a checkpoint that says otherwise is not one we can run.
    if (json.has("relu_fn") && json.string("relu_fn") != "relu6")
        json.fail("relu_fn", "'" + json.string("relu_fn") + "' is not supported: EfficientNet-Lite uses 'relu6'");
    if (json.boolean("use_se", false))
        json.fail("use_se", "squeeze-excitation is not supported: EfficientNet-Lite has none; accepted: false");
    if (!json.boolean("fix_head_stem", true))
        json.fail("fix_head_stem", "a scaled stem and head is not supported: EfficientNet-Lite fixes them; accepted: true");
    if (json.boolean("local_pooling", false))
        json.fail("local_pooling", "not supported (a TFLite export workaround); accepted: false");

    config.num_classes = json.integer("num_classes", config.num_classes);
    config.image_size = json.integer("image_size", config.image_size);
    config.width_coefficient = json.real("width_coefficient", config.width_coefficient);
    config.depth_coefficient = json.real("depth_coefficient", config.depth_coefficient);
    config.dropout_rate = json.real("dropout_rate", config.dropout_rate);
    config.drop_connect_rate = json.real("drop_connect_rate", config.drop_connect_rate);
    config.batch_norm_momentum = json.real("batch_norm_momentum", config.batch_norm_momentum);
    config.batch_norm_epsilon = json.real("batch_norm_epsilon", config.batch_norm_epsilon);
    config.depth_divisor = json.integer("depth_divisor", config.depth_divisor);
    config.min_depth = json.integer("min_depth", config.min_depth);

    if (config.num_classes < 1) json.fail("num_classes", "must be at least 1");
    if (config.image_size < 1) json.fail("image_size", "must be at least 1");
    if (!(config.width_coefficient > 0)) json.fail("width_coefficient", "must be greater than 0");
    if (!(config.depth_coefficient > 0)) json.fail("depth_coefficient", "must be greater than 0");
    if (!(config.dropout_rate >= 0 && config.dropout_rate < 1)) json.fail("dropout_rate", "must be in [0, 1)");
    if (!(config.drop_connect_rate >= 0 && config.drop_connect_rate < 1))
        json.fail("drop_connect_rate", "must be in [0, 1)");
    if (!(config.batch_norm_momentum > 0 && config.batch_norm_momentum < 1))
        json.fail("batch_norm_momentum", "must be in (0, 1) (TensorFlow's convention, e.g. 0.99)");
    if (!(config.batch_norm_epsilon > 0)) json.fail("batch_norm_epsilon", "must be greater than 0");
    if (config.depth_divisor < 1) json.fail("depth_divisor", "must be at least 1");
    if (config.min_depth < 0) json.fail("min_depth", "must be 0 (= depth_divisor) or more");
    return config;
}

std::int64_t EfficientNetLiteConfig::round_filters(std::int64_t filters) const {
    // utils.round_filters: round to a multiple of depth_divisor, never more than 10% down.
    const double scaled = static_cast<double>(filters) * width_coefficient;
    const auto divisor = static_cast<double>(depth_divisor);
    const std::int64_t min_filters = min_depth > 0 ? min_depth : depth_divisor;
    std::int64_t rounded = std::max<std::int64_t>(
        min_filters, static_cast<std::int64_t>(scaled + divisor / 2) / depth_divisor * depth_divisor);
    constexpr double kMaxRoundingDown = 0.9;
    if (static_cast<double>(rounded) < kMaxRoundingDown * scaled) rounded += depth_divisor;
    return rounded;
}

std::int64_t EfficientNetLiteConfig::round_repeats(std::int64_t repeats) const {
    return static_cast<std::int64_t>(std::ceil(depth_coefficient * static_cast<double>(repeats)));
}

std::vector<EfficientNetLiteBlockConfig> EfficientNetLiteConfig::blocks() const {
    std::vector<EfficientNetLiteBlockConfig> out;
    for (std::size_t g = 0; g < kBlockGroups.size(); ++g) {
        const BlockGroup& group = kBlockGroups[g];
        const bool fixed = g == 0 || g + 1 == kBlockGroups.size(); // fix_head_stem: not depth-scaled
        EfficientNetLiteBlockConfig block;
        block.input_filters = g == 0 ? stem_channels : round_filters(group.input_filters);
        block.output_filters = round_filters(group.output_filters);
        block.expand_ratio = group.expand_ratio;
        block.kernel_size = group.kernel_size;
        block.stride = group.stride;
        const std::int64_t repeats = fixed ? group.repeats : round_repeats(group.repeats);
        out.push_back(block);
        block.input_filters = block.output_filters;
        block.stride = 1;
        for (std::int64_t r = 1; r < repeats; ++r) out.push_back(block);
    }
    return out;
}

media::ImageProcessorOptions efficientnet_lite_image_options(const EfficientNetLiteConfig& config) {
    media::ImageProcessorOptions options;
    options.do_resize = true;
    options.shortest_edge = static_cast<int>(config.image_size) + kCropPadding;
    options.resample = media::Resample::bicubic;
    options.do_center_crop = true;
    options.crop_size = {static_cast<int>(config.image_size), static_cast<int>(config.image_size)};
    options.do_rescale = true;
    options.rescale_factor = 1.0 / 255.0;
    options.do_normalize = true;
    // (x - 127) / 128 on 0..255 pixels, written for the rescaled 0..1 values.
    constexpr float kMean = 127.0f / 255.0f;
    constexpr float kStd = 128.0f / 255.0f;
    options.image_mean = {kMean, kMean, kMean};
    options.image_std = {kStd, kStd, kStd};
    return options;
}

// ---- block -------------------------------------------------------------------------------

EfficientNetLiteBlockImpl::EfficientNetLiteBlockImpl(const EfficientNetLiteBlockConfig& block,
                                                     const EfficientNetLiteConfig& config)
    : block_(block) {
    const std::int64_t expanded = block.input_filters * block.expand_ratio;
    if (block.expand_ratio != 1) {
        expand_conv_ = register_module("_expand_conv", make_conv(block.input_filters, expanded, /*kernel=*/1));
        bn0_ = register_module("_bn0", make_bn(expanded, config));
    }
    depthwise_conv_ = register_module(
        "_depthwise_conv", make_conv(expanded, expanded, block.kernel_size, block.stride, /*groups=*/expanded));
    bn1_ = register_module("_bn1", make_bn(expanded, config));
    project_conv_ = register_module("_project_conv", make_conv(expanded, block.output_filters, /*kernel=*/1));
    bn2_ = register_module("_bn2", make_bn(block.output_filters, config));
}

at::Tensor EfficientNetLiteBlockImpl::forward(const at::Tensor& inputs, double drop_connect_rate) {
    at::Tensor x = inputs;
    if (expand_conv_) x = clamped_relu6(bn0_->forward(expand_conv_->forward(x)));
    x = clamped_relu6(bn1_->forward(depthwise_conv_->forward(same_pad(x, block_.kernel_size, block_.stride))));
    x = bn2_->forward(project_conv_->forward(x));
    if (block_.has_skip()) {
        if (drop_connect_rate > 0 && is_training()) x = drop_connect(x, drop_connect_rate);
        x = x + inputs;
    }
    return x;
}

// ---- model -------------------------------------------------------------------------------

EfficientNetLiteImpl::EfficientNetLiteImpl(const EfficientNetLiteConfig& config) : config_(config) {
    conv_stem_ = register_module(
        "_conv_stem", make_conv(kRgbChannels, EfficientNetLiteConfig::stem_channels, kStemKernel, kStemStride));
    bn0_ = register_module("_bn0", make_bn(EfficientNetLiteConfig::stem_channels, config));
    blocks_ = register_module("_blocks", torch::nn::ModuleList());
    const auto block_configs = config.blocks();
    for (const auto& block : block_configs) blocks_->push_back(EfficientNetLiteBlock(block, config));
    conv_head_ = register_module(
        "_conv_head",
        make_conv(block_configs.back().output_filters, EfficientNetLiteConfig::head_channels, /*kernel=*/1));
    bn1_ = register_module("_bn1", make_bn(EfficientNetLiteConfig::head_channels, config));
    fc_ = register_module("_fc", Linear(EfficientNetLiteConfig::head_channels, config.num_classes));
}

at::Tensor EfficientNetLiteImpl::embed(const at::Tensor& pixel_values) {
    if (pixel_values.dim() != 4 || pixel_values.size(1) != kRgbChannels || !pixel_values.is_floating_point())
        throw Error(config_.variant + ": pixel_values must be a float tensor [N, 3, H, W]; got " +
                    std::string(c10::toString(pixel_values.scalar_type())) + " " + shape_of(pixel_values));
    // Channels-last from here on (convolutions, batch norms and activations keep the
    // layout): oneDNN's depthwise and 1x1 convolutions run 2 to 5 times faster on it.
    const at::Tensor pixels = pixel_values.contiguous(at::MemoryFormat::ChannelsLast);
    return clamped_relu6(bn0_->forward(conv_stem_->forward(same_pad(pixels, kStemKernel, kStemStride))));
}

at::Tensor EfficientNetLiteImpl::run_layers(at::Tensor hidden, const at::Tensor& mask, std::int64_t begin,
                                            std::int64_t end) {
    if (mask.defined())
        throw Error(config_.variant + ": run_layers takes no mask (images have no padding); pass an undefined tensor");
    if (begin < 0 || begin > end || end > num_layers())
        throw Error(config_.variant + ": run_layers(" + std::to_string(begin) + ", " + std::to_string(end) +
                    ") is outside the " + std::to_string(num_layers()) + " blocks; accepted: 0 <= begin <= end <= " +
                    std::to_string(num_layers()));
    for (std::int64_t i = begin; i < end; ++i) {
        // The reference scales the rate with the block's index over all blocks.
        const double rate = config_.drop_connect_rate * static_cast<double>(i) / static_cast<double>(num_layers());
        hidden = block(i)->forward(hidden, rate);
    }
    return hidden;
}

at::Tensor EfficientNetLiteImpl::head(const at::Tensor& hidden) {
    return clamped_relu6(bn1_->forward(conv_head_->forward(hidden)));
}

at::Tensor EfficientNetLiteImpl::pool(const at::Tensor& feature_map) {
    return feature_map.mean({2, 3});
}

at::Tensor EfficientNetLiteImpl::classify(const at::Tensor& pooled) {
    return fc_->forward(at::dropout(pooled, config_.dropout_rate, is_training()));
}

at::Tensor EfficientNetLiteImpl::to_tokens(const at::Tensor& feature_map) {
    return feature_map.flatten(2).transpose(1, 2);
}

EfficientNetLiteOutput EfficientNetLiteImpl::forward(const at::Tensor& pixel_values) {
    EfficientNetLiteOutput out;
    at::Tensor hidden = embed(pixel_values);
    out.hidden_states.push_back(hidden);
    for (std::int64_t i = 0; i < num_layers(); ++i) {
        hidden = run_layers(hidden, at::Tensor(), i, i + 1);
        out.hidden_states.push_back(hidden);
    }
    out.feature_map = head(hidden);
    out.last_hidden_state = to_tokens(out.feature_map);
    out.pooled = pool(out.feature_map);
    out.logits = classify(out.pooled);
    return out;
}

EfficientNetLiteBlock EfficientNetLiteImpl::block(std::int64_t index) const {
    if (index < 0 || index >= num_layers())
        throw Error(config_.variant + ": no block " + std::to_string(index) + "; it has " +
                    std::to_string(num_layers()));
    return EfficientNetLiteBlock(blocks_->ptr<EfficientNetLiteBlockImpl>(static_cast<std::size_t>(index)));
}

std::vector<std::shared_ptr<torch::nn::Module>> EfficientNetLiteImpl::head_modules() const {
    return {conv_head_.ptr(), bn1_.ptr(), fc_.ptr()};
}

} // namespace msa::models

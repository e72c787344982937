// Swin Transformer V2 in LibTorch, step for step as transformers' modeling_swinv2.py, so
// that a Swinv2Model checkpoint loads by name and gives the same numbers.
#include <msa/models/linear.hpp>
#include <msa/models/swinv2.hpp>

#include <torch/torch.h>

#include <cmath>
#include <sstream>

namespace msa::models {

namespace F = torch::nn::functional;

namespace {

// Width of the hidden layer of the continuous position bias MLP (fixed in Swin V2).
constexpr std::int64_t kPositionBiasHidden = 512;
// The relative coordinates are scaled to [-8, 8] before the log spacing.
constexpr double kCoordsRange = 8.0;
// Position biases are 16 * sigmoid(mlp output): within (0, 16).
constexpr double kPositionBiasScale = 16.0;
// logit_scale is clamped to log(1 / 0.01): attention temperatures of at least 0.01.
const double kMaxLogitScale = std::log(1.0 / 0.01);
// Added to attention scores between tokens from different regions of a shifted window.
constexpr double kShiftMaskValue = -100.0;
// The embeddings' norm and the patch merging norm are built without config.layer_norm_eps.
constexpr double kTorchLayerNormEps = 1e-5;

// A LayerNorm in its weights' type: under bfloat16 autocast (a fine-tuned top, [train]
// precision) a linear layer gives bfloat16, and LibTorch 1.13's CPU layer_norm wants its
// input and weights of one type. In float32 the cast is a no-op.
at::Tensor normed(torch::nn::LayerNorm norm, const at::Tensor& x) {
    return norm->forward(x.to(norm->weight.scalar_type()));
}

const std::vector<std::string> kActivations = {"gelu", "gelu_new", "gelu_pytorch_tanh", "quick_gelu",
                                               "relu", "silu", "swish"};

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
}

std::string shape_of(const at::Tensor& t) {
    std::ostringstream out;
    out << t.sizes();
    return out.str();
}

// An integer or a [height, width] pair, as transformers accepts for image_size and patch_size.
std::pair<std::int64_t, std::int64_t> int_or_pair(const ModelConfig& config, const std::string& key,
                                                  std::int64_t fallback) {
    if (!config.has(key)) return {fallback, fallback};
    if (config.json().at(key).is_array()) {
        const auto values = config.integers(key);
        if (values.size() != 2) config.fail(key, "expected an integer or [height, width], found a list of " +
                                                     std::to_string(values.size()));
        return {values[0], values[1]};
    }
    const auto value = config.integer(key);
    return {value, value};
}

at::Tensor activate(const at::Tensor& x, const std::string& name) {
    if (name == "gelu") return at::gelu(x);
    if (name == "gelu_new" || name == "gelu_pytorch_tanh") return at::gelu(x, "tanh");
    if (name == "quick_gelu") return x * at::sigmoid(1.702 * x);
    if (name == "relu") return at::relu(x);
    return at::silu(x); // silu, swish: from_json admits nothing else
}

// Stochastic depth: drops the whole residual branch of a sample, training only.
at::Tensor drop_path(const at::Tensor& x, double rate, bool training) {
    if (rate == 0.0 || !training) return x;
    const double keep = 1.0 - rate;
    std::vector<std::int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
    shape[0] = x.size(0);
    const auto random = at::floor(at::rand(shape, x.options()) + keep);
    return x.div(keep) * random;
}

// [N, H, W, C] -> [N * H/w * W/w, w, w, C]: windows in row-major order within each image.
at::Tensor window_partition(const at::Tensor& x, std::int64_t window) {
    const auto n = x.size(0), h = x.size(1), w = x.size(2), c = x.size(3);
    return x.view({n, h / window, window, w / window, window, c})
        .transpose(2, 3)
        .contiguous()
        .view({-1, window, window, c});
}

at::Tensor window_reverse(const at::Tensor& windows, std::int64_t window, std::int64_t h, std::int64_t w) {
    const auto c = windows.size(-1);
    return windows.view({-1, h / window, w / window, window, window, c})
        .transpose(2, 3)
        .contiguous()
        .view({-1, h, w, c});
}

} // namespace

Swinv2Config Swinv2Config::from_json(const ModelConfig& config) {
    Swinv2Config c;
    if (config.has("model_type") && config.string("model_type") != "swinv2")
        config.fail("model_type", "is '" + config.string("model_type") +
                                      "'; this module implements 'swinv2' (Swin Transformer V2)");
    std::tie(c.image_height, c.image_width) = int_or_pair(config, "image_size", c.image_height);
    std::tie(c.patch_height, c.patch_width) = int_or_pair(config, "patch_size", c.patch_height);
    c.num_channels = config.integer("num_channels", c.num_channels);
    c.embed_dim = config.integer("embed_dim", c.embed_dim);
    if (config.has("depths")) c.depths = config.integers("depths");
    if (config.has("num_heads")) c.num_heads = config.integers("num_heads");
    c.window_size = config.integer("window_size", c.window_size);
    c.pretrained_window_sizes = config.has("pretrained_window_sizes")
                                    ? config.integers("pretrained_window_sizes")
                                    : std::vector<std::int64_t>(std::max<std::size_t>(c.depths.size(), 4), 0);
    c.mlp_ratio = config.real("mlp_ratio", c.mlp_ratio);
    c.qkv_bias = config.boolean("qkv_bias", c.qkv_bias);
    c.hidden_act = config.string("hidden_act", c.hidden_act);
    c.hidden_dropout_prob = config.real("hidden_dropout_prob", c.hidden_dropout_prob);
    c.attention_probs_dropout_prob = config.real("attention_probs_dropout_prob", c.attention_probs_dropout_prob);
    c.drop_path_rate = config.real("drop_path_rate", c.drop_path_rate);
    c.layer_norm_eps = config.real("layer_norm_eps", c.layer_norm_eps);

    if (config.boolean("use_absolute_embeddings", false))
        config.fail("use_absolute_embeddings",
                    "true is not supported: transformers' Swinv2 builds a position table with one row more "
                    "than there are patches and fails on every input; accepted: false");
    if (c.image_height <= 0 || c.image_width <= 0) config.fail("image_size", "must be positive");
    if (c.patch_height <= 0 || c.patch_width <= 0) config.fail("patch_size", "must be positive");
    if (c.num_channels <= 0) config.fail("num_channels", "must be positive");
    if (c.embed_dim <= 0) config.fail("embed_dim", "must be positive");
    if (c.window_size <= 0) config.fail("window_size", "must be positive");
    if (c.depths.empty()) config.fail("depths", "must list at least one stage");
    for (auto depth : c.depths)
        if (depth <= 0) config.fail("depths", "every stage needs at least one block");
    if (c.num_heads.size() != c.depths.size())
        config.fail("num_heads", "has " + std::to_string(c.num_heads.size()) + " entries but depths has " +
                                     std::to_string(c.depths.size()) + "; one per stage is needed");
    if (c.pretrained_window_sizes.size() < c.depths.size())
        config.fail("pretrained_window_sizes", "has " + std::to_string(c.pretrained_window_sizes.size()) +
                                                   " entries for " + std::to_string(c.depths.size()) +
                                                   " stages; one per stage is needed");
    for (auto size : c.pretrained_window_sizes)
        if (size < 0 || size == 1)
            config.fail("pretrained_window_sizes", "entries must be 0 (none) or at least 2, found " +
                                                       std::to_string(size));
    for (std::int64_t stage = 0; stage < c.num_stages(); ++stage) {
        const auto heads = c.num_heads[static_cast<std::size_t>(stage)];
        if (heads <= 0 || c.stage_dim(stage) % heads != 0)
            config.fail("num_heads", "stage " + std::to_string(stage) + " has " + std::to_string(c.stage_dim(stage)) +
                                         " channels, which " + std::to_string(heads) +
                                         " heads do not divide evenly");
    }
    if (c.mlp_ratio <= 0) config.fail("mlp_ratio", "must be positive");
    if (std::find(kActivations.begin(), kActivations.end(), c.hidden_act) == kActivations.end())
        config.fail("hidden_act", "'" + c.hidden_act + "' is not supported; accepted: " + join(kActivations));
    const std::pair<const char*, double> rates[] = {{"hidden_dropout_prob", c.hidden_dropout_prob},
                                                    {"attention_probs_dropout_prob", c.attention_probs_dropout_prob},
                                                    {"drop_path_rate", c.drop_path_rate}};
    for (const auto& [key, rate] : rates)
        if (rate < 0.0 || rate >= 1.0) config.fail(key, "must be in [0, 1), found " + std::to_string(rate));
    // Every stage's window is sized from the configured grid, so each must keep a token.
    const auto last = c.num_stages() - 1;
    if ((c.image_height / c.patch_height) >> last == 0 || (c.image_width / c.patch_width) >> last == 0)
        config.fail("image_size", std::to_string(c.image_height) + "x" + std::to_string(c.image_width) +
                                      " pixels in patches of " + std::to_string(c.patch_height) + "x" +
                                      std::to_string(c.patch_width) + " leave no tokens for stage " +
                                      std::to_string(last) + " after " + std::to_string(last) + " halvings");
    return c;
}

// Scaled cosine attention within a window, with the continuous (log-spaced) relative
// position bias: encoder.layers.N.blocks.M.attention.self.
class Swinv2SelfAttentionImpl : public torch::nn::Module {
public:
    Swinv2SelfAttentionImpl(const Swinv2Config& config, std::int64_t dim, std::int64_t heads, std::int64_t window,
                            std::int64_t pretrained_window)
        : heads_(heads), head_dim_(dim / heads), window_(window), dropout_(config.attention_probs_dropout_prob) {
        query_ = register_module("query", Linear(torch::nn::LinearOptions(dim, dim).bias(config.qkv_bias)));
        key_ = register_module("key", Linear(torch::nn::LinearOptions(dim, dim).bias(false)));
        value_ = register_module("value", Linear(torch::nn::LinearOptions(dim, dim).bias(config.qkv_bias)));
        logit_scale_ = register_parameter("logit_scale", torch::full({heads, 1, 1}, std::log(10.0)));
        position_bias_mlp_ = register_module(
            "continuous_position_bias_mlp",
            torch::nn::Sequential(Linear(/*in=*/2, kPositionBiasHidden), torch::nn::ReLU(),
                                  Linear(torch::nn::LinearOptions(kPositionBiasHidden, heads).bias(false))));
        build_tables(pretrained_window);
    }

    // windows: [B * windows, w * w, C]; mask: [windows, w * w, w * w] or undefined.
    at::Tensor forward(const at::Tensor& windows, const at::Tensor& mask) {
        const auto batch = windows.size(0), tokens = windows.size(1);
        auto split = [&](const at::Tensor& x) { return x.view({batch, -1, heads_, head_dim_}).transpose(1, 2); };
        const auto query = split(query_->forward(windows));
        const auto key = split(key_->forward(windows));
        const auto value = split(value_->forward(windows));

        auto scores = at::matmul(F::normalize(query, F::NormalizeFuncOptions().dim(-1)),
                                 F::normalize(key, F::NormalizeFuncOptions().dim(-1)).transpose(-2, -1));
        scores = scores * at::clamp_max(logit_scale_, kMaxLogitScale).exp();

        const auto& weight = key_->weight;
        if (coords_table_.device() != weight.device() || coords_table_.scalar_type() != weight.scalar_type()) {
            coords_table_ = coords_table_.to(weight.device(), weight.scalar_type());
            position_index_ = position_index_.to(weight.device());
        }
        auto bias = position_bias_mlp_->forward(coords_table_).view({-1, heads_});
        bias = bias.index_select(0, position_index_.view(-1)).view({tokens, tokens, -1}).permute({2, 0, 1}).contiguous();
        scores = scores + (kPositionBiasScale * at::sigmoid(bias)).unsqueeze(0);

        if (mask.defined()) {
            // transformers adds the mask twice (effectively -200); done the same for equal numbers.
            const auto num_windows = mask.size(0);
            const auto m = mask.unsqueeze(1).unsqueeze(0);
            scores = scores.view({batch / num_windows, num_windows, heads_, tokens, tokens}) + m;
            scores = (scores + m).view({-1, heads_, tokens, tokens});
        }
        auto probs = at::softmax(scores, -1);
        probs = at::dropout(probs, dropout_, is_training());
        return at::matmul(probs, value).permute({0, 2, 1, 3}).contiguous().view({batch, tokens, heads_ * head_dim_});
    }

private:
    // transformers' create_coords_table_and_index: coordinates of every relative offset,
    // normalised by the (pretrained) window and log-spaced; the index of each token pair.
    void build_tables(std::int64_t pretrained_window) {
        const auto w = window_;
        const auto offsets = torch::arange(-(w - 1), w, torch::kInt64).to(torch::kFloat);
        auto table = torch::stack(torch::meshgrid({offsets, offsets}, "ij")).permute({1, 2, 0}).contiguous().unsqueeze(0);
        if (pretrained_window > 0)
            table = table / static_cast<double>(pretrained_window - 1);
        else if (w > 1)
            table = table / static_cast<double>(w - 1);
        table = table * kCoordsRange;
        coords_table_ = torch::sign(table) * torch::log2(torch::abs(table) + 1.0) / std::log2(kCoordsRange);

        const auto positions = torch::arange(w, torch::kInt64);
        const auto coords = torch::stack(torch::meshgrid({positions, positions}, "ij")).flatten(1); // [2, w*w]
        auto relative = (coords.unsqueeze(2) - coords.unsqueeze(1)).permute({1, 2, 0}).contiguous();
        relative = relative + (w - 1);
        position_index_ = relative.select(2, 0) * (2 * w - 1) + relative.select(2, 1);
    }

    std::int64_t heads_;
    std::int64_t head_dim_;
    std::int64_t window_;
    double dropout_;
    Linear query_{nullptr}, key_{nullptr}, value_{nullptr};
    at::Tensor logit_scale_;
    torch::nn::Sequential position_bias_mlp_{nullptr};
    at::Tensor coords_table_;   // [1, 2w-1, 2w-1, 2], not a checkpoint tensor
    at::Tensor position_index_; // [w*w, w*w] int64, not a checkpoint tensor
};
TORCH_MODULE(Swinv2SelfAttention);

// A module that only holds a Linear named "dense" (transformers' SelfOutput,
// Intermediate and Output), so the names read attention.output.dense, intermediate.dense.
class Swinv2DenseImpl : public torch::nn::Module {
public:
    Swinv2DenseImpl(std::int64_t in, std::int64_t out)
        : dense(register_module("dense", Linear(in, out))) {}
    Linear dense;
};
TORCH_MODULE(Swinv2Dense);

// attention.{self, output}.
class Swinv2AttentionImpl : public torch::nn::Module {
public:
    Swinv2AttentionImpl(const Swinv2Config& config, std::int64_t dim, std::int64_t heads, std::int64_t window,
                        std::int64_t pretrained_window)
        : self_(register_module("self", Swinv2SelfAttention(config, dim, heads, window, pretrained_window))),
          output_(register_module("output", Swinv2Dense(dim, dim))),
          dropout_(config.attention_probs_dropout_prob) {}

    at::Tensor forward(const at::Tensor& windows, const at::Tensor& mask) {
        // transformers' Swinv2SelfOutput drops out with attention_probs_dropout_prob.
        return at::dropout(output_->dense->forward(self_->forward(windows, mask)), dropout_, is_training());
    }

private:
    Swinv2SelfAttention self_;
    Swinv2Dense output_;
    double dropout_;
};
TORCH_MODULE(Swinv2Attention);

// One block (transformers' Swinv2Layer): (shifted) window attention and MLP, each with
// res-post-norm: x + drop_path(norm(f(x))).
class Swinv2BlockImpl : public torch::nn::Module {
public:
    // `resolution`: the stage's token grid at the configured image size. As in
    // transformers, it fixes the window (clamped to the grid) and turns the shift off when
    // one window covers the grid -- both taken from the height only -- for every input size.
    Swinv2BlockImpl(const Swinv2Config& config, std::int64_t dim, Swinv2Grid resolution, std::int64_t heads,
                    bool shifted, std::int64_t pretrained_window, double drop_path_rate)
        : hidden_act_(config.hidden_act), hidden_dropout_(config.hidden_dropout_prob), drop_path_(drop_path_rate) {
        window_ = std::min(resolution.height, config.window_size);
        shift_ = (shifted && resolution.height > window_) ? config.window_size / 2 : 0;
        const auto eps = config.layer_norm_eps;
        const auto hidden = static_cast<std::int64_t>(config.mlp_ratio * static_cast<double>(dim));
        attention_ = register_module("attention", Swinv2Attention(config, dim, heads, window_, pretrained_window));
        layernorm_before_ = register_module("layernorm_before",
                                            torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(eps)));
        intermediate_ = register_module("intermediate", Swinv2Dense(dim, hidden));
        output_ = register_module("output", Swinv2Dense(hidden, dim));
        layernorm_after_ = register_module("layernorm_after",
                                           torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(eps)));
    }

    at::Tensor forward(const at::Tensor& hidden, Swinv2Grid grid) {
        const auto batch = hidden.size(0), channels = hidden.size(2);
        const auto h = grid.height, w = grid.width;
        // Pad the grid (right, bottom) to whole windows; padded tokens take part in
        // attention as zeros, as in transformers.
        const auto pad_right = (window_ - w % window_) % window_;
        const auto pad_bottom = (window_ - h % window_) % window_;
        auto x = F::pad(hidden.view({batch, h, w, channels}), F::PadFuncOptions({0, 0, 0, pad_right, 0, pad_bottom}));
        const auto hp = x.size(1), wp = x.size(2);
        if (shift_ > 0) x = at::roll(x, {-shift_, -shift_}, {1, 2});

        auto windows = window_partition(x, window_).view({-1, window_ * window_, channels});
        windows = attention_->forward(windows, shift_mask(hp, wp, x.scalar_type(), x.device()));
        x = window_reverse(windows.view({-1, window_, window_, channels}), window_, hp, wp);

        if (shift_ > 0) x = at::roll(x, {shift_, shift_}, {1, 2});
        if (pad_right > 0 || pad_bottom > 0) x = x.slice(1, 0, h).slice(2, 0, w).contiguous();
        x = x.view({batch, h * w, channels});

        const auto attended = hidden + drop_path(normed(layernorm_before_, x), drop_path_, is_training());
        auto mlp = activate(intermediate_->dense->forward(attended), hidden_act_);
        mlp = at::dropout(output_->dense->forward(mlp), hidden_dropout_, is_training());
        return attended + drop_path(normed(layernorm_after_, mlp), drop_path_, is_training());
    }

private:
    // transformers' get_attn_mask: after the cyclic shift, a window may hold tokens from up
    // to 3 x 3 regions of the padded grid that were not neighbours; they must not attend
    // to each other. [windows, w*w, w*w]; undefined when not shifted.
    at::Tensor shift_mask(std::int64_t h, std::int64_t w, at::ScalarType dtype, const at::Device& device) const {
        if (shift_ <= 0) return {};
        const auto options = torch::TensorOptions().device(device);
        const auto rows = torch::arange(h, options.dtype(torch::kInt64));
        const auto cols = torch::arange(w, options.dtype(torch::kInt64));
        // Region along an axis: 0 before the last window, 1 in it before the shift, 2 in the shift.
        const auto row_region = (rows >= h - window_).to(torch::kInt64) + (rows >= h - shift_).to(torch::kInt64);
        const auto col_region = (cols >= w - window_).to(torch::kInt64) + (cols >= w - shift_).to(torch::kInt64);
        const auto regions = (row_region.view({1, h, 1, 1}) * 3 + col_region.view({1, 1, w, 1})).to(dtype);
        const auto ids = window_partition(regions, window_).view({-1, window_ * window_});
        const auto diff = ids.unsqueeze(1) - ids.unsqueeze(2);
        return at::zeros_like(diff).masked_fill(diff != 0, kShiftMaskValue);
    }

    std::int64_t window_ = 0;
    std::int64_t shift_ = 0;
    std::string hidden_act_;
    double hidden_dropout_;
    double drop_path_;
    Swinv2Attention attention_{nullptr};
    torch::nn::LayerNorm layernorm_before_{nullptr};
    Swinv2Dense intermediate_{nullptr};
    Swinv2Dense output_{nullptr};
    torch::nn::LayerNorm layernorm_after_{nullptr};
};
TORCH_MODULE(Swinv2Block);

// Patch merging (downsample): each 2 x 2 group of tokens (the grid padded to even
// sizes) -> one token of twice the width: reduction, then norm.
class Swinv2PatchMergingImpl : public torch::nn::Module {
public:
    explicit Swinv2PatchMergingImpl(std::int64_t dim)
        : reduction_(register_module("reduction",
                                     Linear(torch::nn::LinearOptions(4 * dim, 2 * dim).bias(false)))),
          norm_(register_module("norm",
                                torch::nn::LayerNorm(torch::nn::LayerNormOptions({2 * dim}).eps(kTorchLayerNormEps)))) {}

    at::Tensor forward(const at::Tensor& hidden, Swinv2Grid grid) {
        const auto batch = hidden.size(0), channels = hidden.size(2);
        auto x = hidden.view({batch, grid.height, grid.width, channels});
        if (grid.height % 2 == 1 || grid.width % 2 == 1)
            x = F::pad(x, F::PadFuncOptions({0, 0, 0, grid.width % 2, 0, grid.height % 2}));
        using torch::indexing::None;
        using torch::indexing::Slice;
        const auto even = Slice(0, None, 2), odd = Slice(1, None, 2);
        x = torch::cat({x.index({Slice(), even, even}), x.index({Slice(), odd, even}), x.index({Slice(), even, odd}),
                        x.index({Slice(), odd, odd})},
                       -1);
        x = x.view({batch, -1, 4 * channels});
        return normed(norm_, reduction_->forward(x));
    }

private:
    Linear reduction_{nullptr};
    torch::nn::LayerNorm norm_{nullptr};
};
TORCH_MODULE(Swinv2PatchMerging);

// embeddings.{patch_embeddings.projection, norm, mask_token}.
class Swinv2EmbeddingsImpl : public torch::nn::Module {
public:
    explicit Swinv2EmbeddingsImpl(const Swinv2Config& config)
        : patch_height_(config.patch_height), patch_width_(config.patch_width),
          dropout_(config.hidden_dropout_prob) {
        auto patch_embeddings = register_module("patch_embeddings", std::make_shared<torch::nn::Module>());
        projection_ = patch_embeddings->register_module(
            "projection", torch::nn::Conv2d(torch::nn::Conv2dOptions(config.num_channels, config.embed_dim,
                                                                     {config.patch_height, config.patch_width})
                                                .stride({config.patch_height, config.patch_width})));
        norm_ = register_module("norm", torch::nn::LayerNorm(
                                            torch::nn::LayerNormOptions({config.embed_dim}).eps(kTorchLayerNormEps)));
        if (config.use_mask_token) mask_token_ = register_parameter("mask_token", torch::zeros({1, 1, config.embed_dim}));
    }

    at::Tensor forward(const at::Tensor& pixel_values, const at::Tensor& bool_masked_pos) {
        const auto h = pixel_values.size(2), w = pixel_values.size(3);
        auto pixels = pixel_values;
        if (w % patch_width_ != 0) pixels = F::pad(pixels, F::PadFuncOptions({0, patch_width_ - w % patch_width_}));
        if (h % patch_height_ != 0)
            pixels = F::pad(pixels, F::PadFuncOptions({0, 0, 0, patch_height_ - h % patch_height_}));
        auto embeddings = normed(norm_, projection_->forward(pixels).flatten(2).transpose(1, 2));
        if (bool_masked_pos.defined()) {
            const auto batch = embeddings.size(0), tokens = embeddings.size(1);
            if (!mask_token_.defined())
                throw Error("Swinv2: bool_masked_pos was given but the model has no embeddings.mask_token; set "
                            "Swinv2Config::use_mask_token for a Swinv2ForMaskedImageModeling checkpoint");
            if (bool_masked_pos.dim() != 2 || bool_masked_pos.size(0) != batch || bool_masked_pos.size(1) != tokens)
                throw Error("Swinv2: bool_masked_pos has shape " + shape_of(bool_masked_pos) + "; expected [" +
                            std::to_string(batch) + ", " + std::to_string(tokens) +
                            "] (batch, patches) for these pixels");
            const auto mask = bool_masked_pos.unsqueeze(-1).to(embeddings.scalar_type());
            embeddings = embeddings * (1.0 - mask) + mask_token_.expand_as(embeddings) * mask;
        }
        return at::dropout(embeddings, dropout_, is_training());
    }

private:
    std::int64_t patch_height_;
    std::int64_t patch_width_;
    double dropout_;
    torch::nn::Conv2d projection_{nullptr};
    torch::nn::LayerNorm norm_{nullptr};
    at::Tensor mask_token_;
};

// encoder.layers.N: the stage's blocks (even ones plain, odd ones shifted), then its
// patch merging unless it is the last stage.
class Swinv2StageImpl : public torch::nn::Module {
public:
    Swinv2StageImpl(const Swinv2Config& config, std::int64_t stage, const std::vector<double>& drop_path_rates) {
        const auto dim = config.stage_dim(stage);
        // transformers sizes the windows from the configured grid halved by floor division.
        const Swinv2Grid resolution{(config.image_height / config.patch_height) >> stage,
                                    (config.image_width / config.patch_width) >> stage};
        const auto s = static_cast<std::size_t>(stage);
        auto blocks = register_module("blocks", torch::nn::ModuleList());
        for (std::int64_t i = 0; i < config.depths[s]; ++i) {
            blocks_.push_back(Swinv2Block(config, dim, resolution, config.num_heads[s], /*shifted=*/i % 2 == 1,
                                          config.pretrained_window_sizes[s],
                                          drop_path_rates[static_cast<std::size_t>(i)]));
            blocks->push_back(blocks_.back());
        }
        if (stage + 1 < config.num_stages()) downsample_ = register_module("downsample", Swinv2PatchMerging(dim));
    }

    // Returns the stage's output and its grid.
    std::pair<at::Tensor, Swinv2Grid> forward(at::Tensor hidden, Swinv2Grid grid) {
        for (auto& block : blocks_) hidden = block->forward(hidden, grid);
        if (!downsample_) return {hidden, grid};
        return {downsample_->forward(hidden, grid), Swinv2Grid{(grid.height + 1) / 2, (grid.width + 1) / 2}};
    }

private:
    std::vector<Swinv2Block> blocks_;
    Swinv2PatchMerging downsample_{nullptr};
};

Swinv2ModelImpl::Swinv2ModelImpl(Swinv2Config config) : config_(std::move(config)) {
    embeddings_ = register_module("embeddings", std::make_shared<Swinv2EmbeddingsImpl>(config_));
    auto encoder = register_module("encoder", std::make_shared<torch::nn::Module>());
    layers_ = encoder->register_module("layers", torch::nn::ModuleList());

    std::int64_t total_blocks = 0;
    for (auto depth : config_.depths) total_blocks += depth;
    // Stochastic depth grows linearly from 0 to drop_path_rate over all blocks.
    const auto rates = torch::linspace(0.0, config_.drop_path_rate, total_blocks, torch::kFloat);
    std::int64_t first = 0;
    for (std::int64_t stage = 0; stage < config_.num_stages(); ++stage) {
        std::vector<double> stage_rates;
        for (std::int64_t i = 0; i < config_.depths[static_cast<std::size_t>(stage)]; ++i)
            stage_rates.push_back(rates[first + i].item<double>());
        first += config_.depths[static_cast<std::size_t>(stage)];
        stages_.push_back(std::make_shared<Swinv2StageImpl>(config_, stage, stage_rates));
        layers_->push_back(stages_.back());
    }
    layernorm_ = register_module("layernorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({config_.hidden_size()})
                                                                         .eps(config_.layer_norm_eps)));
}

at::Tensor Swinv2ModelImpl::embed(const at::Tensor& pixel_values, const at::Tensor& bool_masked_pos) {
    if (pixel_values.dim() != 4 || pixel_values.size(1) != config_.num_channels)
        throw Error("Swinv2: pixel_values has shape " + shape_of(pixel_values) + "; expected [N, " +
                    std::to_string(config_.num_channels) + ", height, width]");
    return embeddings_->forward(pixel_values, bool_masked_pos);
}

Swinv2Grid Swinv2ModelImpl::grid(std::int64_t stage, std::int64_t image_height, std::int64_t image_width) const {
    // Pixels are padded up to whole patches; each downsample pads odd grids up to even.
    Swinv2Grid g{(image_height + config_.patch_height - 1) / config_.patch_height,
                 (image_width + config_.patch_width - 1) / config_.patch_width};
    for (std::int64_t i = 0; i < stage && i + 1 < num_layers(); ++i) g = {(g.height + 1) / 2, (g.width + 1) / 2};
    return g;
}

Swinv2Grid Swinv2ModelImpl::infer_grid(std::int64_t stage, std::int64_t tokens) const {
    const auto configured = grid(stage, config_.image_height, config_.image_width);
    if (configured.height * configured.width == tokens) return configured;
    const auto side = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(tokens))));
    if (side * side == tokens) return {side, side};
    throw Error("Swinv2: stage " + std::to_string(stage) + " was given " + std::to_string(tokens) +
                " tokens, which is neither the configured image's grid (" + std::to_string(configured.height) + "x" +
                std::to_string(configured.width) +
                ") nor a square; pass the grid explicitly (run_layers with a Swinv2Grid)");
}

at::Tensor Swinv2ModelImpl::run_layers(at::Tensor hidden, const at::Tensor& mask, std::int64_t begin, std::int64_t end) {
    if (mask.defined())
        throw Error("Swinv2: run_layers takes no mask (images have no padding tokens); pass an undefined tensor");
    if (hidden.dim() != 3)
        throw Error("Swinv2: run_layers expects hidden states [N, tokens, channels], found " + shape_of(hidden));
    return run_layers(hidden, infer_grid(begin, hidden.size(1)), begin, end);
}

at::Tensor Swinv2ModelImpl::run_layers(at::Tensor hidden, Swinv2Grid grid, std::int64_t begin, std::int64_t end) {
    if (begin < 0 || end > num_layers() || begin > end)
        throw Error("Swinv2: layers [" + std::to_string(begin) + ", " + std::to_string(end) +
                    ") are out of range; the model has stages 0.." + std::to_string(num_layers() - 1));
    if (begin == end) return hidden;
    if (hidden.dim() != 3 || hidden.size(1) != grid.height * grid.width ||
        hidden.size(2) != config_.stage_dim(begin))
        throw Error("Swinv2: stage " + std::to_string(begin) + " expects hidden states [N, " +
                    std::to_string(grid.height * grid.width) + ", " + std::to_string(config_.stage_dim(begin)) +
                    "] for a " + std::to_string(grid.height) + "x" + std::to_string(grid.width) +
                    " grid, found " + shape_of(hidden));
    for (auto i = begin; i < end; ++i) std::tie(hidden, grid) = stages_[static_cast<std::size_t>(i)]->forward(hidden, grid);
    return hidden;
}

at::Tensor Swinv2ModelImpl::final_norm(const at::Tensor& hidden) { return normed(layernorm_, hidden); }

at::Tensor Swinv2ModelImpl::pool(const at::Tensor& last_hidden_state) { return last_hidden_state.mean(1); }

Swinv2Output Swinv2ModelImpl::forward(const at::Tensor& pixel_values, const at::Tensor& bool_masked_pos) {
    Swinv2Output out;
    auto hidden = embed(pixel_values, bool_masked_pos);
    auto g = grid(0, pixel_values.size(2), pixel_values.size(3));
    out.hidden_states.push_back(hidden);
    for (auto& stage : stages_) {
        std::tie(hidden, g) = stage->forward(hidden, g);
        out.hidden_states.push_back(hidden);
    }
    out.last_hidden_state = final_norm(hidden);
    out.pooled = pool(out.last_hidden_state);
    return out;
}

std::shared_ptr<torch::nn::Module> Swinv2ModelImpl::layer(std::int64_t index) const {
    if (index < 0 || index >= num_layers())
        throw Error("Swinv2: no stage " + std::to_string(index) + "; the model has stages 0.." +
                    std::to_string(num_layers() - 1));
    return stages_[static_cast<std::size_t>(index)];
}

} // namespace msa::models

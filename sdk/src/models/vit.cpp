// ViT in LibTorch, layer for layer as transformers' modeling_vit.py (pre-norm layers, [CLS] token, final layernorm).
#include <msa/models/transformer_blocks.hpp>
#include <msa/models/vit.hpp>

#include "layer_stack.hpp"
#include "post_norm_parts.hpp"

#include <torch/torch.h>

namespace msa::models {

namespace {

// image_size / patch_size: one number for a square, or [height, width].
std::pair<std::int64_t, std::int64_t> size_pair(const ModelConfig& json, const std::string& key, std::int64_t fallback) {
    if (!json.has(key)) return {fallback, fallback};
    if (json.json().at(key).is_array()) {
        const auto values = json.integers(key);
        if (values.size() != 2)
            json.fail(key, "expected one number or [height, width], found a list of " + std::to_string(values.size()));
        return {values[0], values[1]};
    }
    const auto value = json.integer(key);
    return {value, value};
}

torch::nn::LayerNorm layer_norm(const ViTConfig& config) {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps));
}

std::string shape(const at::Tensor& t) {
    std::string out = "[";
    for (std::int64_t i = 0; i < t.dim(); ++i) out += (i ? "," : "") + std::to_string(t.size(i));
    return out + "]";
}

} // namespace

ViTConfig ViTConfig::from_json(const ModelConfig& json) {
    ViTConfig config;
    const auto model_type = json.string("model_type");
    if (model_type != "vit")
        json.fail("model_type", "'" + model_type + "' is not a ViT model; accepted: vit");
    config.hidden_size = json.integer("hidden_size");
    config.num_hidden_layers = json.integer("num_hidden_layers");
    config.num_attention_heads = json.integer("num_attention_heads");
    config.intermediate_size = json.integer("intermediate_size");
    // The defaults are those of transformers' ViTConfig.
    config.hidden_act = json.string("hidden_act", "gelu");
    config.hidden_dropout_prob = json.real("hidden_dropout_prob", 0.0);
    config.attention_probs_dropout_prob = json.real("attention_probs_dropout_prob", 0.0);
    config.layer_norm_eps = json.real("layer_norm_eps", 1e-12);
    std::tie(config.image_height, config.image_width) = size_pair(json, "image_size", /*fallback=*/224);
    std::tie(config.patch_height, config.patch_width) = size_pair(json, "patch_size", /*fallback=*/16);
    config.num_channels = json.integer("num_channels", 3);
    config.qkv_bias = json.boolean("qkv_bias", true);
    config.pooler_output_size = json.integer("pooler_output_size", config.hidden_size);
    config.pooler_act = json.string("pooler_act", "tanh");

    for (const char* key : {"hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                            "num_channels", "pooler_output_size"})
        if (json.integer(key, 1) < 1) json.fail(key, "must be at least 1, found " + std::to_string(json.integer(key)));
    if (config.hidden_size % config.num_attention_heads != 0)
        json.fail("num_attention_heads", "hidden_size " + std::to_string(config.hidden_size) +
                                             " is not a multiple of num_attention_heads " +
                                             std::to_string(config.num_attention_heads));
    if (config.patch_height < 1 || config.patch_width < 1)
        json.fail("patch_size", "must be at least 1");
    if (config.image_height < config.patch_height || config.image_width < config.patch_width)
        json.fail("image_size", std::to_string(config.image_height) + "x" + std::to_string(config.image_width) +
                                    " is smaller than one patch (" + std::to_string(config.patch_height) + "x" +
                                    std::to_string(config.patch_width) + ")");
    if (!Activation::accepts(config.hidden_act))
        json.fail("hidden_act", "'" + config.hidden_act + "' is not supported; accepted: " + Activation::accepted_names());
    if (!Activation::accepts(config.pooler_act))
        json.fail("pooler_act", "'" + config.pooler_act + "' is not supported; accepted: " + Activation::accepted_names());
    return config;
}

// embeddings.cls_token, embeddings.position_embeddings and embeddings.patch_embeddings.projection.
class ViTEmbeddingsImpl : public torch::nn::Module {
public:
    explicit ViTEmbeddingsImpl(const ViTConfig& config) : config_(config) {
        cls_token = register_parameter("cls_token", torch::zeros({1, 1, config.hidden_size}));
        position_embeddings =
            register_parameter("position_embeddings", torch::zeros({1, config.num_patches() + 1, config.hidden_size}));
        // A convolution whose kernel and stride are the patch: one output pixel per patch.
        auto patches = register_module("patch_embeddings", std::make_shared<torch::nn::Module>("ViTPatchEmbeddings"));
        projection = patches->register_module(
            "projection", torch::nn::Conv2d(torch::nn::Conv2dOptions(config.num_channels, config.hidden_size,
                                                                     {config.patch_height, config.patch_width})
                                                .stride({config.patch_height, config.patch_width})));
    }

    at::Tensor forward(const at::Tensor& pixel_values) {
        if (pixel_values.dim() != 4 || pixel_values.size(1) != config_.num_channels ||
            pixel_values.size(2) != config_.image_height || pixel_values.size(3) != config_.image_width)
            throw Error("ViTModel: pixel_values must be [batch, " + std::to_string(config_.num_channels) + ", " +
                        std::to_string(config_.image_height) + ", " + std::to_string(config_.image_width) +
                        "] (the checkpoint's image_size; position embeddings are not interpolated), found " +
                        shape(pixel_values));
        const auto pixels = pixel_values.to(projection->weight.scalar_type());
        // [N,D,h,w] -> [N,h*w,D], patches in row-major order as transformers flattens them.
        const auto patches = projection->forward(pixels).flatten(/*start_dim=*/2).transpose(1, 2);
        const auto cls = cls_token.expand({pixels.size(0), -1, -1});
        const auto embeddings = at::cat({cls, patches}, /*dim=*/1) + position_embeddings;
        return at::dropout(embeddings, config_.hidden_dropout_prob, is_training());
    }

    at::Tensor cls_token, position_embeddings;
    torch::nn::Conv2d projection{nullptr};

private:
    ViTConfig config_;
};

// attention.attention (query, key, value) and attention.output.dense.
class ViTAttentionImpl : public torch::nn::Module {
public:
    explicit ViTAttentionImpl(const ViTConfig& config) : dropout_(config.hidden_dropout_prob) {
        attention = register_module("attention", MultiHeadSelfAttention(config.hidden_size, config.num_attention_heads,
                                                                        config.qkv_bias,
                                                                        config.attention_probs_dropout_prob));
        auto output = register_module("output", std::make_shared<torch::nn::Module>("ViTSelfOutput"));
        dense = output->register_module("dense", Linear(config.hidden_size, config.hidden_size));
    }
    at::Tensor forward(const at::Tensor& hidden) {
        return at::dropout(dense->forward(attention->forward(hidden, at::Tensor())), dropout_, is_training());
    }
    MultiHeadSelfAttention attention{nullptr};
    Linear dense{nullptr};

private:
    double dropout_;
};
TORCH_MODULE(ViTAttention);

// encoder.layer.N: pre-norm self-attention and feed-forward blocks with residuals.
class ViTLayerImpl : public torch::nn::Module {
public:
    explicit ViTLayerImpl(const ViTConfig& config) : activation_(config.hidden_act), dropout_(config.hidden_dropout_prob) {
        layernorm_before = register_module("layernorm_before", layer_norm(config));
        attention = register_module("attention", ViTAttention(config));
        layernorm_after = register_module("layernorm_after", layer_norm(config));
        auto intermediate = register_module("intermediate", std::make_shared<torch::nn::Module>("ViTIntermediate"));
        intermediate_dense =
            intermediate->register_module("dense", Linear(config.hidden_size, config.intermediate_size));
        auto output = register_module("output", std::make_shared<torch::nn::Module>("ViTOutput"));
        output_dense = output->register_module("dense", Linear(config.intermediate_size, config.hidden_size));
    }
    at::Tensor forward(const at::Tensor& hidden) {
        const auto attended = attention->forward(layernorm_before->forward(hidden)) + hidden;
        const auto inner = activation_(intermediate_dense->forward(layernorm_after->forward(attended)));
        return at::dropout(output_dense->forward(inner), dropout_, is_training()) + attended;
    }
    torch::nn::LayerNorm layernorm_before{nullptr}, layernorm_after{nullptr};
    ViTAttention attention{nullptr};
    Linear intermediate_dense{nullptr}, output_dense{nullptr};

private:
    Activation activation_;
    double dropout_;
};

// pooler.dense over the first token, then pooler_act.
class ViTPoolerImpl : public detail::FirstTokenPoolerImpl {
public:
    explicit ViTPoolerImpl(const ViTConfig& config)
        : FirstTokenPoolerImpl(config.hidden_size, config.pooler_output_size, config.pooler_act) {}
};

ViTModelImpl::ViTModelImpl(ViTConfig config) : config_(std::move(config)) {
    for (const auto& act : {config_.hidden_act, config_.pooler_act})
        if (!Activation::accepts(act))
            throw Error("ViTModel: activation '" + act + "' is not supported; accepted: " + Activation::accepted_names());
    if (config_.patch_height < 1 || config_.patch_width < 1 || config_.image_height < config_.patch_height ||
        config_.image_width < config_.patch_width)
        throw Error("ViTModel: image " + std::to_string(config_.image_height) + "x" + std::to_string(config_.image_width) +
                    " and patch " + std::to_string(config_.patch_height) + "x" + std::to_string(config_.patch_width) +
                    " give no patches");
    embeddings_ = register_module("embeddings", std::make_shared<ViTEmbeddingsImpl>(config_));
    // Old-style checkpoints (the ones on the Hub) nest the layers as encoder.layer.N.
    auto encoder = register_module("encoder", std::make_shared<torch::nn::Module>("ViTEncoder"));
    torch::nn::ModuleList layer_list;
    for (std::int64_t i = 0; i < config_.num_hidden_layers; ++i) {
        layers_.push_back(std::make_shared<ViTLayerImpl>(config_));
        layer_list->push_back(layers_.back());
    }
    encoder->register_module("layer", layer_list);
    layernorm_ = register_module("layernorm", layer_norm(config_));
    if (config_.with_pooler) pooler_ = register_module("pooler", std::make_shared<ViTPoolerImpl>(config_));
}

at::Tensor ViTModelImpl::embed(const at::Tensor& pixel_values) { return embeddings_->forward(pixel_values); }

at::Tensor ViTModelImpl::run_layers(at::Tensor hidden, const at::Tensor& mask, std::int64_t begin, std::int64_t end) {
    detail::check_layer_range("ViTModel", begin, end, num_layers());
    if (mask.defined())
        throw Error("ViTModel: run_layers takes no mask (every patch attends everywhere); pass an undefined tensor");
    if (hidden.dim() != 3 || hidden.size(1) != config_.num_patches() + 1 || hidden.size(2) != config_.hidden_size)
        throw Error("ViTModel: hidden states must be [batch, " + std::to_string(config_.num_patches() + 1) + ", " +
                    std::to_string(config_.hidden_size) + "], found " + shape(hidden));
    for (auto i = begin; i < end; ++i) hidden = layers_[static_cast<std::size_t>(i)]->forward(hidden);
    return hidden;
}

at::Tensor ViTModelImpl::final_norm(const at::Tensor& last_layer_output) {
    return layernorm_->forward(last_layer_output);
}

at::Tensor ViTModelImpl::pool(const at::Tensor& last_hidden_state) {
    return pooler_ ? pooler_->forward(last_hidden_state) : at::Tensor();
}

ViTModelOutput ViTModelImpl::forward(const at::Tensor& pixel_values) {
    ViTModelOutput out;
    out.hidden_states.push_back(embed(pixel_values));
    for (std::int64_t i = 0; i < num_layers(); ++i)
        out.hidden_states.push_back(run_layers(out.hidden_states.back(), at::Tensor(), i, i + 1));
    out.last_hidden_state = final_norm(out.hidden_states.back());
    out.pooled = pool(out.last_hidden_state);
    return out;
}

std::shared_ptr<torch::nn::Module> ViTModelImpl::layer(std::int64_t index) {
    detail::check_layer_index("ViTModel", index, num_layers());
    return layers_[static_cast<std::size_t>(index)];
}

std::vector<std::shared_ptr<torch::nn::Module>> ViTModelImpl::final_step_modules() {
    std::vector<std::shared_ptr<torch::nn::Module>> modules{layernorm_.ptr()};
    if (pooler_) modules.push_back(pooler_);
    return modules;
}

ViTModel vit_from_checkpoint(const Checkpoint& checkpoint) {
    const auto source = (checkpoint.folder / "config.json").string();
    auto config = ViTConfig::from_json(ModelConfig(checkpoint.config, source));
    const auto weights_source = checkpoint.weight_files.size() == 1 ? checkpoint.weight_files.front().string()
                                                                    : checkpoint.folder.string();
    LoadOptions options;
    options.prefix =
        find_name_prefix(checkpoint.weights, "embeddings.patch_embeddings.projection.weight", weights_source, "ViT");
    config.with_pooler = checkpoint.weights.count(options.prefix + "pooler.dense.weight") != 0;
    // Masked-image-modeling checkpoints (ViTForMaskedImageModeling) carry the token that
    // replaces masked patches; encoding never masks, so it stays unused.
    options.may_ignore = {"embeddings.mask_token"};
    ViTModel model(config);
    load_state_dict(*model, checkpoint.weights, weights_source, options);
    model->eval();
    return model;
}

} // namespace msa::models

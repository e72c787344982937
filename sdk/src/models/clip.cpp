// CLIP's text and vision towers, following transformers' modeling_clip.py operation by operation.
#include <msa/models/clip.hpp>
#include <msa/models/transformer_blocks.hpp>

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <utility>

namespace msa::models {

namespace {

// transformers' CLIPTextConfig / CLIPVisionConfig default for every projection_dim.
constexpr std::int64_t default_projection_dim = 512;
// The eos_token_id of configs written before transformers PR #24773; it selects the
// legacy pooling rule (argmax of the ids) and must be kept that way to match them.
constexpr std::int64_t legacy_eos_token_id = 2;
// QuickGELUActivation: x * sigmoid(1.702 * x).
constexpr double quick_gelu_factor = 1.702;
// NewGELUActivation's cubic coefficient.
constexpr double gelu_new_cubic = 0.044715;

ClipActivation parse_activation(const ModelConfig& config) {
    static const std::vector<std::pair<std::string, ClipActivation>> names{
        {"quick_gelu", ClipActivation::quick_gelu},
        {"gelu", ClipActivation::gelu},
        {"gelu_new", ClipActivation::gelu_new},
        {"gelu_pytorch_tanh", ClipActivation::gelu_tanh},
        {"relu", ClipActivation::relu},
    };
    const auto name = config.string("hidden_act", "quick_gelu");
    std::string accepted;
    for (const auto& [known, kind] : names) {
        if (known == name) return kind;
        accepted += (accepted.empty() ? "" : ", ") + known;
    }
    config.fail("hidden_act", "'" + name + "' is not supported; accepted: " + accepted);
}

std::int64_t positive(const ModelConfig& config, const std::string& key, std::int64_t fallback) {
    const auto value = config.integer(key, fallback);
    if (value <= 0) config.fail(key, "must be positive, found " + std::to_string(value));
    return value;
}

// The keys both towers share. `tower` is text_config / vision_config (or the whole
// config of a standalone tower); `projection_dim` comes from where the projection lives.
void read_encoder(const ModelConfig& tower, ClipEncoderConfig& out) {
    out.hidden_size = positive(tower, "hidden_size", out.hidden_size);
    out.intermediate_size = positive(tower, "intermediate_size", out.intermediate_size);
    out.num_attention_heads = positive(tower, "num_attention_heads", out.num_attention_heads);
    out.num_hidden_layers = tower.integer("num_hidden_layers", out.num_hidden_layers);
    if (out.num_hidden_layers < 0)
        tower.fail("num_hidden_layers", "must be 0 or more, found " + std::to_string(out.num_hidden_layers));
    if (out.hidden_size % out.num_attention_heads != 0)
        tower.fail("num_attention_heads", "hidden_size " + std::to_string(out.hidden_size) +
                                              " is not a multiple of num_attention_heads " +
                                              std::to_string(out.num_attention_heads));
    out.hidden_act = parse_activation(tower);
    out.layer_norm_eps = tower.real("layer_norm_eps", out.layer_norm_eps);
    out.attention_dropout = tower.real("attention_dropout", out.attention_dropout);
}

// A CLIPConfig holds both towers under "<tower>_config" ("<tower>_config_dict" in old
// files, which transformers lets win); a standalone tower's config is the tower itself.
ModelConfig select_tower(const ModelConfig& config, const std::string& tower, const std::string& tower_type,
                         std::int64_t& projection_dim) {
    const auto model_type = config.string("model_type", "");
    const auto nested = tower + "_config";
    const auto nested_dict = tower + "_config_dict";
    if (model_type == "clip" || (model_type.empty() && (config.has(nested) || config.has(nested_dict)))) {
        projection_dim = positive(config, "projection_dim", default_projection_dim);
        auto sub = config.child(config.has(nested_dict) ? nested_dict : nested);
        const auto sub_type = sub.string("model_type", tower_type);
        if (sub_type != tower_type)
            sub.fail("model_type", "'" + sub_type + "' where a CLIP " + tower + " tower needs '" + tower_type + "'");
        return sub;
    }
    if (model_type.empty() || model_type == tower_type) {
        projection_dim = positive(config, "projection_dim", default_projection_dim);
        return config;
    }
    config.fail("model_type", "'" + model_type + "' is not a CLIP " + tower + " model; accepted: clip (CLIPModel), " +
                                  tower_type + " (CLIP" + (tower == "text" ? "Text" : "Vision") +
                                  "Model / ...WithProjection)");
}

at::Tensor activate(ClipActivation activation, const at::Tensor& x) {
    switch (activation) {
    case ClipActivation::quick_gelu: return x * at::sigmoid(quick_gelu_factor * x);
    case ClipActivation::gelu: return at::gelu(x);
    case ClipActivation::gelu_new: {
        // Spelled out like NewGELUActivation so that it rounds the same way.
        const double sqrt_2_over_pi = std::sqrt(2.0 / M_PI);
        return 0.5 * x * (1.0 + at::tanh(sqrt_2_over_pi * (x + gelu_new_cubic * at::pow(x, 3.0))));
    }
    case ClipActivation::gelu_tanh: return at::gelu(x, "tanh");
    case ClipActivation::relu: return at::relu(x);
    }
    return x;
}

double lowest_of(at::ScalarType dtype) {
    switch (dtype) {
    case at::kFloat: return std::numeric_limits<float>::lowest();
    case at::kDouble: return std::numeric_limits<double>::lowest();
    case at::kHalf: return std::numeric_limits<c10::Half>::lowest();
    case at::kBFloat16: return std::numeric_limits<c10::BFloat16>::lowest();
    default:
        throw Error(std::string("CLIP attention: hidden states of type ") + c10::toString(dtype) +
                    " are not supported; accepted: float, double, half, bfloat16");
    }
}

torch::nn::LayerNorm layer_norm(const ClipEncoderConfig& config) {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps));
}

bool has_tensor(const StateDict& weights, const std::string& name) { return weights.count(name) != 0; }

std::string config_source(const Checkpoint& checkpoint) { return (checkpoint.folder / "config.json").string(); }

} // namespace

ClipTextConfig ClipTextConfig::from_json(const ModelConfig& config) {
    ClipTextConfig out;
    const auto tower = select_tower(config, "text", "clip_text_model", out.projection_dim);
    read_encoder(tower, out);
    out.vocab_size = positive(tower, "vocab_size", out.vocab_size);
    out.max_position_embeddings = positive(tower, "max_position_embeddings", out.max_position_embeddings);
    if (tower.has("eos_token_id") && tower.json().at("eos_token_id").is_array())
        tower.fail("eos_token_id", "a list of ids is not supported (CLIP pools at one EOS id); expected an integer");
    out.eos_token_id = tower.integer("eos_token_id", out.eos_token_id);
    return out;
}

ClipVisionConfig ClipVisionConfig::from_json(const ModelConfig& config) {
    ClipVisionConfig out;
    const auto tower = select_tower(config, "vision", "clip_vision_model", out.projection_dim);
    read_encoder(tower, out);
    // transformers' CLIP takes one integer for both sides; a [h, w] list fails there too.
    out.image_size = positive(tower, "image_size", out.image_size);
    out.patch_size = positive(tower, "patch_size", out.patch_size);
    out.num_channels = positive(tower, "num_channels", out.num_channels);
    if (out.patch_size > out.image_size)
        tower.fail("patch_size", std::to_string(out.patch_size) + " is larger than image_size " +
                                     std::to_string(out.image_size));
    return out;
}

// ---------------------------------------------------------------- shared encoder

ClipAttentionImpl::ClipAttentionImpl(const ClipEncoderConfig& config)
    : num_heads_(config.num_attention_heads), head_dim_(config.hidden_size / config.num_attention_heads),
      scale_(1.0 / std::sqrt(static_cast<double>(config.hidden_size / config.num_attention_heads))),
      dropout_(config.attention_dropout) {
    const auto size = config.hidden_size;
    // Registered in transformers' order (k, v, q, out) so named_parameters() lists alike.
    k_proj = register_module("k_proj", Linear(size, size));
    v_proj = register_module("v_proj", Linear(size, size));
    q_proj = register_module("q_proj", Linear(size, size));
    out_proj = register_module("out_proj", Linear(size, size));
}

at::Tensor ClipAttentionImpl::forward(const at::Tensor& hidden, const at::Tensor& bias, const at::Tensor& sees_any) {
    const auto batch = hidden.size(0);
    const auto tokens = hidden.size(1);
    // [N, T, C] -> [N, heads, T, head_dim]
    if (self_attention_inference_applies(*this, hidden, dropout_)) {
        auto context = self_attention_inference(q_proj->forward(hidden), k_proj->forward(hidden),
                                                v_proj->forward(hidden), num_heads_, scale_, bias);
        if (sees_any.defined()) context = context * sees_any.view({batch, tokens, 1});
        return out_proj->forward(context);
    }
    auto heads = [&](const at::Tensor& x) { return x.view({batch, tokens, num_heads_, head_dim_}).transpose(1, 2); };
    const auto q = heads(q_proj->forward(hidden));
    const auto k = heads(k_proj->forward(hidden));
    const auto v = heads(v_proj->forward(hidden));
    // Scores, then scale: the order of transformers' eager_attention_forward.
    auto scores = at::matmul(q, k.transpose(-1, -2)) * scale_;
    if (bias.defined()) scores = scores + bias;
    // Softmax in float32 even for bfloat16 states, as transformers does.
    auto probs = at::softmax(scores, /*dim=*/-1, at::kFloat).to(q.scalar_type());
    if (sees_any.defined()) probs = probs * sees_any;
    probs = at::dropout(probs, dropout_, is_training());
    const auto context = at::matmul(probs, v).transpose(1, 2).reshape({batch, tokens, num_heads_ * head_dim_});
    return out_proj->forward(context);
}

ClipMlpImpl::ClipMlpImpl(const ClipEncoderConfig& config) : activation_(config.hidden_act) {
    fc1 = register_module("fc1", Linear(config.hidden_size, config.intermediate_size));
    fc2 = register_module("fc2", Linear(config.intermediate_size, config.hidden_size));
}

at::Tensor ClipMlpImpl::forward(const at::Tensor& hidden) {
    return fc2->forward(activate(activation_, fc1->forward(hidden)));
}

ClipEncoderLayerImpl::ClipEncoderLayerImpl(const ClipEncoderConfig& config) {
    self_attn = register_module("self_attn", ClipAttention(config));
    layer_norm1 = register_module("layer_norm1", layer_norm(config));
    mlp = register_module("mlp", ClipMlp(config));
    layer_norm2 = register_module("layer_norm2", layer_norm(config));
}

at::Tensor ClipEncoderLayerImpl::forward(const at::Tensor& hidden, const at::Tensor& bias, const at::Tensor& sees_any) {
    auto x = hidden + self_attn->forward(layer_norm1->forward(hidden), bias, sees_any);
    return x + mlp->forward(layer_norm2->forward(x));
}

ClipEncoderImpl::ClipEncoderImpl(const ClipEncoderConfig& config) {
    layers = register_module("layers", torch::nn::ModuleList());
    for (std::int64_t i = 0; i < config.num_hidden_layers; ++i) layers->push_back(ClipEncoderLayer(config));
}

ClipEncoderLayer ClipEncoderImpl::layer(std::int64_t index) const {
    if (index < 0 || index >= size())
        throw Error("CLIP encoder: layer " + std::to_string(index) + " does not exist; the model has layers 0.." +
                    std::to_string(size() - 1));
    return ClipEncoderLayer(layers->ptr<ClipEncoderLayerImpl>(static_cast<std::size_t>(index)));
}

at::Tensor ClipEncoderImpl::run(at::Tensor hidden, const at::Tensor& bias, const at::Tensor& sees_any,
                                std::int64_t begin, std::int64_t end, const std::string& who) {
    if (begin < 0 || end > size() || begin > end)
        throw Error(who + ": cannot run layers [" + std::to_string(begin) + ", " + std::to_string(end) +
                    "); the model has " + std::to_string(size()) + " layers, so 0 <= begin <= end <= " +
                    std::to_string(size()));
    for (auto i = begin; i < end; ++i)
        hidden = layers->ptr<ClipEncoderLayerImpl>(static_cast<std::size_t>(i))->forward(hidden, bias, sees_any);
    return hidden;
}

// ---------------------------------------------------------------- text tower

ClipTextEmbeddingsImpl::ClipTextEmbeddingsImpl(const ClipTextConfig& config) {
    token_embedding = register_module("token_embedding", torch::nn::Embedding(config.vocab_size, config.hidden_size));
    position_embedding = register_module("position_embedding",
                                         torch::nn::Embedding(config.max_position_embeddings, config.hidden_size));
}

at::Tensor ClipTextEmbeddingsImpl::forward(const at::Tensor& input_ids) {
    const auto tokens = input_ids.size(-1);
    const auto positions = at::arange(tokens, input_ids.options().dtype(at::kLong));
    return token_embedding->forward(input_ids) + position_embedding->forward(positions).unsqueeze(0);
}

ClipTextTransformerImpl::ClipTextTransformerImpl(const ClipTextConfig& config) {
    embeddings = register_module("embeddings", ClipTextEmbeddings(config));
    encoder = register_module("encoder", ClipEncoder(config));
    final_layer_norm = register_module("final_layer_norm", layer_norm(config));
}

ClipTextModelImpl::ClipTextModelImpl(const ClipTextConfig& config) : config_(config) {
    text_model = register_module("text_model", ClipTextTransformer(config));
    if (config.with_projection)
        text_projection = register_module(
            "text_projection",
            Linear(torch::nn::LinearOptions(config.hidden_size, config.projection_dim).bias(false)));
}

at::Tensor ClipTextModelImpl::embed(const at::Tensor& input_ids) {
    if (input_ids.dim() != 2 || !at::isIntegralType(input_ids.scalar_type(), /*includeBool=*/false))
        throw Error("CLIP text: input_ids must be integer token ids [batch, tokens], found " +
                    std::string(c10::toString(input_ids.scalar_type())) + " with " + std::to_string(input_ids.dim()) +
                    " dimensions");
    if (input_ids.size(1) > config_.max_position_embeddings)
        throw Error("CLIP text: " + std::to_string(input_ids.size(1)) + " tokens, but the model has " +
                    std::to_string(config_.max_position_embeddings) +
                    " positions (max_position_embeddings); truncate the text to that many tokens");
    if (input_ids.numel() > 0) {
        const auto low = input_ids.min().item<std::int64_t>();
        const auto high = input_ids.max().item<std::int64_t>();
        if (low < 0 || high >= config_.vocab_size)
            throw Error("CLIP text: token id " + std::to_string(low < 0 ? low : high) + " is outside the vocabulary 0.." +
                        std::to_string(config_.vocab_size - 1) + " (vocab_size); was the text tokenized for this model?");
    }
    return text_model->embeddings->forward(input_ids.to(at::kLong));
}

at::Tensor ClipTextModelImpl::run_layers(at::Tensor hidden, const at::Tensor& mask, std::int64_t begin,
                                         std::int64_t end) {
    if (hidden.dim() != 3)
        throw Error("CLIP text: hidden states must be [batch, tokens, hidden_size], found " +
                    std::to_string(hidden.dim()) + " dimensions");
    const auto batch = hidden.size(0);
    const auto tokens = hidden.size(1);
    const auto bool_options = hidden.options().dtype(at::kBool);
    // CLIP's text tower is causal: token i sees tokens 0..i.
    auto allowed = at::ones({tokens, tokens}, bool_options).tril().view({1, 1, tokens, tokens});
    at::Tensor sees_any;
    if (mask.defined()) {
        if (mask.dim() != 2 || mask.size(0) != batch || mask.size(1) != tokens)
            throw Error("CLIP text: attention mask must be [" + std::to_string(batch) + ", " + std::to_string(tokens) +
                        "] (1 = real token, 0 = padding) for these hidden states, found " +
                        c10::str(mask.sizes()));
        allowed = allowed.logical_and(mask.ne(0).to(hidden.device()).view({batch, 1, 1, tokens}));
        // Only left padding leaves a query with no key; transformers' sdpa gives it zero
        // attention (eager would spread it evenly), and sdpa is the default.
        const auto any = allowed.any(/*dim=*/-1, /*keepdim=*/true);
        if (!any.all().item<bool>()) sees_any = any.to(hidden.scalar_type());
    }
    const auto bias = at::zeros(allowed.sizes(), hidden.options())
                          .masked_fill(allowed.logical_not(), lowest_of(hidden.scalar_type()));
    return text_model->encoder->run(std::move(hidden), bias, sees_any, begin, end, "CLIP text");
}

at::Tensor ClipTextModelImpl::pool_positions(const at::Tensor& input_ids) const {
    // transformers casts to int32 before argmax (for ONNX); the ids fit, the result is the same.
    const auto ids = input_ids.to(at::kInt);
    if (config_.eos_token_id == legacy_eos_token_id) return ids.argmax(/*dim=*/-1);
    // The first EOS (the pad token may equal EOS); argmax of an all-zero row is 0.
    return ids.eq(config_.eos_token_id).to(at::kInt).argmax(/*dim=*/-1);
}

ClipTextOutput ClipTextModelImpl::head(const at::Tensor& hidden, const at::Tensor& positions) {
    if (positions.dim() != 1 || positions.size(0) != hidden.size(0))
        throw Error("CLIP text: pooling positions must be [" + std::to_string(hidden.size(0)) +
                    "] (one per row), found " + c10::str(positions.sizes()));
    ClipTextOutput out;
    out.last_hidden_state = text_model->final_layer_norm->forward(hidden);
    const auto rows = at::arange(hidden.size(0), positions.options().dtype(at::kLong));
    out.pooled = out.last_hidden_state.index({rows, positions.to(at::kLong)});
    if (text_projection) out.projected = text_projection->forward(out.pooled);
    return out;
}

ClipTextOutput ClipTextModelImpl::forward(const at::Tensor& input_ids, const at::Tensor& attention_mask) {
    std::vector<at::Tensor> hidden_states{embed(input_ids)};
    for (std::int64_t i = 0; i < num_layers(); ++i)
        hidden_states.push_back(run_layers(hidden_states.back(), attention_mask, i, i + 1));
    auto out = head(hidden_states.back(), pool_positions(input_ids));
    out.hidden_states = std::move(hidden_states);
    return out;
}

std::vector<std::shared_ptr<torch::nn::Module>> ClipTextModelImpl::head_modules() const {
    std::vector<std::shared_ptr<torch::nn::Module>> modules{text_model->final_layer_norm.ptr()};
    if (text_projection) modules.push_back(text_projection.ptr());
    return modules;
}

// ---------------------------------------------------------------- vision tower

ClipVisionEmbeddingsImpl::ClipVisionEmbeddingsImpl(const ClipVisionConfig& config) : config_(config) {
    class_embedding = register_parameter("class_embedding", torch::randn({config.hidden_size}));
    patch_embedding = register_module(
        "patch_embedding",
        torch::nn::Conv2d(torch::nn::Conv2dOptions(config.num_channels, config.hidden_size, config.patch_size)
                              .stride(config.patch_size)
                              .bias(false)));
    position_embedding =
        register_module("position_embedding", torch::nn::Embedding(config.num_positions(), config.hidden_size));
}

at::Tensor ClipVisionEmbeddingsImpl::forward(const at::Tensor& pixel_values) {
    const auto batch = pixel_values.size(0);
    const auto weight_type = patch_embedding->weight.scalar_type();
    // [N, C, H, W] -> [N, hidden, H/p, W/p] -> [N, patches, hidden] in row-major patch order.
    const auto patches = patch_embedding->forward(pixel_values.to(weight_type)).flatten(2).transpose(1, 2);
    const auto cls = class_embedding.expand({batch, 1, -1});
    return at::cat({cls, patches}, /*dim=*/1) + position_embedding->weight.unsqueeze(0);
}

ClipVisionTransformerImpl::ClipVisionTransformerImpl(const ClipVisionConfig& config) {
    embeddings = register_module("embeddings", ClipVisionEmbeddings(config));
    pre_layrnorm = register_module("pre_layrnorm", layer_norm(config));
    encoder = register_module("encoder", ClipEncoder(config));
    post_layernorm = register_module("post_layernorm", layer_norm(config));
}

ClipVisionModelImpl::ClipVisionModelImpl(const ClipVisionConfig& config) : config_(config) {
    vision_model = register_module("vision_model", ClipVisionTransformer(config));
    if (config.with_projection)
        visual_projection = register_module(
            "visual_projection",
            Linear(torch::nn::LinearOptions(config.hidden_size, config.projection_dim).bias(false)));
}

at::Tensor ClipVisionModelImpl::embed(const at::Tensor& pixel_values) {
    // transformers refuses other sizes unless interpolate_pos_encoding, which this port lacks.
    if (pixel_values.dim() != 4 || pixel_values.size(1) != config_.num_channels ||
        pixel_values.size(2) != config_.image_size || pixel_values.size(3) != config_.image_size)
        throw Error("CLIP vision: pixel_values must be [batch, " + std::to_string(config_.num_channels) + ", " +
                    std::to_string(config_.image_size) + ", " + std::to_string(config_.image_size) +
                    "] (the checkpoint's image_size; resize and crop to it), found " + c10::str(pixel_values.sizes()));
    return vision_model->pre_layrnorm->forward(vision_model->embeddings->forward(pixel_values));
}

at::Tensor ClipVisionModelImpl::run_layers(at::Tensor hidden, const at::Tensor& mask, std::int64_t begin,
                                           std::int64_t end) {
    if (mask.defined())
        throw Error("CLIP vision: run_layers takes no mask (every image token is real); pass an undefined tensor");
    return vision_model->encoder->run(std::move(hidden), /*bias=*/{}, /*sees_any=*/{}, begin, end, "CLIP vision");
}

ClipVisionOutput ClipVisionModelImpl::head(const at::Tensor& hidden) {
    ClipVisionOutput out;
    out.last_hidden_state = hidden;
    out.pooled = vision_model->post_layernorm->forward(hidden.select(/*dim=*/1, /*index=*/0));
    if (visual_projection) out.projected = visual_projection->forward(out.pooled);
    return out;
}

ClipVisionOutput ClipVisionModelImpl::forward(const at::Tensor& pixel_values) {
    std::vector<at::Tensor> hidden_states{embed(pixel_values)};
    for (std::int64_t i = 0; i < num_layers(); ++i)
        hidden_states.push_back(run_layers(hidden_states.back(), /*mask=*/{}, i, i + 1));
    auto out = head(hidden_states.back());
    out.hidden_states = std::move(hidden_states);
    return out;
}

std::vector<std::shared_ptr<torch::nn::Module>> ClipVisionModelImpl::head_modules() const {
    std::vector<std::shared_ptr<torch::nn::Module>> modules{vision_model->post_layernorm.ptr()};
    if (visual_projection) modules.push_back(visual_projection.ptr());
    return modules;
}

// ---------------------------------------------------------------- both towers

at::Tensor clip_normalize(const at::Tensor& embeds) {
    // transformers' _get_vector_norm: sqrt of the sum of squares.
    return embeds / embeds.pow(2).sum(/*dim=*/-1, /*keepdim=*/true).sqrt();
}

at::Tensor clip_logits_per_image(const at::Tensor& image_embeds, const at::Tensor& text_embeds, double logit_scale) {
    if (image_embeds.dim() != 2 || text_embeds.dim() != 2 || image_embeds.size(1) != text_embeds.size(1))
        throw Error("CLIP logits: expected image embeds [images, D] and text embeds [texts, D] of the same D, found " +
                    c10::str(image_embeds.sizes()) + " and " + c10::str(text_embeds.sizes()));
    // transformers computes text . image^T and transposes it; the products are the same.
    return at::matmul(text_embeds, image_embeds.t()).mul(std::exp(logit_scale)).t();
}

ClipModelImpl::ClipModelImpl(const ClipTextConfig& text_config, const ClipVisionConfig& vision_config) {
    auto text_with = text_config;
    auto vision_with = vision_config;
    text_with.with_projection = vision_with.with_projection = true;
    text = ClipTextModel(text_with);
    vision = ClipVisionModel(vision_with);
    if (text_with.projection_dim != vision_with.projection_dim)
        throw CheckpointError("CLIP: text projection_dim " + std::to_string(text_with.projection_dim) +
                              " differs from vision projection_dim " + std::to_string(vision_with.projection_dim) +
                              "; a CLIPModel projects both towers to the same size");
    // CLIPModel's own names: the towers' children, without the towers' wrappers.
    register_module("text_model", text->text_model);
    register_module("vision_model", vision->vision_model);
    register_module("visual_projection", vision->visual_projection);
    register_module("text_projection", text->text_projection);
    // log(1 / 0.07), transformers' logit_scale_init_value; a checkpoint overwrites it.
    constexpr double initial_logit_scale = 2.6592;
    logit_scale = register_parameter("logit_scale", torch::scalar_tensor(initial_logit_scale, torch::kFloat));
}

void ClipModelImpl::train(bool on) {
    torch::nn::Module::train(on);
    // The tower wrappers are not children (their children are), so pass the flag on.
    text->torch::nn::Module::train(on);
    vision->torch::nn::Module::train(on);
}

double ClipModelImpl::logit_scale_value() const { return logit_scale.item<double>(); }

at::Tensor ClipModelImpl::logits_per_image(const at::Tensor& pixel_values, const at::Tensor& input_ids,
                                           const at::Tensor& attention_mask) {
    const auto image = clip_normalize(vision->forward(pixel_values).projected);
    const auto words = clip_normalize(text->forward(input_ids, attention_mask).projected);
    return clip_logits_per_image(image, words, logit_scale_value());
}

// ---------------------------------------------------------------- loading

ClipTextModel load_clip_text_model(const Checkpoint& checkpoint) {
    auto config = ClipTextConfig::from_json(ModelConfig(checkpoint.config, config_source(checkpoint)));
    const auto& weights = checkpoint.weights;
    // A bare CLIPTextModel (transformers 5 names it without "text_model."); anything else
    // is read as CLIPModel / CLIPTextModelWithProjection names, so that a wrong checkpoint
    // is reported against those.
    const bool bare = !has_tensor(weights, "text_model.embeddings.token_embedding.weight") &&
                      has_tensor(weights, "embeddings.token_embedding.weight");
    config.with_projection = !bare && has_tensor(weights, "text_projection.weight");
    ClipTextModel model(config);
    LoadOptions options;
    if (bare) {
        options.may_ignore = {"embeddings.position_ids"};
        load_state_dict(*model->text_model, weights, checkpoint.folder.string(), options);
    } else {
        options.may_ignore = {"vision_model.", "visual_projection.", "logit_scale", "text_model.embeddings.position_ids"};
        load_state_dict(*model, weights, checkpoint.folder.string(), options);
    }
    model->eval();
    return model;
}

ClipVisionModel load_clip_vision_model(const Checkpoint& checkpoint) {
    auto config = ClipVisionConfig::from_json(ModelConfig(checkpoint.config, config_source(checkpoint)));
    const auto& weights = checkpoint.weights;
    const bool bare = !has_tensor(weights, "vision_model.embeddings.class_embedding") &&
                      has_tensor(weights, "embeddings.class_embedding");
    config.with_projection = !bare && has_tensor(weights, "visual_projection.weight");
    ClipVisionModel model(config);
    LoadOptions options;
    if (bare) {
        options.may_ignore = {"embeddings.position_ids"};
        load_state_dict(*model->vision_model, weights, checkpoint.folder.string(), options);
    } else {
        options.may_ignore = {"text_model.", "text_projection.", "logit_scale", "vision_model.embeddings.position_ids"};
        load_state_dict(*model, weights, checkpoint.folder.string(), options);
    }
    model->eval();
    return model;
}

ClipModel load_clip_model(const Checkpoint& checkpoint) {
    const ModelConfig config(checkpoint.config, config_source(checkpoint));
    if (config.string("model_type", "clip") != "clip")
        config.fail("model_type", "'" + config.string("model_type") +
                                      "' is one CLIP tower; a CLIPModel (model_type 'clip') has both and logit_scale");
    ClipModel model(ClipTextConfig::from_json(config), ClipVisionConfig::from_json(config));
    LoadOptions options;
    options.may_ignore = {"text_model.embeddings.position_ids", "vision_model.embeddings.position_ids"};
    load_state_dict(*model, checkpoint.weights, checkpoint.folder.string(), options);
    model->eval();
    return model;
}

} // namespace msa::models

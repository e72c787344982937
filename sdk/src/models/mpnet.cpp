// MPNet in LibTorch, layer for layer as transformers' modeling_mpnet.py (MPNetModel).
#include <msa/models/mpnet.hpp>
#include <msa/models/transformer_blocks.hpp>

#include "layer_stack.hpp"
#include "post_norm_parts.hpp"

#include <torch/torch.h>

#include <cmath>

namespace msa::models {

namespace {

torch::nn::LayerNorm layer_norm(const MPNetConfig& config) {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps));
}

} // namespace

MPNetConfig MPNetConfig::from_json(const ModelConfig& json) {
    MPNetConfig config;
    const auto model_type = json.string("model_type");
    if (model_type != "mpnet") json.fail("model_type", "'" + model_type + "' is not an MPNet model; accepted: mpnet");
    // The defaults are those of transformers' MPNetConfig for keys a config.json may leave
    // out; the sizes must be there.
    config.vocab_size = json.integer("vocab_size");
    config.hidden_size = json.integer("hidden_size");
    config.num_hidden_layers = json.integer("num_hidden_layers");
    config.num_attention_heads = json.integer("num_attention_heads");
    config.intermediate_size = json.integer("intermediate_size");
    config.hidden_act = json.string("hidden_act", "gelu");
    config.hidden_dropout_prob = json.real("hidden_dropout_prob", 0.1);
    config.attention_probs_dropout_prob = json.real("attention_probs_dropout_prob", 0.1);
    config.max_position_embeddings = json.integer("max_position_embeddings", 512);
    config.layer_norm_eps = json.real("layer_norm_eps", 1e-12);
    config.relative_attention_num_buckets = json.integer("relative_attention_num_buckets", 32);

    for (const char* key : {"hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"})
        if (json.integer(key, 1) < 1) json.fail(key, "must be at least 1, found " + std::to_string(json.integer(key)));
    if (config.vocab_size <= padding_idx)
        json.fail("vocab_size", "must be more than " + std::to_string(padding_idx) + " (MPNet pads with id " +
                                    std::to_string(padding_idx) + "), found " + std::to_string(config.vocab_size));
    if (config.max_tokens() < 1)
        json.fail("max_position_embeddings", "MPNet numbers positions from " + std::to_string(padding_idx + 1) +
                                                 ", so it must be at least " + std::to_string(padding_idx + 2) +
                                                 ", found " + std::to_string(config.max_position_embeddings));
    if (config.hidden_size % config.num_attention_heads != 0)
        json.fail("num_attention_heads", "hidden_size " + std::to_string(config.hidden_size) +
                                             " is not a multiple of num_attention_heads " +
                                             std::to_string(config.num_attention_heads));
    if (!Activation::accepts(config.hidden_act))
        json.fail("hidden_act", "'" + config.hidden_act + "' is not supported; accepted: " + Activation::accepted_names());
    if (config.relative_attention_num_buckets < relative_position_buckets)
        json.fail("relative_attention_num_buckets",
                  std::to_string(config.relative_attention_num_buckets) + " rows are too few: MPNet buckets relative "
                  "positions into " + std::to_string(relative_position_buckets) + " whatever the config says, so it "
                  "must be at least " + std::to_string(relative_position_buckets));
    return config;
}

// embeddings.{word,position}_embeddings and embeddings.LayerNorm (MPNet has no token types).
class MPNetEmbeddingsImpl : public torch::nn::Module {
public:
    explicit MPNetEmbeddingsImpl(const MPNetConfig& config) : config_(config) {
        // padding_idx only keeps the padding rows' gradients at zero, as in transformers.
        word_embeddings = register_module(
            "word_embeddings", torch::nn::Embedding(torch::nn::EmbeddingOptions(config.vocab_size, config.hidden_size)
                                                        .padding_idx(MPNetConfig::padding_idx)));
        position_embeddings = register_module(
            "position_embeddings",
            torch::nn::Embedding(torch::nn::EmbeddingOptions(config.max_position_embeddings, config.hidden_size)
                                     .padding_idx(MPNetConfig::padding_idx)));
        LayerNorm = register_module("LayerNorm", layer_norm(config));
    }

    at::Tensor forward(const at::Tensor& input_ids) {
        check_token_ids(input_ids, config_.vocab_size, config_.max_tokens(), config_.max_position_embeddings,
                        "MPNetModel");
        const auto ids = input_ids.to(at::kLong);
        // fairseq's make_positions: real tokens count up from padding_idx + 1 and padding
        // tokens keep position padding_idx.
        const auto real = ids.ne(MPNetConfig::padding_idx).to(at::kLong);
        const auto positions = at::cumsum(real, /*dim=*/1) * real + MPNetConfig::padding_idx;
        auto embeddings = word_embeddings->forward(ids) + position_embeddings->forward(positions);
        embeddings = LayerNorm->forward(embeddings);
        return at::dropout(embeddings, config_.hidden_dropout_prob, is_training());
    }

    torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr};
    torch::nn::LayerNorm LayerNorm{nullptr};

private:
    MPNetConfig config_;
};

// attention.attn (q, k, v, o) and attention.LayerNorm: post-norm self-attention whose
// scores get the relative position bias added.
class MPNetAttentionImpl : public torch::nn::Module {
public:
    explicit MPNetAttentionImpl(const MPNetConfig& config) : dropout_(config.hidden_dropout_prob) {
        attn = register_module("attn", MultiHeadSelfAttention(config.hidden_size, config.num_attention_heads,
                                                              /*bias=*/true, config.attention_probs_dropout_prob,
                                                              ProjectionNames{"q", "k", "v"}));
        // The output projection sits beside q, k and v in the checkpoint (attn.o).
        o = attn->register_module("o", Linear(config.hidden_size, config.hidden_size));
        LayerNorm = register_module("LayerNorm", layer_norm(config));
    }
    // additive_bias: the position bias plus the padding mask, broadcasting to [N,heads,T,T].
    at::Tensor forward(const at::Tensor& hidden, const at::Tensor& additive_bias) {
        const auto attended = o->forward(attn->forward(hidden, additive_bias));
        return LayerNorm->forward(at::dropout(attended, dropout_, is_training()) + hidden);
    }
    MultiHeadSelfAttention attn{nullptr};
    Linear o{nullptr};
    torch::nn::LayerNorm LayerNorm{nullptr};

private:
    double dropout_;
};
TORCH_MODULE(MPNetAttention);

// encoder.layer.N: the attention block, then the feed-forward block.
class MPNetLayerImpl : public torch::nn::Module {
public:
    explicit MPNetLayerImpl(const MPNetConfig& config) {
        attention = register_module("attention", MPNetAttention(config));
        intermediate = register_module(
            "intermediate", detail::Intermediate(config.hidden_size, config.intermediate_size, config.hidden_act));
        output = register_module("output", detail::ResidualOutput(config.intermediate_size, config.hidden_size,
                                                                  config.layer_norm_eps, config.hidden_dropout_prob));
    }
    at::Tensor forward(const at::Tensor& hidden, const at::Tensor& additive_bias) {
        const auto attended = attention->forward(hidden, additive_bias);
        return output->forward(intermediate->forward(attended), attended);
    }
    MPNetAttention attention{nullptr};
    detail::Intermediate intermediate{nullptr};
    detail::ResidualOutput output{nullptr};
};

// encoder: the layers and the relative attention bias they share.
class MPNetEncoderImpl : public torch::nn::Module {
public:
    explicit MPNetEncoderImpl(const MPNetConfig& config) {
        layer = register_module("layer", torch::nn::ModuleList());
        relative_attention_bias = register_module(
            "relative_attention_bias",
            torch::nn::Embedding(config.relative_attention_num_buckets, config.num_attention_heads));
    }
    torch::nn::ModuleList layer{nullptr};
    torch::nn::Embedding relative_attention_bias{nullptr};
};

// pooler.dense over the first token, then tanh.
class MPNetPoolerImpl : public detail::FirstTokenPoolerImpl {
public:
    explicit MPNetPoolerImpl(const MPNetConfig& config)
        : FirstTokenPoolerImpl(config.hidden_size, config.hidden_size, "tanh") {}
};

MPNetModelImpl::MPNetModelImpl(MPNetConfig config) : config_(std::move(config)) {
    if (!Activation::accepts(config_.hidden_act))
        throw Error("MPNetModel: hidden_act '" + config_.hidden_act + "' is not supported; accepted: " +
                    Activation::accepted_names());
    if (config_.relative_attention_num_buckets < MPNetConfig::relative_position_buckets)
        throw Error("MPNetModel: relative_attention_num_buckets " +
                    std::to_string(config_.relative_attention_num_buckets) + " is below the " +
                    std::to_string(MPNetConfig::relative_position_buckets) + " buckets MPNet uses");
    embeddings_ = register_module("embeddings", std::make_shared<MPNetEmbeddingsImpl>(config_));
    encoder_ = register_module("encoder", std::make_shared<MPNetEncoderImpl>(config_));
    for (std::int64_t i = 0; i < config_.num_hidden_layers; ++i) {
        layers_.push_back(std::make_shared<MPNetLayerImpl>(config_));
        encoder_->layer->push_back(layers_.back());
    }
    if (config_.with_pooler) pooler_ = register_module("pooler", std::make_shared<MPNetPoolerImpl>(config_));
}

at::Tensor MPNetModelImpl::embed(const at::Tensor& input_ids) { return embeddings_->forward(input_ids); }

at::Tensor MPNetModelImpl::relative_position_bucket(const at::Tensor& relative_position) {
    // transformers' arithmetic step by step (float32 logarithm, truncation to int64), so
    // that a distance on a bucket boundary lands where it does there.
    constexpr std::int64_t half = MPNetConfig::relative_position_buckets / 2;
    constexpr std::int64_t max_exact = half / 2;
    const auto n = -relative_position;
    const auto direction = n.lt(0).to(at::kLong) * half;
    const auto distance = n.abs();
    const auto is_small = distance.lt(max_exact);
    auto large = max_exact + (at::log(distance.to(at::kFloat) / max_exact) /
                              std::log(static_cast<double>(MPNetConfig::relative_max_distance) / max_exact) *
                              (half - max_exact))
                                 .to(at::kLong);
    large = at::clamp_max(large, half - 1);
    return direction + at::where(is_small, distance, large);
}

at::Tensor MPNetModelImpl::position_bias(std::int64_t tokens) {
    auto& table = encoder_->relative_attention_bias;
    const auto positions = at::arange(tokens, at::TensorOptions().dtype(at::kLong).device(table->weight.device()));
    // [query, key] = key position - query position
    const auto relative = positions.unsqueeze(0) - positions.unsqueeze(1);
    // [T,T,heads] -> [1,heads,T,T]
    return table->forward(relative_position_bucket(relative)).permute({2, 0, 1}).unsqueeze(0);
}

at::Tensor MPNetModelImpl::run_layers(at::Tensor hidden, const at::Tensor& attention_mask, std::int64_t begin,
                                      std::int64_t end) {
    detail::check_layer_range("MPNetModel", begin, end, num_layers());
    detail::check_token_states("MPNetModel", hidden, config_.hidden_size, attention_mask);
    if (begin == end) return hidden;
    // Computed once for every layer, as MPNetEncoder does. The padding mask is folded in:
    // adding lowest() to the bias gives lowest(), as adding it to the biased scores would.
    // The shared bias table is no part of a trainable top's layers: a top moved to the GPU
    // leaves it behind, so its bias follows the hidden states.
    auto additive = position_bias(hidden.size(1)).to(hidden.device(), hidden.scalar_type());
    if (attention_mask.defined()) additive = additive + additive_attention_mask(attention_mask, hidden.scalar_type());
    for (auto i = begin; i < end; ++i) hidden = layers_[static_cast<std::size_t>(i)]->forward(hidden, additive);
    return hidden;
}

at::Tensor MPNetModelImpl::pool(const at::Tensor& last_hidden_state) {
    return pooler_ ? pooler_->forward(last_hidden_state) : at::Tensor();
}

MPNetModelOutput MPNetModelImpl::forward(const at::Tensor& input_ids, const at::Tensor& attention_mask) {
    MPNetModelOutput out;
    out.hidden_states.push_back(embed(input_ids));
    for (std::int64_t i = 0; i < num_layers(); ++i)
        out.hidden_states.push_back(run_layers(out.hidden_states.back(), attention_mask, i, i + 1));
    out.last_hidden_state = out.hidden_states.back();
    out.pooled = pool(out.last_hidden_state);
    return out;
}

std::shared_ptr<torch::nn::Module> MPNetModelImpl::layer(std::int64_t index) {
    detail::check_layer_index("MPNetModel", index, num_layers());
    return layers_[static_cast<std::size_t>(index)];
}

std::vector<std::shared_ptr<torch::nn::Module>> MPNetModelImpl::final_step_modules() {
    if (!pooler_) return {};
    return {pooler_};
}

MPNetModel mpnet_from_checkpoint(const Checkpoint& checkpoint) {
    const auto source = (checkpoint.folder / "config.json").string();
    auto config = MPNetConfig::from_json(ModelConfig(checkpoint.config, source));
    const auto weights_source = checkpoint.weight_files.size() == 1 ? checkpoint.weight_files.front().string()
                                                                    : checkpoint.folder.string();
    LoadOptions options;
    options.prefix = find_name_prefix(checkpoint.weights, "embeddings.word_embeddings.weight", weights_source, "MPNet");
    config.with_pooler = checkpoint.weights.count(options.prefix + "pooler.dense.weight") != 0;
    // Saved by transformers before 4.31 as a persistent buffer; we compute positions instead.
    options.may_ignore = {"embeddings.position_ids"};
    MPNetModel model(config);
    load_state_dict(*model, checkpoint.weights, weights_source, options);
    model->eval();
    return model;
}

} // namespace msa::models

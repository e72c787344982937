// BERT, MiniLM and RoBERTa in LibTorch, layer for layer as transformers' modeling_bert.py /
// modeling_roberta.py, and their masked-language-model heads.
#include <msa/models/bert.hpp>
#include <msa/models/transformer_blocks.hpp>

#include "layer_stack.hpp"
#include "post_norm_parts.hpp"

#include <torch/torch.h>

namespace msa::models {

namespace {

const std::vector<std::string>& bert_model_types() {
    static const std::vector<std::string> types{"bert", "roberta", "xlm-roberta"};
    return types;
}

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
}

torch::nn::LayerNorm layer_norm(const BertConfig& config) {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps));
}

} // namespace

BertConfig BertConfig::from_json(const ModelConfig& json) {
    BertConfig config;
    config.model_type = json.string("model_type");
    const auto& types = bert_model_types();
    if (std::find(types.begin(), types.end(), config.model_type) == types.end())
        json.fail("model_type", "'" + config.model_type + "' is not a BERT-family model; accepted: " + joined(types));
    // The defaults are those of transformers' BertConfig / RobertaConfig for keys a
    // config.json may leave out; the sizes must be there.
    config.vocab_size = json.integer("vocab_size");
    config.hidden_size = json.integer("hidden_size");
    config.num_hidden_layers = json.integer("num_hidden_layers");
    config.num_attention_heads = json.integer("num_attention_heads");
    config.intermediate_size = json.integer("intermediate_size");
    config.hidden_act = json.string("hidden_act", "gelu");
    config.hidden_dropout_prob = json.real("hidden_dropout_prob", 0.1);
    config.attention_probs_dropout_prob = json.real("attention_probs_dropout_prob", 0.1);
    config.max_position_embeddings = json.integer("max_position_embeddings", 512);
    config.type_vocab_size = json.integer("type_vocab_size", 2);
    config.layer_norm_eps = json.real("layer_norm_eps", 1e-12);
    config.pad_token_id = json.integer("pad_token_id", config.roberta_positions() ? 1 : 0);

    for (const char* key : {"vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                            "max_position_embeddings", "type_vocab_size"})
        if (json.integer(key, 1) < 1) json.fail(key, "must be at least 1, found " + std::to_string(json.integer(key)));
    if (config.hidden_size % config.num_attention_heads != 0)
        json.fail("num_attention_heads", "hidden_size " + std::to_string(config.hidden_size) +
                                             " is not a multiple of num_attention_heads " +
                                             std::to_string(config.num_attention_heads));
    if (!Activation::accepts(config.hidden_act))
        json.fail("hidden_act", "'" + config.hidden_act + "' is not supported; accepted: " + Activation::accepted_names());
    const auto positions = json.string("position_embedding_type", "absolute");
    if (positions != "absolute")
        json.fail("position_embedding_type", "'" + positions + "' is not supported; accepted: absolute");
    if (json.boolean("is_decoder", false))
        json.fail("is_decoder", "true (a causal decoder) is not supported; this module is a bidirectional encoder");
    if (json.boolean("add_cross_attention", false))
        json.fail("add_cross_attention", "true is not supported; this module is an encoder without cross-attention");
    if (config.roberta_positions() &&
        (config.pad_token_id < 0 || config.pad_token_id + 1 >= config.max_position_embeddings))
        json.fail("pad_token_id", "RoBERTa numbers positions from pad_token_id + 1, so it must lie in [0, " +
                                      std::to_string(config.max_position_embeddings - 1) + "), found " +
                                      std::to_string(config.pad_token_id));
    return config;
}

// embeddings.{word,position,token_type}_embeddings and embeddings.LayerNorm.
class BertEmbeddingsImpl : public torch::nn::Module {
public:
    explicit BertEmbeddingsImpl(const BertConfig& config) : config_(config) {
        auto word = torch::nn::EmbeddingOptions(config.vocab_size, config.hidden_size);
        // padding_idx only keeps the padding row's gradient at zero, as in transformers.
        if (config.pad_token_id >= 0 && config.pad_token_id < config.vocab_size) word.padding_idx(config.pad_token_id);
        word_embeddings = register_module("word_embeddings", torch::nn::Embedding(word));
        auto position = torch::nn::EmbeddingOptions(config.max_position_embeddings, config.hidden_size);
        if (config.roberta_positions()) position.padding_idx(config.pad_token_id);
        position_embeddings = register_module("position_embeddings", torch::nn::Embedding(position));
        token_type_embeddings = register_module(
            "token_type_embeddings", torch::nn::Embedding(config.type_vocab_size, config.hidden_size));
        LayerNorm = register_module("LayerNorm", layer_norm(config));
    }

    at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& token_type_ids) {
        check_inputs(input_ids, token_type_ids);
        const auto ids = input_ids.to(at::kLong);
        const auto tokens = ids.size(1);
        at::Tensor positions;
        if (config_.roberta_positions()) {
            // fairseq's make_positions: real tokens count up from pad_token_id + 1 and
            // padding tokens keep position pad_token_id.
            const auto real = ids.ne(config_.pad_token_id).to(at::kLong);
            positions = at::cumsum(real, /*dim=*/1) * real + config_.pad_token_id;
        } else {
            positions = at::arange(tokens, ids.options()).unsqueeze(0).expand_as(ids);
        }
        const auto types = token_type_ids.defined() ? token_type_ids.to(at::kLong) : at::zeros_like(ids);
        auto embeddings = word_embeddings->forward(ids) + token_type_embeddings->forward(types);
        embeddings = embeddings + position_embeddings->forward(positions);
        embeddings = LayerNorm->forward(embeddings);
        return at::dropout(embeddings, config_.hidden_dropout_prob, is_training());
    }

    torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr}, token_type_embeddings{nullptr};
    torch::nn::LayerNorm LayerNorm{nullptr};

private:
    // Out-of-range ids would otherwise surface as LibTorch's "index out of range in self".
    void check_inputs(const at::Tensor& input_ids, const at::Tensor& token_type_ids) const {
        check_token_ids(input_ids, config_.vocab_size, config_.max_tokens(), config_.max_position_embeddings,
                        "BertModel");
        if (!token_type_ids.defined()) return;
        if (token_type_ids.sizes() != input_ids.sizes())
            throw Error("BertModel: token_type_ids " + shape(token_type_ids) + " must have the shape of input_ids " +
                        shape(input_ids));
        if (token_type_ids.numel() > 0) {
            const auto low = token_type_ids.min().item<std::int64_t>();
            const auto high = token_type_ids.max().item<std::int64_t>();
            if (low < 0 || high >= config_.type_vocab_size)
                throw Error("BertModel: token_type_ids holds " + std::to_string(low < 0 ? low : high) +
                            "; the model has type_vocab_size " + std::to_string(config_.type_vocab_size) +
                            " (accepted: 0 to " + std::to_string(config_.type_vocab_size - 1) + ")");
        }
    }

    static std::string shape(const at::Tensor& t) {
        std::string out = "[";
        for (std::int64_t i = 0; i < t.dim(); ++i) out += (i ? "," : "") + std::to_string(t.size(i));
        return out + "]";
    }

    BertConfig config_;
};
TORCH_MODULE(BertEmbeddings);

// attention.self (query, key, value) and attention.output (dense, LayerNorm).
class BertAttentionImpl : public torch::nn::Module {
public:
    explicit BertAttentionImpl(const BertConfig& config) {
        self = register_module("self", MultiHeadSelfAttention(config.hidden_size, config.num_attention_heads,
                                                              /*bias=*/true, config.attention_probs_dropout_prob));
        output = register_module("output", detail::ResidualOutput(config.hidden_size, config.hidden_size,
                                                                  config.layer_norm_eps, config.hidden_dropout_prob));
    }
    at::Tensor forward(const at::Tensor& hidden, const at::Tensor& additive_mask) {
        return output->forward(self->forward(hidden, additive_mask), hidden);
    }
    MultiHeadSelfAttention self{nullptr};
    detail::ResidualOutput output{nullptr};
};
TORCH_MODULE(BertAttention);

// encoder.layer.N: post-norm self-attention and feed-forward blocks.
class BertLayerImpl : public torch::nn::Module {
public:
    explicit BertLayerImpl(const BertConfig& config) {
        attention = register_module("attention", BertAttention(config));
        intermediate = register_module(
            "intermediate", detail::Intermediate(config.hidden_size, config.intermediate_size, config.hidden_act));
        output = register_module("output", detail::ResidualOutput(config.intermediate_size, config.hidden_size,
                                                                  config.layer_norm_eps, config.hidden_dropout_prob));
    }
    at::Tensor forward(const at::Tensor& hidden, const at::Tensor& additive_mask) {
        const auto attended = attention->forward(hidden, additive_mask);
        return output->forward(intermediate->forward(attended), attended);
    }
    BertAttention attention{nullptr};
    detail::Intermediate intermediate{nullptr};
    detail::ResidualOutput output{nullptr};
};

// pooler.dense over the first token, then tanh.
class BertPoolerImpl : public detail::FirstTokenPoolerImpl {
public:
    explicit BertPoolerImpl(const BertConfig& config)
        : FirstTokenPoolerImpl(config.hidden_size, config.hidden_size, "tanh") {}
};

BertModelImpl::BertModelImpl(BertConfig config) : config_(std::move(config)) {
    if (!Activation::accepts(config_.hidden_act))
        throw Error("BertModel: hidden_act '" + config_.hidden_act + "' is not supported; accepted: " +
                    Activation::accepted_names());
    embeddings_ = register_module("embeddings", std::make_shared<BertEmbeddingsImpl>(config_));
    // transformers nests the layers as encoder.layer.N; the encoder itself has no weights.
    auto encoder = register_module("encoder", std::make_shared<torch::nn::Module>("BertEncoder"));
    torch::nn::ModuleList layer_list;
    for (std::int64_t i = 0; i < config_.num_hidden_layers; ++i) {
        layers_.push_back(std::make_shared<BertLayerImpl>(config_));
        layer_list->push_back(layers_.back());
    }
    encoder->register_module("layer", layer_list);
    if (config_.with_pooler) pooler_ = register_module("pooler", std::make_shared<BertPoolerImpl>(config_));
}

at::Tensor BertModelImpl::embed(const at::Tensor& input_ids, const at::Tensor& token_type_ids) {
    return embeddings_->forward(input_ids, token_type_ids);
}

at::Tensor BertModelImpl::run_layers(at::Tensor hidden, const at::Tensor& attention_mask, std::int64_t begin,
                                     std::int64_t end) {
    detail::check_layer_range("BertModel", begin, end, num_layers());
    detail::check_token_states("BertModel", hidden, config_.hidden_size, attention_mask);
    at::Tensor additive_mask;
    if (attention_mask.defined()) additive_mask = additive_attention_mask(attention_mask, hidden.scalar_type());
    for (auto i = begin; i < end; ++i) hidden = layers_[static_cast<std::size_t>(i)]->forward(hidden, additive_mask);
    return hidden;
}

at::Tensor BertModelImpl::pool(const at::Tensor& last_hidden_state) {
    return pooler_ ? pooler_->forward(last_hidden_state) : at::Tensor();
}

BertModelOutput BertModelImpl::forward(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                       const at::Tensor& token_type_ids) {
    BertModelOutput out;
    out.hidden_states.push_back(embed(input_ids, token_type_ids));
    for (std::int64_t i = 0; i < num_layers(); ++i)
        out.hidden_states.push_back(run_layers(out.hidden_states.back(), attention_mask, i, i + 1));
    out.last_hidden_state = out.hidden_states.back();
    out.pooled = pool(out.last_hidden_state);
    return out;
}

std::shared_ptr<torch::nn::Module> BertModelImpl::layer(std::int64_t index) {
    detail::check_layer_index("BertModel", index, num_layers());
    return layers_[static_cast<std::size_t>(index)];
}

std::vector<std::shared_ptr<torch::nn::Module>> BertModelImpl::final_step_modules() {
    if (!pooler_) return {};
    return {pooler_};
}

at::Tensor BertModelImpl::word_embeddings() const { return embeddings_->word_embeddings->weight; }

namespace {

std::string weights_source(const Checkpoint& checkpoint) {
    return checkpoint.weight_files.size() == 1 ? checkpoint.weight_files.front().string() : checkpoint.folder.string();
}

// The base model's prefix ("bert.", "roberta.", or "" for a BertModel folder).
std::string base_prefix(const Checkpoint& checkpoint) {
    return find_name_prefix(checkpoint.weights, "embeddings.word_embeddings.weight", weights_source(checkpoint),
                            "BERT-family");
}

std::string shape_of(const at::Tensor& t) {
    if (!t.defined()) return "(undefined)";
    std::string out = "[";
    for (std::int64_t i = 0; i < t.dim(); ++i) out += (i ? "," : "") + std::to_string(t.size(i));
    return out + "]";
}

} // namespace

BertModel bert_from_checkpoint(const Checkpoint& checkpoint) {
    const auto source = (checkpoint.folder / "config.json").string();
    auto config = BertConfig::from_json(ModelConfig(checkpoint.config, source));
    LoadOptions options;
    options.prefix = base_prefix(checkpoint);
    config.with_pooler = checkpoint.weights.count(options.prefix + "pooler.dense.weight") != 0;
    // Saved by transformers before 4.31 as a persistent buffer; we compute positions instead.
    // An MLM head (cls., lm_head.) lies outside a "bert."/"roberta." prefix and is never read
    // here; masked_lm_from_checkpoint loads it.
    options.may_ignore = {"embeddings.position_ids"};
    BertModel model(config);
    load_state_dict(*model, checkpoint.weights, weights_source(checkpoint), options);
    model->eval();
    return model;
}

// dense, activation, LayerNorm: BertPredictionHeadTransform, and the same three steps inside
// RobertaLMHead (whose head registers them itself, as it has no "transform." level).
class MaskedLmTransformImpl : public torch::nn::Module {
public:
    MaskedLmTransformImpl(const BertConfig& config, const std::string& activation) : activation_(activation) {
        dense = Linear(config.hidden_size, config.hidden_size);
        norm = layer_norm(config);
    }
    at::Tensor forward(const at::Tensor& hidden) { return norm->forward(activation_(dense->forward(hidden))); }
    Linear dense{nullptr};
    torch::nn::LayerNorm norm{nullptr};

private:
    Activation activation_;
};

MaskedLmHeadImpl::MaskedLmHeadImpl(const BertConfig& config, at::Tensor decoder_weight)
    : vocab_size_(config.vocab_size), decoder_weight_(std::move(decoder_weight)) {
    if (!decoder_weight_.defined() || decoder_weight_.dim() != 2 || decoder_weight_.size(0) != config.vocab_size ||
        decoder_weight_.size(1) != config.hidden_size)
        throw Error("MaskedLmHead: the decoder weight must be [vocab_size, hidden_size] = [" +
                    std::to_string(config.vocab_size) + "," + std::to_string(config.hidden_size) +
                    "] (normally BertModel::word_embeddings()), found " + shape_of(decoder_weight_));
    const bool roberta = config.roberta_positions();
    // RobertaLMHead calls transformers' gelu whatever hidden_act says; BERT's follows it.
    const std::string activation = roberta ? "gelu" : config.hidden_act;
    if (!Activation::accepts(activation))
        throw Error("MaskedLmHead: hidden_act '" + activation + "' is not supported; accepted: " +
                    Activation::accepted_names());
    transform_ = std::make_shared<MaskedLmTransformImpl>(config, activation);
    if (roberta) {
        register_module("dense", transform_->dense);
        register_module("layer_norm", transform_->norm);
    } else {
        transform_->register_module("dense", transform_->dense);
        transform_->register_module("LayerNorm", transform_->norm);
        register_module("transform", transform_);
    }
    // transformers starts the bias at zero; the checkpoint's replaces it.
    bias_ = register_parameter("bias", torch::zeros({config.vocab_size}));
}

void MaskedLmHeadImpl::check_hidden(const at::Tensor& hidden) const {
    const auto hidden_size = decoder_weight_.size(1);
    if (!hidden.defined() || hidden.dim() < 1 || hidden.size(-1) != hidden_size)
        throw Error("MaskedLmHead: hidden states must be [..., " + std::to_string(hidden_size) + "], found " +
                    shape_of(hidden));
}

at::Tensor MaskedLmHeadImpl::transform(const at::Tensor& hidden) {
    check_hidden(hidden);
    return transform_->forward(hidden);
}

at::Tensor MaskedLmHeadImpl::forward(const at::Tensor& hidden) {
    return linear(transform(hidden), decoder_weight_, bias_);
}

at::Tensor MaskedLmHeadImpl::logits_for(const at::Tensor& hidden, const at::Tensor& token_ids) {
    if (!token_ids.defined() || token_ids.dim() != 1 || !at::isIntegralType(token_ids.scalar_type(), false))
        throw Error("MaskedLmHead::logits_for: token_ids must be a 1-D integer tensor [K], found " +
                    shape_of(token_ids) +
                    (token_ids.defined() ? std::string(" ") + c10::toString(token_ids.scalar_type()) : ""));
    const auto ids = token_ids.to(decoder_weight_.device(), at::kLong);
    const auto transformed = transform(hidden);
    if (ids.numel() == 0) {
        auto sizes = transformed.sizes().vec();
        sizes.back() = 0;
        return at::empty(sizes, transformed.options());
    }
    const auto low = ids.min().item<std::int64_t>();
    const auto high = ids.max().item<std::int64_t>();
    if (low < 0 || high >= vocab_size_)
        throw Error("MaskedLmHead::logits_for: token id " + std::to_string(low < 0 ? low : high) +
                    " is outside the vocabulary [0, " + std::to_string(vocab_size_) + ")");
    return linear(transformed, decoder_weight_.index_select(0, ids), bias_.index_select(0, ids));
}

namespace {

// Whether a decoder tensor the file repeats holds the values of the one the head uses.
bool same_values(const at::Tensor& repeated, const at::Tensor& used) {
    return repeated.sizes() == used.sizes() && at::equal(repeated.to(used.scalar_type()), used.detach());
}

} // namespace

BertMaskedLm masked_lm_from_checkpoint(const Checkpoint& checkpoint) {
    auto model = bert_from_checkpoint(checkpoint);
    const auto& config = model->config();
    const auto source = weights_source(checkpoint);
    // transformers puts the head beside the base model: "bert." and "cls.predictions." at the
    // top level, so a wrapper's outer prefix ("model.bert.") applies to the head too.
    auto outer = base_prefix(checkpoint);
    if (!outer.empty()) {
        outer.pop_back();
        const auto dot = outer.rfind('.');
        outer = dot == std::string::npos ? "" : outer.substr(0, dot + 1);
    }
    const bool roberta = config.roberta_positions();
    const std::string head_prefix = outer + (roberta ? "lm_head." : "cls.predictions.");
    const std::string accepted =
        "accepted: a BertForMaskedLM or BertForPreTraining checkpoint (cls.predictions.*) or a RobertaForMaskedLM "
        "/ XLMRobertaForMaskedLM one (lm_head.*); a BertModel or sentence-transformers folder has no MLM head";

    MaskedLmHead head(config, model->word_embeddings());
    StateDict head_weights;
    at::Tensor decoder_weight, decoder_bias;
    for (const auto& [name, tensor] : checkpoint.weights) {
        if (name.compare(0, head_prefix.size(), head_prefix) != 0) continue;
        const auto rest = name.substr(head_prefix.size());
        if (rest == "decoder.weight") decoder_weight = tensor;
        else if (rest == "decoder.bias") decoder_bias = tensor;
        else head_weights[name] = tensor;
    }
    if (head_weights.empty()) {
        std::string missing;
        for (const auto& item : head->named_parameters())
            missing += (missing.empty() ? "" : ", ") + head_prefix + item.key();
        throw CheckpointError(checkpoint.folder.string() + ": no masked-language-model head; missing " + missing +
                              " (model_type '" + config.model_type + "'); " + accepted);
    }
    // transformers ties decoder.bias to the head's bias and saves one of them.
    const auto bias_name = head_prefix + "bias";
    if (!head_weights.count(bias_name) && decoder_bias.defined()) head_weights[bias_name] = decoder_bias;

    const auto untied = [&](const std::string& what) {
        return CheckpointError(source + ": " + what + "; untied decoders are not supported (accepted: a decoder tied " +
                               "to the word embeddings and the head's bias, as transformers' *ForMaskedLM saves it)");
    };
    if (decoder_weight.defined() && !same_values(decoder_weight, model->word_embeddings()))
        throw untied(head_prefix + "decoder.weight " + shape_of(decoder_weight) +
                     " differs from the word embeddings " + shape_of(model->word_embeddings()));
    if (decoder_bias.defined() && head_weights.count(bias_name) &&
        !same_values(decoder_bias, head_weights.at(bias_name).to(at::kFloat)))
        throw untied(head_prefix + "decoder.bias " + shape_of(decoder_bias) + " differs from " + bias_name);
    if (!ModelConfig(checkpoint.config, (checkpoint.folder / "config.json").string())
             .boolean("tie_word_embeddings", true) &&
        (!decoder_weight.defined() || !decoder_bias.defined()))
        throw untied("config.json sets tie_word_embeddings false and the file does not repeat both " + head_prefix +
                     "decoder.weight and " + head_prefix + "decoder.bias to show they equal the tied ones");

    LoadOptions options;
    options.prefix = head_prefix;
    try {
        load_state_dict(*head, head_weights, source, options);
    } catch (const CheckpointError& e) {
        throw CheckpointError(std::string(e.what()) + "\n(the MLM head; " + accepted + ")");
    }
    head->eval();
    return {model, head};
}

} // namespace msa::models

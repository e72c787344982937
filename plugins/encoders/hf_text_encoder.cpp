// hf-text: text encoder from a Hugging Face BERT-family or MPNet model folder (BERT, MiniLM,
// MPNet and other WordPiece checkpoints; sentence-transformers folders such as
// all-MiniLM-L6-v2 and all-mpnet-base-v2): our WordPiece tokenizer, then BertModel or, for
// config.json's model_type "mpnet", MPNetModel.
//
// | parameter  | type   | default | meaning                                                 |
// | max_length | int    | 128     | ids per text, the special tokens around it (BERT's [CLS] and [SEP]) included; longer texts are truncated |
// | pooling    | string | mean    | mean: masked mean of the tokens (sentence-transformers); cls: the first token's state (BERT's [CLS]); pooler: the checkpoint's tanh pooler |
// | normalize  | bool   | false   | scale pooled vectors to unit L2 norm (sentence-transformers' Normalize) |
// | text_cleanup | string | none  | tweet: each space-separated word of 2+ characters starting with @ becomes "@user", each starting with http "http", before tokenizing (TweetEval's preprocessing) |
// | (common)   |        |         | checkpoint, dtype, batch_size, threads, layer, tokens, trainable_layers, cached_prefix |
#include <msa/models/bert.hpp>
#include <msa/models/encoder_support.hpp>
#include <msa/models/mpnet.hpp>
#include <msa/models/tokenizer.hpp>
#include <msa/plugin.hpp>

#include <torch/torch.h>

namespace {

using namespace msa::models;

// text_cleanup = "tweet": TweetEval's preprocessing (Barbieri et al., 2020): the
// space-separated words that name a user ("@someone") become "@user" and links
// ("http...") "http", so that neither spends tokens on names and URL hashes that carry
// no sentiment.
std::string tweet_cleanup(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t begin = 0; begin <= text.size();) {
        const std::size_t end = std::min(text.find(' ', begin), text.size());
        const std::string_view word(text.data() + begin, end - begin);
        if (word.size() > 1 && word.front() == '@')
            out += "@user";
        else if (word.substr(0, 4) == "http")
            out += "http";
        else
            out += word;
        if (end < text.size()) out += ' ';
        begin = end + 1;
    }
    return out;
}

const char* const hint = "scripts/fetch-models puts all-MiniLM-L6-v2 in models/all-MiniLM-L6-v2 (and all-mpnet-base-v2 "
                         "in models/all-mpnet-base-v2 with --extra all-mpnet-base-v2)";

// The encoder around a loaded model: BertModelImpl or MPNetModelImpl, which offer the same
// steps (embed, run_layers, pool) under the same names.
template <class Model>
std::shared_ptr<msa::Encoder> make_stack_encoder(EncoderSettings settings, const std::shared_ptr<Model>& model,
                                                 const msa::Properties& props) {
    model->to(settings.dtype);
    std::shared_ptr<Tokenizer> tokenizer;
    try {
        tokenizer = load_tokenizer(settings.checkpoint.folder, "wordpiece");
    } catch (const CheckpointError& e) {
        throw msa::ConfigError(props.where("checkpoint"), std::string("hf-text: ") + e.what() +
                                                              " (hf-text reads WordPiece tokenizers: BERT, MiniLM, "
                                                              "MPNet, ...)");
    }
    const std::int64_t max_length = props.get_int("max_length");
    const std::int64_t positions = model->config().max_tokens();
    if (max_length > positions)
        throw msa::ConfigError(props.where("max_length"), "hf-text: max_length = " + std::to_string(max_length) +
                                                              " but the checkpoint's position embeddings fit " +
                                                              std::to_string(positions) + " tokens; accepted: [2, " +
                                                              std::to_string(positions) + "]");
    const std::string pooling = props.get_string("pooling");
    if (pooling == "pooler" && (!model->has_pooler() || settings.layer != -1))
        throw msa::ConfigError(props.where("pooling"),
                               "hf-text: pooling = \"pooler\" needs the checkpoint's pooler weights (" +
                                   settings.checkpoint.folder.string() +
                                   (model->has_pooler() ? " has them" : " has none") + ") and layer = -1");
    const bool normalize = props.get_bool("normalize");
    const bool tweets = props.get_string("text_cleanup") == "tweet";
    const bool tokens = settings.tokens;
    const auto to_features = [model, pooling, normalize, tokens](const at::Tensor& hidden, const at::Tensor& mask) {
        at::Tensor pooled = pooling == "pooler" ? model->pool(hidden) : pool_tokens(hidden, mask, pooling);
        if (normalize) pooled = pooled / pooled.norm(2, 1, true).clamp_min(1e-12);
        return msa::Features{pooled, tokens ? hidden : at::Tensor(), tokens ? mask : at::Tensor()};
    };

    StackEncoderSpec spec;
    spec.modality = msa::Modality::text;
    spec.dim = model->config().hidden_size;
    spec.extra_cache_key = "max_length=" + std::to_string(max_length) + ";pooling=" + pooling +
                           ";normalize=" + std::to_string(normalize) + ";" + tokenizer->cache_key() +
                           (tweets ? ";text_cleanup=tweet" : ""); // "none" keeps the keys stores already hold
    spec.embed = [model, tokenizer, max_length, tweets](const msa::EncoderBatch& batch) {
        std::vector<std::string> texts;
        for (const auto* sample : batch.samples) texts.push_back(tweets ? tweet_cleanup(sample->text) : sample->text);
        const TokenBatch tokens = tokenize_batch(*tokenizer, texts, max_length);
        return std::make_pair(model->embed(tokens.ids), tokens.mask);
    };
    spec.stack.num_layers = model->num_layers();
    spec.stack.run_layers = [model](const at::Tensor& h, const at::Tensor& m, std::int64_t b, std::int64_t e) {
        return model->run_layers(h, m, b, e);
    };
    spec.stack.finish = to_features; // no final norm: the last layer's output is pooled
    // MPNet's relative attention bias belongs to no layer: the frozen layers below share
    // it, so it stays as loaded when the top layers train.
    spec.stack.top_modules = [model](std::int64_t k) {
        std::vector<std::shared_ptr<torch::nn::Module>> modules;
        for (auto i = model->num_layers() - k; i < model->num_layers(); ++i) modules.push_back(model->layer(i));
        for (auto& m : model->final_step_modules()) modules.push_back(m);
        return modules;
    };
    spec.inner = to_features;
    return std::make_shared<StackEncoder>(std::move(settings), std::move(spec));
}

std::shared_ptr<msa::Encoder> make_encoder(const msa::Properties& props) {
    EncoderSettings settings = EncoderSettings::read(props, "hf-text", hint);
    // config.json's model_type chooses the architecture; BertConfig names the accepted
    // types when it is neither.
    if (settings.checkpoint.config.value("model_type", "") == "mpnet") {
        const std::shared_ptr<MPNetModelImpl> model = mpnet_from_checkpoint(settings.checkpoint).ptr();
        return make_stack_encoder(std::move(settings), model, props);
    }
    const std::shared_ptr<BertModelImpl> model = bert_from_checkpoint(settings.checkpoint).ptr();
    return make_stack_encoder(std::move(settings), model, props);
}

void register_plugins(msa::Registry& registry) {
    auto params = checkpoint_encoder_params(hint);
    params.insert(params.begin() + 1,
                  {msa::ParamSpec::integer("max_length", 128, "Ids per text, the special tokens around it (BERT's "
                                                              "[CLS] and [SEP]) included; longer texts are truncated")
                       .at_least(2),
                   msa::ParamSpec::choice("pooling", "mean", {"mean", "cls", "pooler"},
                                          "mean: masked mean of the tokens (sentence-transformers); cls: the first "
                                          "token's state (BERT's [CLS]); pooler: the checkpoint's tanh pooler (last layer only)"),
                   msa::ParamSpec::boolean("normalize", false,
                                           "Scale pooled vectors to unit L2 norm (sentence-transformers' Normalize; "
                                           "set it for all-MiniLM-L6-v2's and all-mpnet-base-v2's sentence embeddings)"),
                   msa::ParamSpec::choice("text_cleanup", "none", {"none", "tweet"},
                                          "none: the texts as read; tweet: each space-separated word starting with @ "
                                          "becomes \"@user\" and each starting with http \"http\" before tokenizing "
                                          "(TweetEval's preprocessing)")});
    registry.add_encoder({"hf-text", "Text encoder: a Hugging Face BERT-family or MPNet checkpoint (BERT, MiniLM, MPNet) in LibTorch.",
                          params},
                         make_encoder);
}

} // namespace

MSA_PLUGIN(register_plugins)

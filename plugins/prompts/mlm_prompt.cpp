// mlm-prompt: a prompt-based classifier on a masked language model (the PET / LM-BFF
// family, with image tokens as in UP-MPF and PVLM). Each post's text is put into a
// template ("{text} It was [MASK]."); the MLM head scores each label's words at the mask
// (several words per label are averaged); the image's pooled features, mapped by a trained
// linear layer into `image_tokens` vectors of the LM's width, join the sequence right after
// [CLS] where the trainable layers begin.
//
// BERT checkpoints (model_type bert) read their WordPiece tokenizer, RoBERTa ones (roberta,
// or xlm-roberta whose tokenizer is a byte-level BPE; XLM-R's own SentencePiece is not read)
// their byte-level BPE: "{text} It was <mask>.", and a label word is the token of the word
// after a space ("Ġgood"), as it stands in the template.
//
// The bottom layers stay frozen: the templated text through them is what text_encoder()
// gives the feature store, so training runs only the top `trainable_layers` and the head.
// With trainable_layers = all layers, that is the embedding output and the image tokens
// enter as input embeddings. Untrained (a few-shot phase's k = 0), the model scores the
// label words as the checkpoint has them: zero-shot.
//
// | parameter        | type    | default                    | meaning |
// | checkpoint       | path    | (required)                 | BertForMaskedLM folder (config.json, weights with cls.predictions.*, WordPiece tokenizer) or RobertaForMaskedLM one (lm_head.*, byte-level BPE tokenizer) |
// | template         | string  | "{text} It was [MASK]."    | {text} once and the tokenizer's mask token once ([MASK] for BERT, <mask> for RoBERTa) |
// | verbalizers      | strings | negative: bad, terrible ...| "label: word, word" for every label; each word one token of the vocabulary (RoBERTa: after a space) |
// | image_tokens     | int     | 2                          | image vectors joining the sequence (0: text only) |
// | trainable_layers | int     | 1                          | top layers that train (1 to all); the MLM head trains too |
// | max_length       | int     | 0                          | ids per templated text (0: 128, or the checkpoint's positions where fewer); the post is cut, never the template |
// | batch_size       | int     | 32                         | posts per forward pass while encoding |
// | threads          | int     | 0                          | intra-op threads while encoding; 0 = the host's |
#include <msa/models/bert.hpp>
#include <msa/models/checkpoint.hpp>
#include <msa/models/encoder_support.hpp> // masked_mean
#include <msa/models/tokenizer.hpp>
#include <msa/plugin.hpp>
#include <msa/prompt.hpp>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <map>

namespace {

using namespace msa::models;

const char* const hint = "one you already have, e.g. bert-base-uncased or roberta-base (none of the models "
                         "scripts/fetch-models provides has an MLM head)";

std::string join(const std::vector<std::string>& parts, const std::string& separator = ", ") {
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : separator) + p;
    return out;
}

std::string trim(const std::string& s) {
    const auto begin = s.find_first_not_of(" \t");
    if (begin == std::string::npos) return {};
    return s.substr(begin, s.find_last_not_of(" \t") - begin + 1);
}

// A special token the checkpoint's tokenizer was saved with (tokenizer_config.json or
// special_tokens_map.json; key "mask_token", "unk_token"), `fallback` when neither says.
std::string special_token_of(const std::filesystem::path& folder, const char* key, const std::string& fallback) {
    for (const char* name : {"tokenizer_config.json", "special_tokens_map.json"}) {
        std::ifstream in(folder / name);
        if (!in) continue;
        const auto json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
        if (!json.is_object() || !json.contains(key)) continue;
        const auto& token = json[key];
        if (token.is_string()) return token.get<std::string>();
        if (token.is_object() && token.value("content", nlohmann::json()).is_string())
            return token["content"].get<std::string>();
    }
    return fallback;
}

// How the checkpoint's text is tokenized: BERT's WordPiece or RoBERTa's byte-level BPE.
struct TokenizerKind {
    std::string kind;        // load_tokenizer's: "wordpiece" or "byte-bpe"
    std::string word_prefix; // before a label word: a byte-level BPE's word keeps the space before it
    std::string mask, unk;   // the defaults of the family's tokenizer
};

// From config.json's model_type. XLM-R's tokenizer is SentencePiece, which msa does not
// read; an xlm-roberta folder is taken only with a byte-level BPE tokenizer beside it.
TokenizerKind tokenizer_kind_of(const Checkpoint& checkpoint) {
    const TokenizerKind wordpiece{"wordpiece", "", "[MASK]", "[UNK]"}, byte_bpe{"byte-bpe", " ", "<mask>", "<unk>"};
    const std::string type = checkpoint.config.value("model_type", "");
    if (type == "roberta") return byte_bpe;
    if (type != "xlm-roberta") return wordpiece; // bert; masked_lm_from_checkpoint refused the rest
    const auto json_file = checkpoint.folder / "tokenizer.json";
    std::string found = "no tokenizer.json";
    if (std::filesystem::exists(json_file)) {
        std::ifstream in(json_file);
        const auto json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
        const auto part = [&](const char* key) {
            const auto& j = json.is_object() ? json.value(key, nlohmann::json()) : nlohmann::json();
            return j.is_object() ? j.value("type", std::string("(none)")) : std::string("(none)");
        };
        if (part("model") == "BPE" && part("pre_tokenizer") == "ByteLevel") return byte_bpe;
        found = "a tokenizer.json of model " + part("model") + " and pre_tokenizer " + part("pre_tokenizer");
    } else if (std::filesystem::exists(checkpoint.folder / "vocab.json") &&
               std::filesystem::exists(checkpoint.folder / "merges.txt")) {
        return byte_bpe;
    } else if (std::filesystem::exists(checkpoint.folder / "sentencepiece.bpe.model")) {
        found = "sentencepiece.bpe.model";
    }
    throw CheckpointError(checkpoint.folder.string() + ": model_type 'xlm-roberta' with " + found +
                          ": XLM-R's SentencePiece tokenizer is not supported; accepted: model_type bert with a "
                          "WordPiece tokenizer, roberta (or xlm-roberta) with a byte-level BPE one (tokenizer.json "
                          "of model BPE and pre_tokenizer ByteLevel, or vocab.json + merges.txt)");
}

// A tokenizer's ids of a piece of text without the special tokens it puts around every text.
class Pieces {
public:
    explicit Pieces(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {
        const auto empty = tokenizer.encode("", 0);
        if (empty.size() != 2)
            throw msa::Error("mlm-prompt: the tokenizer puts " + std::to_string(empty.size()) +
                             " special tokens around a text; it works with one before and one after ([CLS] ... [SEP], "
                             "<s> ... </s>)");
        cls_ = empty.front();
        sep_ = empty.back();
    }
    std::vector<std::int64_t> operator()(const std::string& text) const {
        auto ids = tokenizer_.encode(text, 0);
        return {ids.begin() + 1, ids.end() - 1};
    }
    std::int64_t cls() const { return cls_; }
    std::int64_t sep() const { return sep_; }

private:
    const Tokenizer& tokenizer_;
    std::int64_t cls_ = 0, sep_ = 0;
};

// The template as ids around the post: [CLS] before {text} after [SEP], and where the mask is.
// The three parts are tokenized apart (the post is cut to fit, never the template), which
// gives the ids of the whole where the parts meet at a word boundary: a space between
// {text} and the template's words.
struct PromptTemplate {
    std::vector<std::int64_t> before, after;
    bool mask_after = true;     // the mask is in `after` (else in `before`)
    std::int64_t mask_index = 0; // its index there
    // Put before each post: a byte-level BPE's word takes the space before it ("Review:
    // {text}" reads "Review:" then " What ..."), so the template's last space goes with the post.
    std::string post_prefix;

    static PromptTemplate read(const std::string& text, const std::string& mask_token, const Pieces& pieces,
                               bool space_starts_word, const msa::Properties& props) {
        const std::string where = props.where("template");
        const auto count = [&](const std::string& what) {
            std::size_t n = 0;
            for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
            return n;
        };
        const std::string accepted = "accepted: a template with {text} once and the checkpoint's mask token " +
                                     mask_token + " once, e.g. \"{text} It was " + mask_token + ".\"";
        if (count("{text}") != 1)
            throw msa::ConfigError(where, "mlm-prompt: template \"" + text + "\" has {text} " +
                                              std::to_string(count("{text}")) + " times; " + accepted);
        if (count(mask_token) != 1)
            throw msa::ConfigError(where, "mlm-prompt: template \"" + text + "\" has the mask token " + mask_token + " " +
                                              std::to_string(count(mask_token)) + " times; " + accepted);
        const auto mask = pieces(mask_token);
        if (mask.size() != 1)
            throw msa::ConfigError(where, "mlm-prompt: the mask token " + mask_token +
                                              " is not one token of this checkpoint's vocabulary");
        const auto cut = text.find("{text}");
        PromptTemplate t;
        std::string before = text.substr(0, cut);
        if (space_starts_word && !before.empty() && before.back() == ' ') {
            before.pop_back();
            t.post_prefix = " ";
        }
        t.before = pieces(before);
        t.after = pieces(text.substr(cut + 6));
        for (auto* part : {&t.before, &t.after}) {
            const auto at = std::find(part->begin(), part->end(), mask.front());
            if (at == part->end()) continue;
            t.mask_after = part == &t.after;
            t.mask_index = at - part->begin();
        }
        return t;
    }
    std::int64_t fixed_ids() const { return static_cast<std::int64_t>(before.size() + after.size()) + 2; }
};

// "label: word, word" for every label -> each label's token ids. A word is tokenized as
// `word_prefix` + word: a byte-level BPE's token for "good" after a space is "Ġgood".
std::vector<std::vector<std::int64_t>> read_verbalizers(const std::vector<std::string>& entries,
                                                        const std::vector<std::string>& labels, const Pieces& pieces,
                                                        const TokenizerKind& kind, const msa::Properties& props) {
    const auto unk = pieces(kind.unk);
    const std::int64_t unk_id = unk.size() == 1 ? unk.front() : -1;
    const std::string where = props.where("verbalizers");
    std::map<std::string, std::vector<std::int64_t>> by_label;
    for (const auto& entry : entries) {
        const auto colon = entry.find(':');
        const std::string label = trim(entry.substr(0, colon == std::string::npos ? 0 : colon));
        if (colon == std::string::npos || label.empty())
            throw msa::ConfigError(where, "mlm-prompt: verbalizer \"" + entry + "\" is not \"label: word, word\"");
        if (std::find(labels.begin(), labels.end(), label) == labels.end())
            throw msa::ConfigError(where, "mlm-prompt: verbalizer \"" + entry + "\" names '" + label +
                                              "', which is not a label of this study; labels: " + join(labels));
        auto& ids = by_label[label];
        std::string rest = entry.substr(colon + 1);
        for (std::size_t begin = 0; begin <= rest.size();) {
            const auto end = std::min(rest.find(',', begin), rest.size());
            const std::string word = trim(rest.substr(begin, end - begin));
            begin = end + 1;
            if (word.empty()) continue;
            const auto word_ids = pieces(kind.word_prefix + word);
            const std::string as = kind.word_prefix.empty() ? "" : " (as \"" + kind.word_prefix + word + "\", after a space)";
            if (word_ids.size() != 1 || word_ids.front() == unk_id)
                throw msa::ConfigError(where, "mlm-prompt: verbalizer word '" + word + "' of label '" + label + "' is " +
                                                  (word_ids.size() == 1 ? "not in the vocabulary (" + kind.unk + ")"
                                                                        : std::to_string(word_ids.size()) + " tokens") +
                                                  " of this checkpoint" + as + "; accepted: words that are one token " +
                                                  "of its vocabulary (multi-token words are not supported)");
            if (std::find(ids.begin(), ids.end(), word_ids.front()) == ids.end()) ids.push_back(word_ids.front());
        }
        if (ids.empty()) throw msa::ConfigError(where, "mlm-prompt: verbalizer \"" + entry + "\" lists no word");
    }
    std::vector<std::vector<std::int64_t>> out;
    std::vector<std::string> missing;
    for (const auto& label : labels) {
        if (!by_label.count(label)) missing.push_back(label);
        out.push_back(by_label[label]);
    }
    if (!missing.empty())
        throw msa::ConfigError(where, "mlm-prompt: no verbalizer words for " + join(missing) +
                                          "; every label needs \"label: word, ...\"");
    return out;
}

// What the prompt model and its text encoder share: the checkpoint, tokenizer and template.
struct Shared {
    explicit Shared(BertMaskedLm loaded) : mlm(std::move(loaded)) {}
    BertMaskedLm mlm;
    std::shared_ptr<Tokenizer> tokenizer;
    PromptTemplate prompt;
    std::int64_t max_length = 128;
    std::int64_t frozen_layers = 0; // the text encoder runs layers [0, frozen_layers)
    Pieces pieces() const { return Pieces(*tokenizer); }
};

// The fixed part: templated ids through the frozen layers, as tokens and mask.
class TemplateEncoder final : public msa::Encoder {
public:
    TemplateEncoder(std::shared_ptr<Shared> shared, std::string cache_key, std::int64_t batch_size, std::int64_t threads)
        : shared_(std::move(shared)), cache_key_(std::move(cache_key)), batch_size_(batch_size), threads_(threads) {}
    msa::Modality modality() const override { return msa::Modality::text; }
    std::int64_t dim() const override { return shared_->mlm.model->config().hidden_size; }
    std::string cache_key() const override { return cache_key_; }
    std::int64_t batch_size() const override { return batch_size_; }
    std::int64_t threads() const override { return threads_; }

    msa::Features encode(const msa::EncoderBatch& batch) override {
        torch::NoGradGuard no_grad;
        const Pieces pieces = shared_->pieces();
        const auto& t = shared_->prompt;
        const std::int64_t budget = shared_->max_length - t.fixed_ids();
        std::vector<std::vector<std::int64_t>> rows;
        std::size_t longest = 0;
        for (const auto* sample : batch.samples) {
            auto post = pieces(t.post_prefix + sample->text);
            if (static_cast<std::int64_t>(post.size()) > budget) post.resize(static_cast<std::size_t>(budget));
            std::vector<std::int64_t> ids{pieces.cls()};
            ids.insert(ids.end(), t.before.begin(), t.before.end());
            ids.insert(ids.end(), post.begin(), post.end());
            ids.insert(ids.end(), t.after.begin(), t.after.end());
            ids.push_back(pieces.sep());
            longest = std::max(longest, ids.size());
            rows.push_back(std::move(ids));
        }
        const auto n = static_cast<std::int64_t>(rows.size());
        auto ids = torch::full({n, static_cast<std::int64_t>(longest)}, shared_->tokenizer->pad_id(), torch::kLong);
        auto mask = torch::zeros({n, static_cast<std::int64_t>(longest)}, torch::kLong);
        for (std::int64_t i = 0; i < n; ++i) {
            const auto& row = rows[static_cast<std::size_t>(i)];
            const auto len = static_cast<std::int64_t>(row.size());
            ids[i].narrow(0, 0, len).copy_(torch::tensor(row, torch::kLong));
            mask[i].narrow(0, 0, len).fill_(1);
        }
        auto& model = shared_->mlm.model;
        const at::Tensor hidden = model->run_layers(model->embed(ids), mask, 0, shared_->frozen_layers);
        return {masked_mean(hidden, mask), hidden, mask};
    }

private:
    std::shared_ptr<Shared> shared_;
    std::string cache_key_;
    std::int64_t batch_size_, threads_;
};

class MlmPrompt final : public msa::PromptModel {
public:
    MlmPrompt(std::shared_ptr<Shared> shared, std::vector<std::vector<std::int64_t>> verbalizers,
              std::int64_t image_tokens, const msa::PromptContext& context, std::shared_ptr<msa::Encoder> encoder)
        : shared_(std::move(shared)), encoder_(std::move(encoder)), image_tokens_(image_tokens) {
        auto& model = shared_->mlm.model;
        const std::int64_t width = model->config().hidden_size;
        for (auto i = shared_->frozen_layers; i < model->num_layers(); ++i)
            top_->push_back(model->layer(i));
        register_module("top", top_);
        register_module("head", shared_->mlm.head);
        // Class logit = the mean of its words' logits: a [words, classes] averaging matrix.
        std::vector<std::int64_t> words;
        for (const auto& ids : verbalizers) words.insert(words.end(), ids.begin(), ids.end());
        at::Tensor average =
            torch::zeros({static_cast<std::int64_t>(words.size()), static_cast<std::int64_t>(verbalizers.size())});
        std::int64_t row = 0;
        for (std::size_t c = 0; c < verbalizers.size(); ++c)
            for (std::size_t w = 0; w < verbalizers[c].size(); ++w)
                average[row++][static_cast<std::int64_t>(c)] = 1.0 / static_cast<double>(verbalizers[c].size());
        words_ = register_buffer("words", torch::tensor(words, torch::kLong));
        average_ = register_buffer("average", average);
        if (context.image_dim > 0 && image_tokens_ > 0)
            image_map_ = register_module("image_map", torch::nn::Linear(context.image_dim, image_tokens_ * width));
        else
            image_tokens_ = 0;
    }

    std::shared_ptr<msa::Encoder> text_encoder() override { return encoder_; }

    at::Tensor forward(const msa::Features& text, const msa::Features& image) override {
        at::Tensor hidden = text.tokens.to(torch::kFloat);
        at::Tensor mask = text.mask;
        const std::int64_t n = hidden.size(0);
        const auto& t = shared_->prompt;
        // Where the mask is: a fixed offset from [CLS] when the template puts it before the
        // post, else from the row's last real token.
        const at::Tensor lengths = mask.ne(0).sum(1);
        at::Tensor position = t.mask_after ? lengths - 1 - static_cast<std::int64_t>(t.after.size()) + t.mask_index
                                           : torch::full({n}, 1 + t.mask_index, lengths.options());
        if (image_tokens_ > 0) {
            const at::Tensor mapped = image_map_->forward(image.pooled.to(torch::kFloat)).view({n, image_tokens_, -1});
            hidden = torch::cat({hidden.narrow(1, 0, 1), mapped, hidden.narrow(1, 1, hidden.size(1) - 1)}, 1);
            mask = torch::cat({mask.narrow(1, 0, 1), torch::ones({n, image_tokens_}, mask.options()),
                               mask.narrow(1, 1, mask.size(1) - 1)},
                              1);
            position = position + image_tokens_;
        }
        auto& model = shared_->mlm.model;
        hidden = model->run_layers(hidden, mask, shared_->frozen_layers, model->num_layers());
        const at::Tensor at_mask = hidden.index({torch::arange(n, position.options()), position});
        return shared_->mlm.head->logits_for(at_mask, words_).matmul(average_);
    }

    std::vector<at::Tensor> pretrained_parameters() override {
        std::vector<at::Tensor> out = top_->parameters();
        for (auto& p : shared_->mlm.head->parameters()) out.push_back(p);
        return out;
    }

private:
    std::shared_ptr<Shared> shared_;
    std::shared_ptr<msa::Encoder> encoder_;
    std::int64_t image_tokens_;
    torch::nn::ModuleList top_;
    torch::nn::Linear image_map_{nullptr};
    at::Tensor words_, average_;
};

// The checkpoint folder, opened; a missing one is an error that says where models come from.
Checkpoint open_checkpoint(const msa::Properties& props) {
    const std::string folder = props.get_string("checkpoint");
    if (!std::filesystem::is_directory(folder))
        throw msa::ConfigError(props.where("checkpoint"),
                               "mlm-prompt: checkpoint folder '" + folder + "' does not exist. Point `checkpoint` at a " +
                                   "BertForMaskedLM folder, " + hint + "; models are never downloaded at run time");
    try {
        return load_checkpoint(folder);
    } catch (const CheckpointError& e) {
        throw msa::ConfigError(props.where("checkpoint"), std::string("mlm-prompt: ") + e.what());
    }
}

std::shared_ptr<msa::PromptModel> make_prompt(const msa::Properties& props, const msa::PromptContext& context) {
    const Checkpoint checkpoint = open_checkpoint(props);
    std::shared_ptr<Shared> shared;
    TokenizerKind kind;
    try {
        shared = std::make_shared<Shared>(masked_lm_from_checkpoint(checkpoint));
        kind = tokenizer_kind_of(checkpoint);
        shared->tokenizer = load_tokenizer(checkpoint.folder, kind.kind);
    } catch (const CheckpointError& e) {
        throw msa::ConfigError(props.where("checkpoint"),
                               std::string("mlm-prompt: ") + e.what() +
                                   " (mlm-prompt reads BertForMaskedLM checkpoints with a WordPiece tokenizer and "
                                   "RobertaForMaskedLM ones with a byte-level BPE tokenizer)");
    }
    auto& model = shared->mlm.model;
    model->eval();
    shared->mlm.head->eval();
    const std::int64_t layers = model->num_layers();
    const std::int64_t trainable = props.get_int("trainable_layers");
    if (trainable < 1 || trainable > layers)
        throw msa::ConfigError(props.where("trainable_layers"),
                               "mlm-prompt: trainable_layers = " + std::to_string(trainable) + ", but the checkpoint has " +
                                   std::to_string(layers) + " layers; accepted: 1 to " + std::to_string(layers) +
                                   " (the image tokens join where the trainable layers begin)");
    shared->frozen_layers = layers - trainable;
    const std::int64_t positions = model->config().max_tokens();
    shared->max_length = props.get_int("max_length") ? props.get_int("max_length") : std::min<std::int64_t>(128, positions);
    if (shared->max_length > positions)
        throw msa::ConfigError(props.where("max_length"),
                               "mlm-prompt: max_length = " + std::to_string(shared->max_length) +
                                   " but the checkpoint's position embeddings fit " +
                                   std::to_string(positions) + " tokens; accepted: 0 (the default) or 4 to " +
                                   std::to_string(positions));
    const std::string text = props.get_string("template");
    const Pieces pieces = shared->pieces();
    shared->prompt = PromptTemplate::read(text, special_token_of(checkpoint.folder, "mask_token", kind.mask), pieces,
                                          /*space_starts_word=*/!kind.word_prefix.empty(), props);
    if (shared->prompt.fixed_ids() >= shared->max_length)
        throw msa::ConfigError(props.where("max_length"),
                               "mlm-prompt: max_length = " + std::to_string(shared->max_length) + " leaves no room for " +
                                   "the post: the template takes " + std::to_string(shared->prompt.fixed_ids()) +
                                   " ids with [CLS] and [SEP]");
    kind.unk = special_token_of(checkpoint.folder, "unk_token", kind.unk);
    const auto verbalizers = read_verbalizers(props.get_strings("verbalizers"), context.class_names, pieces, kind, props);
    const std::string cache_key = checkpoint.digest + ";template=" + text +
                                  ";max_length=" + std::to_string(shared->max_length) +
                                  ";frozen_layers=" + std::to_string(shared->frozen_layers) + ";" +
                                  shared->tokenizer->cache_key();
    auto encoder = std::make_shared<TemplateEncoder>(shared, cache_key, props.get_int("batch_size"),
                                                     props.get_int("threads"));
    return std::make_shared<MlmPrompt>(shared, verbalizers, props.get_int("image_tokens"), context, encoder);
}

void register_plugins(msa::Registry& registry) {
    std::vector<msa::ParamSpec> params{
        msa::ParamSpec::path("checkpoint", "", std::string("BertForMaskedLM model folder (config.json, weights with "
                                                           "the MLM head, a WordPiece tokenizer) or RobertaForMaskedLM "
                                                           "one (a byte-level BPE tokenizer; not XLM-R's "
                                                           "SentencePiece): ") + hint)
            .required()
            .model_folder(),
        msa::ParamSpec::string("template", "{text} It was [MASK].",
                               "The text the model reads: {text} (the post) once and the tokenizer's mask token once "
                               "(`[MASK]` for BERT, `<mask>` for RoBERTa)"),
        msa::ParamSpec::strings("verbalizers",
                                {"negative: bad, terrible", "neutral: okay, fine", "positive: good, great"},
                                "\"label: word, word\" for every label: the words whose logits at the mask, averaged, "
                                "are the label's; each one token of the vocabulary (for RoBERTa, with the space before it: "
                                "\" good\" is one token)"),
        msa::ParamSpec::integer("image_tokens", 2,
                                "Image vectors (the pooled image features through a trained linear map) joining the "
                                "sequence after [CLS]; 0 = text only")
            .range(0, 64),
        msa::ParamSpec::integer("trainable_layers", 1,
                                "Top layers that train with the MLM head (1 to all); the rest are frozen and their "
                                "output is kept in the feature store")
            .at_least(1),
        msa::ParamSpec::integer("max_length", 0, "Ids per templated text with [CLS] and [SEP] (0: 128, or the "
                                                 "checkpoint's positions where fewer); the post is cut, never the template")
            .at_least(0),
        msa::ParamSpec::integer("batch_size", 32, "Posts per forward pass while encoding").range(1, 4096),
        msa::ParamSpec::integer("threads", 0, "Intra-op threads while encoding; 0 = the host's").range(0, 1024),
    };
    registry.add_prompt({"mlm-prompt",
                         "Prompt-based classifier: a BERT or RoBERTa masked LM scores label words at the mask of "
                         "a template, the image as tokens",
                         params},
                        make_prompt);
}

} // namespace

MSA_PLUGIN(register_plugins)

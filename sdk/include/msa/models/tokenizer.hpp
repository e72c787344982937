// Tokenizers of the text encoders, in C++ and matching Hugging Face's fast tokenizers id
// for id: BERT's WordPiece (BertNormalizer + BertPreTokenizer + WordPiece; also MPNet's,
// with RoBERTa's special tokens), CLIP's byte-level BPE and GPT-2's / RoBERTa's byte-level
// BPE. Read from a model folder (vocab.txt, vocab.json + merges.txt, or tokenizer.json).
#pragma once

#include <msa/models/export.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace msa::models {

class MSA_MODELS_API Tokenizer {
public:
    virtual ~Tokenizer() = default;
    // Token ids of one UTF-8 text with the special tokens ([CLS] ... [SEP], <s> ... </s>, or
    // <|startoftext|> ... <|endoftext|>), the content truncated so that the whole is at
    // most max_length ids (0: no truncation).
    virtual std::vector<std::int64_t> encode(const std::string& text, std::int64_t max_length) const = 0;
    // The id that pads a batch.
    virtual std::int64_t pad_id() const = 0;
    virtual std::int64_t vocab_size() const = 0;
    // What changes the ids (vocabulary digest, normalisation flags), for cache keys.
    virtual std::string cache_key() const = 0;
};

// A token of the vocabulary that is found in the text as it is written, before the
// normalizer and the model see it (tokenizer.json "added_tokens"): "[MASK]" or "[SEP]" in a
// BERT text, "<|endoftext|>" in a CLIP text. As in Hugging Face's tokenizers: the leftmost,
// then longest, match wins; `normalized` tokens are found in the normalized text instead (their
// content normalized too); `single_word` ones only between non-word characters; `lstrip` and
// `rstrip` swallow the whitespace before or after. `special` does not change the ids.
struct AddedToken {
    std::string content;
    std::int64_t id = 0;
    bool special = true;
    bool normalized = false;
    bool lstrip = false;
    bool rstrip = false;
    bool single_word = false;
};

// BERT's tokenizer: clean text, CJK characters split, optional lower-casing and accent
// stripping (NFD, drop non-spacing marks), whitespace and punctuation splitting, then
// greedy longest-match WordPiece with "##" continuations.
struct WordPieceOptions {
    bool clean_text = true;
    bool handle_chinese_chars = true;
    bool lowercase = true;
    int strip_accents = -1; // -1: as lowercase, 0: no, 1: yes
    std::int64_t max_input_chars_per_word = 100;
    std::string unk_token = "[UNK]";
    std::string cls_token = "[CLS]";
    std::string sep_token = "[SEP]";
    std::string pad_token = "[PAD]";
    std::string mask_token = "[MASK]";
    std::string continuing_subword_prefix = "##";
    // Unset: what transformers registers for a vocab.txt, the five tokens above that the
    // vocabulary holds, special and not normalized.
    std::optional<std::vector<AddedToken>> added_tokens;
};

class MSA_MODELS_API WordPieceTokenizer final : public Tokenizer {
public:
    WordPieceTokenizer(std::unordered_map<std::string, std::int64_t> vocab, WordPieceOptions options,
                       std::string source);
    // vocab.txt: one token per line, the id is the line number.
    static std::unique_ptr<WordPieceTokenizer> from_vocab_txt(const std::filesystem::path& file,
                                                              WordPieceOptions options);
    // A tokenizer.json whose model is WordPiece: its normalizer's flags, its post-processor's
    // tokens around the text (TemplateProcessing "[CLS] $A [SEP]", BertProcessing, or
    // RobertaProcessing as MPNet's "<s> $A </s>") and its padding token are used; the
    // padding token of a tokenizer_config.json beside it comes first, as in transformers.
    static std::unique_ptr<WordPieceTokenizer> from_tokenizer_json(const std::filesystem::path& file);

    std::vector<std::int64_t> encode(const std::string& text, std::int64_t max_length) const override;
    std::int64_t pad_id() const override { return pad_id_; }
    std::int64_t vocab_size() const override { return static_cast<std::int64_t>(vocab_.size()); }
    std::string cache_key() const override { return cache_key_; }
    // The word pieces of a text, without special tokens (for tests and debugging).
    std::vector<std::string> tokenize(const std::string& text) const;

private:
    std::vector<std::pair<std::string, std::int64_t>> pieces(const std::string& text) const;
    void word_pieces(std::vector<std::int32_t> normalized, std::vector<std::pair<std::string, std::int64_t>>& out) const;
    std::vector<std::int32_t> normalize_text(const std::string& text) const;
    std::unordered_map<std::string, std::int64_t> vocab_;
    WordPieceOptions options_;
    std::vector<AddedToken> added_, added_normalized_; // normalized_: content normalized
    std::int64_t unk_id_, cls_id_, sep_id_, pad_id_;
    std::string cache_key_;
};

// CLIP's tokenizer as CLIPTokenizerFast: NFC, whitespace runs to one space, lower-case,
// CLIP's pre-tokenising pattern, bytes mapped to characters, BPE with "</w>" ending a word.
class MSA_MODELS_API ClipBpeTokenizer final : public Tokenizer {
public:
    // added_tokens unset: what transformers registers for vocab.json + merges.txt,
    // <|startoftext|> and <|endoftext|>, special and not normalized.
    ClipBpeTokenizer(std::unordered_map<std::string, std::int64_t> vocab,
                     std::vector<std::pair<std::string, std::string>> merges, std::string source,
                     std::optional<std::vector<AddedToken>> added_tokens = std::nullopt);
    static std::unique_ptr<ClipBpeTokenizer> from_files(const std::filesystem::path& vocab_json,
                                                        const std::filesystem::path& merges_txt,
                                                        std::optional<std::vector<AddedToken>> added_tokens = std::nullopt);
    // A tokenizer.json whose model is BPE.
    static std::unique_ptr<ClipBpeTokenizer> from_tokenizer_json(const std::filesystem::path& file);

    std::vector<std::int64_t> encode(const std::string& text, std::int64_t max_length) const override;
    std::int64_t pad_id() const override { return eos_id_; }
    std::int64_t vocab_size() const override { return static_cast<std::int64_t>(vocab_.size()); }
    std::string cache_key() const override { return cache_key_; }
    std::vector<std::string> tokenize(const std::string& text) const;

private:
    std::vector<std::string> bpe(const std::string& word) const;
    std::vector<std::int32_t> normalize_text(const std::string& text) const;
    void bpe_pieces(const std::vector<std::int32_t>& normalized, std::vector<std::pair<std::string, std::int64_t>>& out) const;
    std::vector<std::pair<std::string, std::int64_t>> pieces(const std::string& text) const;
    std::vector<AddedToken> added_, added_normalized_;
    std::unordered_map<std::string, std::int64_t> vocab_;
    std::unordered_map<std::string, std::int64_t> merge_ranks_; // "left right" -> rank
    std::int64_t bos_id_, eos_id_;
    std::string cache_key_;
};

// RoBERTa's tokenizer as RobertaTokenizerFast (also GPT-2's vocabulary and merges): no
// normalizer, GPT-2's pattern splits the text into words that keep the space before them,
// each word's UTF-8 bytes mapped to characters as GPT-2 does, BPE merges (no end-of-word
// mark), then <s> ... </s>. RoBERTa's <mask> is an added token with lstrip: "was <mask>"
// is "was" and the mask, the space taken by the mask.
struct ByteLevelBpeOptions {
    // A space before each piece of text that does not start with one (between added tokens
    // too), so that a first word is split as it would be after a space.
    bool add_prefix_space = false;
    bool use_regex = true; // false: each piece of text is one word (GPT-2's pattern unused)
    std::string bos_token = "<s>"; // before the text (RobertaProcessing's cls)
    std::string eos_token = "</s>"; // after it (RobertaProcessing's sep)
    std::string pad_token = "<pad>";
    // Unset (RoBERTa): a byte the vocabulary lacks is dropped, as tokenizers does.
    std::optional<std::string> unk_token;
    bool fuse_unk = false;      // consecutive unknown bytes give one unk_token
    bool ignore_merges = false; // a word the vocabulary holds whole is that token, unmerged
    // Unset: what transformers 5 registers for vocab.json + merges.txt, the five tokens
    // <s>, <pad>, </s>, <unk>, <mask> that the vocabulary holds, special, without flags
    // (so <mask> without lstrip; roberta-base's tokenizer.json gives it lstrip).
    std::optional<std::vector<AddedToken>> added_tokens;
};

class MSA_MODELS_API ByteLevelBpeTokenizer final : public Tokenizer {
public:
    // An error names `source` and what is wrong: a merge whose parts or result the
    // vocabulary lacks, a special token it lacks.
    ByteLevelBpeTokenizer(std::unordered_map<std::string, std::int64_t> vocab,
                          std::vector<std::pair<std::string, std::string>> merges, ByteLevelBpeOptions options,
                          std::string source);
    static std::unique_ptr<ByteLevelBpeTokenizer> from_files(const std::filesystem::path& vocab_json,
                                                             const std::filesystem::path& merges_txt,
                                                             ByteLevelBpeOptions options);
    // A tokenizer.json whose model is BPE and whose pre-tokenizer is ByteLevel; its
    // post-processor (RobertaProcessing, BertProcessing, TemplateProcessing) gives the tokens
    // around the text. The add_prefix_space and pad_token of a tokenizer_config.json beside
    // it come first, as in transformers.
    static std::unique_ptr<ByteLevelBpeTokenizer> from_tokenizer_json(const std::filesystem::path& file);

    std::vector<std::int64_t> encode(const std::string& text, std::int64_t max_length) const override;
    std::int64_t pad_id() const override { return pad_id_; }
    std::int64_t vocab_size() const override { return static_cast<std::int64_t>(vocab_.size()); }
    std::string cache_key() const override { return cache_key_; }
    // The tokens of a text (byte symbols, "Ġ" for a space), without <s> and </s>.
    std::vector<std::string> tokenize(const std::string& text) const;

private:
    void bpe_pieces(const std::string& text, std::vector<std::pair<std::string, std::int64_t>>& out) const;
    std::vector<std::pair<std::string, std::int64_t>> pieces(const std::string& text) const;
    std::unordered_map<std::string, std::int64_t> vocab_;
    std::unordered_map<std::string, std::int64_t> merge_ranks_; // "left right" -> rank
    ByteLevelBpeOptions options_;
    std::vector<AddedToken> added_, added_normalized_; // no normalizer: both found as written, in two passes
    std::int64_t bos_id_, eos_id_, pad_id_, unk_id_ = -1;
    std::string cache_key_;
};

// The tokenizer of a model folder: `kind` is "wordpiece", "clip-bpe" or "byte-bpe" (GPT-2,
// RoBERTa). tokenizer.json is preferred; else vocab.txt (WordPiece, flags, special tokens
// and "added_tokens_decoder" from tokenizer_config.json) or vocab.json + merges.txt (BPE;
// "added_tokens_decoder" too, and for byte-bpe the special tokens and add_prefix_space).
// An error names the folder and what was looked for.
MSA_MODELS_API std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& folder,
                                                         const std::string& kind);

// A padded batch: ids [N, T] int64 (pad_id beyond each text), mask [N, T] int64 (1 = token),
// T the longest text's length.
struct TokenBatch {
    at::Tensor ids;
    at::Tensor mask;
};
MSA_MODELS_API TokenBatch tokenize_batch(const Tokenizer& tokenizer, const std::vector<std::string>& texts,
                                         std::int64_t max_length);

} // namespace msa::models

// BERT WordPiece, CLIP byte-level BPE and GPT-2's / RoBERTa's byte-level BPE, written to
// give the ids of Hugging Face's fast tokenizers (the Rust `tokenizers` crate): the Unicode
// rules below are that crate's.
#include <msa/models/checkpoint.hpp>
#include <msa/models/tokenizer.hpp>

#include <nlohmann/json.hpp>
#include <msa/media/digest.hpp>
#include <utf8proc.h>

#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>
#include <tuple>

namespace msa::models {

namespace {

// The ids of a text's pieces between the tokens every text starts and ends with, the
// pieces cut so that the whole is at most max_length ids (0: no cut).
std::vector<std::int64_t> framed(const std::vector<std::pair<std::string, std::int64_t>>& pieces, std::int64_t first,
                                 std::int64_t last, std::int64_t max_length) {
    std::size_t keep = pieces.size();
    if (max_length > 0) keep = std::min<std::size_t>(keep, static_cast<std::size_t>(std::max<std::int64_t>(0, max_length - 2)));
    std::vector<std::int64_t> ids{first};
    for (std::size_t i = 0; i < keep; ++i) ids.push_back(pieces[i].second);
    ids.push_back(last);
    return ids;
}

// The pieces' texts, for tokenize().
std::vector<std::string> texts_of(std::vector<std::pair<std::string, std::int64_t>> pieces) {
    std::vector<std::string> out;
    for (auto& [piece, id] : pieces) out.push_back(std::move(piece));
    return out;
}

namespace fs = std::filesystem;

// ---- Unicode -----------------------------------------------------------------------

// UTF-8 to code points; an invalid byte becomes U+FFFD, as a lossy decoder would.
std::vector<std::int32_t> code_points(const std::string& text) {
    std::vector<std::int32_t> out;
    out.reserve(text.size());
    const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
    utf8proc_ssize_t at = 0;
    const auto size = static_cast<utf8proc_ssize_t>(text.size());
    while (at < size) {
        utf8proc_int32_t cp = 0;
        const utf8proc_ssize_t n = utf8proc_iterate(bytes + at, size - at, &cp);
        if (n <= 0) {
            out.push_back(0xFFFD);
            ++at;
        } else {
            out.push_back(cp);
            at += n;
        }
    }
    return out;
}

void append_utf8(std::string& out, std::int32_t cp) {
    utf8proc_uint8_t buffer[4];
    const auto n = utf8proc_encode_char(cp, buffer);
    out.append(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(n));
}

std::string utf8(const std::vector<std::int32_t>& cps, std::size_t begin = 0,
                 std::size_t end = std::numeric_limits<std::size_t>::max()) {
    std::string out;
    end = std::min(end, cps.size());
    for (std::size_t i = begin; i < end; ++i) append_utf8(out, cps[i]);
    return out;
}

// One of utf8proc's normalisation forms over a whole string.
std::string normalize(const std::string& text, int options) {
    utf8proc_uint8_t* result = nullptr;
    const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                static_cast<utf8proc_ssize_t>(text.size()), &result,
                                static_cast<utf8proc_option_t>(options | UTF8PROC_STABLE));
    if (n < 0) return text; // only for invalid UTF-8, which code_points() already replaced
    std::string out(reinterpret_cast<const char*>(result), static_cast<std::size_t>(n));
    std::free(result);
    return out;
}

// The tokenizers crate's own Unicode data, measured per code point (see the script that
// writes it): its crates are of different Unicode versions, none of them utf8proc's.
struct CodePointRange {
    std::int32_t first, last;
};
struct CodePointPair {
    std::int32_t from, to;
};
#include "tokenizer_unicode_tables.inc"

template <std::size_t N> bool in_ranges(const CodePointRange (&ranges)[N], std::int32_t cp) {
    const auto it = std::upper_bound(std::begin(ranges), std::end(ranges), cp,
                                     [](std::int32_t value, const CodePointRange& r) { return value < r.first; });
    return it != std::begin(ranges) && cp <= std::prev(it)->last;
}

// Rust's char::is_whitespace: the Unicode White_Space property (also what CLIP's \s matches).
bool is_white_space(std::int32_t cp) {
    return (cp >= 0x9 && cp <= 0xD) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

// tokenizers' BertNormalizer: tab, newline and carriage return count as whitespace, not
// control; control is unicode_categories' is_other (Cc, Cf, Co of its old Unicode
// version: unassigned code points (Cn) stay, and become [UNK]).
bool is_bert_whitespace(std::int32_t cp) { return cp == '\t' || cp == '\n' || cp == '\r' || is_white_space(cp); }
bool is_bert_control(std::int32_t cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') return false;
    return in_ranges(bert_control_ranges, cp);
}

// BERT's _is_chinese_char as tokenizers has it: its fifth range starts at 0x2B920, not at
// the 0x2B820 of Google's BERT (U+2B820..U+2B91F are not split apart).
bool is_chinese_char(std::int32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
           (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool is_punctuation(std::int32_t cp) { return in_ranges(bert_punctuation_ranges, cp); }
bool is_nonspacing_mark(std::int32_t cp) { return in_ranges(nonspacing_mark_ranges, cp); }
bool is_letter(std::int32_t cp) { return in_ranges(clip_letter_ranges, cp); }
bool is_number(std::int32_t cp) { return in_ranges(clip_number_ranges, cp); }

// Rust's char::to_lowercase, one character at a time (no final-sigma context); its only
// multi-character result is U+0130 -> "i" + U+0307.
void append_lower(std::vector<std::int32_t>& out, std::int32_t cp) {
    if (cp == 0x130) {
        out.push_back('i');
        out.push_back(0x307);
        return;
    }
    const auto it = std::lower_bound(std::begin(lowercase_pairs), std::end(lowercase_pairs), cp,
                                     [](const CodePointPair& p, std::int32_t value) { return p.from < value; });
    out.push_back(it != std::end(lowercase_pairs) && it->from == cp ? it->to : cp);
}

// utf8proc's canonical decomposition of one character (itself when it has none).
std::vector<std::int32_t> utf8proc_decomposition(std::int32_t cp) {
    utf8proc_int32_t buffer[8];
    int last_boundclass = 0;
    const auto n = utf8proc_decompose_char(cp, buffer, 8, UTF8PROC_DECOMPOSE, &last_boundclass);
    if (n <= 0 || n > 8) return {cp};
    return std::vector<std::int32_t>(buffer, buffer + n);
}

// A character utf8proc decomposes but the tokenizers' older NFD tables do not (U+11938,
// Unicode 13): kept as it is, and never composed from its parts. (decomp_type 0 is a
// canonical decomposition; Hangul syllables, decomposed by rule, are in the table.)
bool keeps_whole(std::int32_t cp) {
    if (cp < 0xC0 || in_ranges(nfd_decomposes_ranges, cp)) return false;
    const auto* property = utf8proc_get_property(cp);
    return property->decomp_seqindex != UINT16_MAX && property->decomp_type == 0;
}

// NFD or NFC (compose) as the tokenizers crate has it: utf8proc's, over the runs between
// characters that crate would not decompose; in NFC a character that crate would not
// compose is decomposed again.
std::vector<std::int32_t> normalize_like_tokenizers(const std::vector<std::int32_t>& cps, bool compose) {
    std::vector<std::int32_t> out;
    out.reserve(cps.size());
    const int options = compose ? UTF8PROC_COMPOSE : UTF8PROC_DECOMPOSE;
    std::size_t start = 0;
    auto flush = [&](std::size_t end) {
        if (end == start) return;
        for (std::int32_t cp : code_points(normalize(utf8(cps, start, end), options))) {
            if (compose && keeps_whole(cp)) {
                const auto parts = utf8proc_decomposition(cp);
                out.insert(out.end(), parts.begin(), parts.end());
            } else {
                out.push_back(cp);
            }
        }
    };
    for (std::size_t i = 0; i < cps.size(); ++i)
        if (keeps_whole(cps[i])) {
            flush(i);
            out.push_back(cps[i]);
            start = i + 1;
        }
    flush(cps.size());
    return out;
}

std::string read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw CheckpointError(file.string() + ": cannot be read");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// tokenizer.json and the files beside it are read with nlohmann's typed accessors (value(),
// get<>()), which throw type_error for a value of another type: said as the file's problem.
template <class F> auto typed_json(const fs::path& file, F&& read) -> decltype(read()) {
    try {
        return read();
    } catch (const nlohmann::json::exception& e) {
        throw CheckpointError(file.string() + ": a value of the wrong type (" + std::string(e.what()) +
                              "); expected the tokenizer files transformers writes");
    }
}

nlohmann::json read_json(const fs::path& file) {
    try {
        return nlohmann::json::parse(read_file(file));
    } catch (const nlohmann::json::exception& e) {
        throw CheckpointError(file.string() + ": not valid JSON: " + e.what());
    }
}

std::int64_t require_id(const std::unordered_map<std::string, std::int64_t>& vocab, const std::string& token,
                        const std::string& source) {
    const auto it = vocab.find(token);
    if (it == vocab.end()) throw CheckpointError(source + ": the vocabulary has no '" + token + "' token");
    return it->second;
}

std::string vocab_digest(const std::unordered_map<std::string, std::int64_t>& vocab) {
    std::vector<std::pair<std::int64_t, std::string>> sorted;
    for (const auto& [token, id] : vocab) sorted.emplace_back(id, token);
    std::sort(sorted.begin(), sorted.end());
    std::string material;
    for (const auto& [id, token] : sorted) material += std::to_string(id) + '\t' + token + '\n';
    return media::sha256_hex(material);
}

// ---- Added tokens ----------------------------------------------------------------------

// Rust regex's \w, which decides single_word: Alphabetic (letters, Nl, and the circled
// letters of Other_Alphabetic), marks, decimal digits, connector punctuation, joiners.
bool is_word_char(std::int32_t cp) {
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_PC:
        return true;
    default:
        return cp == 0x200C || cp == 0x200D || (cp >= 0x24B6 && cp <= 0x24E9) || (cp >= 0x1F130 && cp <= 0x1F149) ||
               (cp >= 0x1F150 && cp <= 0x1F169) || (cp >= 0x1F170 && cp <= 0x1F189);
    }
}

// The code point that ends text[0, at) / starts text[at, ...).
std::int32_t code_point_before(const std::string& text, std::size_t at, std::size_t* begin = nullptr) {
    std::size_t i = at - 1;
    while (i > 0 && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) --i;
    if (begin) *begin = i;
    return code_points(text.substr(i, at - i)).front();
}
std::int32_t code_point_at(const std::string& text, std::size_t at, std::size_t* end = nullptr) {
    std::size_t i = at + 1;
    while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
    if (end) *end = i;
    return code_points(text.substr(at, i - at)).front();
}

// A piece of text between added tokens (id < 0), or an added token with its content.
struct Segment {
    std::string text;
    std::int64_t id;
};

// tokenizers' AddedVocabulary::find_matches: non-overlapping leftmost-longest matches (an
// Aho-Corasick automaton there); a match that fails single_word is skipped, not retried
// inside; lstrip/rstrip take the whitespace around the match (lstrip not into the previous
// match). Only whitespace and the match are dropped; the rest is returned in order.
std::vector<Segment> split_added(const std::string& text, const std::vector<AddedToken>& tokens) {
    if (tokens.empty()) return {{text, -1}};
    bool first_byte[256] = {};
    for (const auto& t : tokens) first_byte[static_cast<unsigned char>(t.content[0])] = true;
    std::vector<Segment> out;
    std::size_t done = 0; // end of the last match, with its stripped whitespace
    for (std::size_t pos = 0; pos < text.size();) {
        const AddedToken* best = nullptr;
        if (first_byte[static_cast<unsigned char>(text[pos])])
            for (const auto& t : tokens)
                if (text.compare(pos, t.content.size(), t.content) == 0 &&
                    (!best || t.content.size() > best->content.size()))
                    best = &t;
        if (!best) {
            ++pos;
            continue;
        }
        std::size_t start = pos, stop = pos + best->content.size();
        pos = stop;
        if (start < done) continue; // inside whitespace an rstrip took (only a token starting with whitespace)
        if (best->single_word) {
            const bool word_before = start > 0 && is_word_char(code_point_before(text, start));
            const bool word_after = stop < text.size() && is_word_char(code_point_at(text, stop));
            if (word_before || word_after) continue;
        }
        if (best->lstrip) {
            std::size_t begin = start;
            while (start > 0 && is_white_space(code_point_before(text, start, &begin))) start = begin;
            start = std::max(start, done);
        }
        if (best->rstrip) {
            std::size_t end = stop;
            while (stop < text.size() && is_white_space(code_point_at(text, stop, &end))) stop = end;
        }
        if (done < start) out.push_back({text.substr(done, start - done), -1});
        out.push_back({best->content, best->id});
        done = stop;
        pos = std::max(pos, stop);
    }
    if (done < text.size()) out.push_back({text.substr(done), -1});
    return out;
}

// Ids as transformers gives them: the vocabulary's own id where it has the content (an
// added token's id in the file is ignored then), the given id otherwise (none: left out).
std::vector<AddedToken> resolve_added(std::vector<AddedToken> tokens,
                                      const std::unordered_map<std::string, std::int64_t>& vocab) {
    std::vector<AddedToken> out;
    for (auto& t : tokens) {
        if (t.content.empty()) continue;
        const auto it = vocab.find(t.content);
        if (it != vocab.end()) t.id = it->second;
        if (t.id >= 0) out.push_back(std::move(t));
    }
    return out;
}

std::string added_digest(const std::vector<AddedToken>& tokens) {
    std::string material;
    for (const auto& t : tokens)
        material += t.content + '\t' + std::to_string(t.id) + '\t' + std::to_string(t.normalized) +
                    std::to_string(t.lstrip) + std::to_string(t.rstrip) + std::to_string(t.single_word) + '\n';
    return media::sha256_hex(material).substr(0, 16);
}

// vocab.json, or tokenizer.json's model.vocab: token -> id.
std::unordered_map<std::string, std::int64_t> vocab_of_json(const nlohmann::json& json, const std::string& where) {
    if (!json.is_object()) throw CheckpointError(where + ": expected an object of token -> id");
    std::unordered_map<std::string, std::int64_t> vocab;
    for (const auto& [token, id] : json.items()) {
        if (!id.is_number_integer() || id.get<std::int64_t>() < 0)
            throw CheckpointError(where + ": token '" + token + "' has id " + id.dump() +
                                  "; accepted: a non-negative integer");
        vocab.emplace(token, id.get<std::int64_t>());
    }
    return vocab;
}

AddedToken added_token_from_json(const nlohmann::json& j, std::int64_t id) {
    AddedToken t;
    t.content = j.at("content").get<std::string>();
    t.id = id;
    t.special = j.value("special", false);
    t.normalized = j.value("normalized", !t.special);
    t.lstrip = j.value("lstrip", false);
    t.rstrip = j.value("rstrip", false);
    t.single_word = j.value("single_word", false);
    return t;
}

// tokenizer.json's "added_tokens" (none when absent, as in tokenizers).
std::vector<AddedToken> added_tokens_of_tokenizer_json(const nlohmann::json& json, const fs::path& file) {
    std::vector<AddedToken> out;
    const auto tokens = json.value("added_tokens", nlohmann::json::array());
    for (const auto& j : tokens) {
        const bool has_id = j.is_object() && j.contains("id") && j["id"].is_number_integer() &&
                            j["id"].get<std::int64_t>() >= 0;
        if (!has_id || !j.contains("content"))
            throw CheckpointError(file.string() + ": an added token without content or a non-negative integer id: " +
                                  j.dump());
        out.push_back(added_token_from_json(j, j.at("id").get<std::int64_t>()));
    }
    return out;
}

// A token name in tokenizer_config.json: a string, or an object with "content".
void read_token_name(const nlohmann::json& config, const char* key, std::string& name) {
    const auto it = config.find(key);
    if (it == config.end()) return;
    if (it->is_string()) name = it->get<std::string>();
    else if (it->is_object() && it->contains("content")) name = it->at("content").get<std::string>();
}

// tokenizer.json's "post_processor" as the special tokens around one text: "[CLS] A [SEP]"
// (BERT's TemplateProcessing or BertProcessing), "<s> A </s>" (RobertaProcessing: RoBERTa,
// MPNet). The tokenizer looks the tokens up in the vocabulary, so their ids there must be
// the ones the post-processor gives. Absent: unset, the tokenizer's own defaults.
std::optional<std::pair<std::string, std::string>> tokens_around(const nlohmann::json& json,
                                                                 const std::unordered_map<std::string, std::int64_t>& vocab,
                                                                 const fs::path& file) {
    const auto& post = json.value("post_processor", nlohmann::json());
    if (!post.is_object()) return std::nullopt;
    const auto type = post.value("type", "");
    const auto where = file.string() + ": post_processor " + type;
    std::vector<std::pair<std::string, std::int64_t>> around; // the token before the text, the one after
    if (type == "BertProcessing" || type == "RobertaProcessing") {
        for (const char* key : {"cls", "sep"}) {
            const auto& pair = post.value(key, nlohmann::json());
            if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_number_integer())
                throw CheckpointError(where + ": '" + key + "' must be [token, id], found " + pair.dump());
            around.emplace_back(pair[0].get<std::string>(), pair[1].get<std::int64_t>());
        }
    } else if (type == "TemplateProcessing") {
        const auto& single = post.value("single", nlohmann::json::array());
        const auto special = [&](const nlohmann::json& piece) -> std::pair<std::string, std::int64_t> {
            const auto name = piece.at("SpecialToken").at("id").get<std::string>();
            const auto tokens = post.value("special_tokens", nlohmann::json::object());
            const auto entry = tokens.is_object() ? tokens.value(name, nlohmann::json()) : nlohmann::json();
            const auto ids = entry.is_object() ? entry.value("ids", nlohmann::json::array()) : nlohmann::json::array();
            if (!ids.is_array() || ids.size() != 1 || !ids[0].is_number_integer())
                throw CheckpointError(where + ": special token '" + name + "' must have one id, found " + ids.dump());
            return {name, ids[0].get<std::int64_t>()};
        };
        const bool framed = single.is_array() && single.size() == 3 && single[0].contains("SpecialToken") &&
                            single[1].contains("Sequence") && single[2].contains("SpecialToken");
        if (!framed)
            throw CheckpointError(where + ": the template of one text is " + single.dump() +
                                  "; accepted: a special token, the text, a special token (\"[CLS] $A [SEP]\")");
        around = {special(single[0]), special(single[2])};
    } else {
        throw CheckpointError(file.string() + ": post_processor '" + type +
                              "' is not supported; accepted: TemplateProcessing, BertProcessing, RobertaProcessing");
    }
    for (const auto& [token, id] : around) {
        const auto it = vocab.find(token);
        if (it == vocab.end() || it->second != id)
            throw CheckpointError(where + " puts '" + token + "' (id " + std::to_string(id) + ") around the text, but " +
                                  (it == vocab.end() ? std::string("the vocabulary has no such token")
                                                     : "the vocabulary gives it id " + std::to_string(it->second)));
    }
    return std::make_pair(around[0].first, around[1].first);
}

} // namespace

// ---- WordPiece -----------------------------------------------------------------------

WordPieceTokenizer::WordPieceTokenizer(std::unordered_map<std::string, std::int64_t> vocab, WordPieceOptions options,
                                       std::string source)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
    unk_id_ = require_id(vocab_, options_.unk_token, source);
    cls_id_ = require_id(vocab_, options_.cls_token, source);
    sep_id_ = require_id(vocab_, options_.sep_token, source);
    const auto pad = vocab_.find(options_.pad_token);
    pad_id_ = pad == vocab_.end() ? 0 : pad->second;
    std::vector<AddedToken> added;
    if (options_.added_tokens) {
        added = *options_.added_tokens;
    } else {
        for (const auto* name : {&options_.pad_token, &options_.unk_token, &options_.cls_token, &options_.sep_token,
                                 &options_.mask_token})
            added.push_back(AddedToken{*name, -1});
    }
    added = resolve_added(std::move(added), vocab_);
    for (auto t : added) {
        if (!t.normalized) {
            added_.push_back(std::move(t));
            continue;
        }
        // Found in normalized text, so compared in its normalized form.
        t.content = utf8(normalize_text(t.content));
        if (!t.content.empty()) added_normalized_.push_back(std::move(t));
    }
    cache_key_ = std::string("wordpiece:") + unicode_tables_source + ":" + vocab_digest(vocab_) + ":" +
                 std::to_string(options_.clean_text) + std::to_string(options_.handle_chinese_chars) +
                 std::to_string(options_.lowercase) + std::to_string(options_.strip_accents) + ":" +
                 std::to_string(options_.max_input_chars_per_word) + ":added " + added_digest(added);
    // Other tokens around the text (MPNet's <s> ... </s>) change the ids; BERT's keys stay
    // as they were before the post-processor was read.
    if (options_.cls_token != "[CLS]" || options_.sep_token != "[SEP]")
        cache_key_ += ":around " + std::to_string(cls_id_) + " " + std::to_string(sep_id_);
}

std::unique_ptr<WordPieceTokenizer> WordPieceTokenizer::from_vocab_txt(const fs::path& file, WordPieceOptions options) {
    std::ifstream in(file);
    if (!in) throw CheckpointError(file.string() + ": cannot be read");
    std::unordered_map<std::string, std::int64_t> vocab;
    std::string line;
    for (std::int64_t id = 0; std::getline(in, line); ++id) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        vocab.emplace(line, id); // the first of two equal lines keeps its id, as transformers
    }
    return std::make_unique<WordPieceTokenizer>(std::move(vocab), std::move(options), file.string());
}

std::unique_ptr<WordPieceTokenizer> WordPieceTokenizer::from_tokenizer_json(const fs::path& file) {
    return typed_json(file, [&]() -> std::unique_ptr<WordPieceTokenizer> {
        const auto json = read_json(file);
        const auto& model = json.value("model", nlohmann::json::object());
        if (model.value("type", "") != "WordPiece")
            throw CheckpointError(file.string() + ": model type is '" + model.value("type", "") +
                                  "', not WordPiece (a BERT-family tokenizer)");
        WordPieceOptions options;
        options.unk_token = model.value("unk_token", options.unk_token);
        options.continuing_subword_prefix = model.value("continuing_subword_prefix", options.continuing_subword_prefix);
        options.max_input_chars_per_word = model.value("max_input_chars_per_word", options.max_input_chars_per_word);
        const auto& normalizer = json.value("normalizer", nlohmann::json());
        if (normalizer.is_object()) {
            if (normalizer.value("type", "") != "BertNormalizer")
                throw CheckpointError(file.string() + ": normalizer '" + normalizer.value("type", "") +
                                      "' is not supported; accepted: BertNormalizer");
            options.clean_text = normalizer.value("clean_text", true);
            options.handle_chinese_chars = normalizer.value("handle_chinese_chars", true);
            options.lowercase = normalizer.value("lowercase", true);
            const auto& strip = normalizer.value("strip_accents", nlohmann::json());
            options.strip_accents = strip.is_boolean() ? (strip.get<bool>() ? 1 : 0) : -1;
        } else {
            options.lowercase = false;
            options.strip_accents = 0;
            options.clean_text = false;
            options.handle_chinese_chars = false;
        }
        if (json.contains("padding") && json["padding"].is_object())
            options.pad_token = json["padding"].value("pad_token", options.pad_token);
        // transformers pads with the pad_token of tokenizer_config.json beside it, whatever
        // tokenizer.json's padding says (transformers saves MPNet's without one).
        const auto config_file = file.parent_path() / "tokenizer_config.json";
        if (fs::exists(config_file)) read_token_name(read_json(config_file), "pad_token", options.pad_token);
        auto vocab = vocab_of_json(model.value("vocab", nlohmann::json()), file.string() + ": model.vocab");
        if (const auto around = tokens_around(json, vocab, file)) // absent: BERT's [CLS] and [SEP]
            std::tie(options.cls_token, options.sep_token) = *around;
        options.added_tokens = added_tokens_of_tokenizer_json(json, file);
        return std::make_unique<WordPieceTokenizer>(std::move(vocab), std::move(options), file.string());
    });
}

std::vector<std::int32_t> WordPieceTokenizer::normalize_text(const std::string& text) const {
    // BertNormalizer, in its order: clean, CJK spacing, accents (NFD, drop Mn), lower-case.
    std::vector<std::int32_t> cps;
    for (std::int32_t cp : code_points(text)) {
        if (options_.clean_text) {
            if (cp == 0 || cp == 0xFFFD || is_bert_control(cp)) continue;
            if (is_bert_whitespace(cp)) cp = ' ';
        }
        if (options_.handle_chinese_chars && is_chinese_char(cp)) {
            cps.push_back(' ');
            cps.push_back(cp);
            cps.push_back(' ');
        } else {
            cps.push_back(cp);
        }
    }
    const bool strip = options_.strip_accents < 0 ? options_.lowercase : options_.strip_accents == 1;
    if (strip) {
        const auto decomposed = normalize_like_tokenizers(cps, /*compose=*/false);
        cps.clear();
        for (std::int32_t cp : decomposed)
            if (!is_nonspacing_mark(cp)) cps.push_back(cp);
    }
    if (options_.lowercase) {
        std::vector<std::int32_t> lower;
        lower.reserve(cps.size());
        for (std::int32_t cp : cps) append_lower(lower, cp);
        cps.swap(lower);
    }
    return cps;
}

void WordPieceTokenizer::word_pieces(std::vector<std::int32_t> cps,
                                     std::vector<std::pair<std::string, std::int64_t>>& out) const {
    // BertPreTokenizer: split at whitespace; every punctuation character is a word.
    std::vector<std::vector<std::int32_t>> words;
    std::vector<std::int32_t> current;
    auto flush = [&] {
        if (!current.empty()) words.push_back(std::move(current));
        current.clear();
    };
    for (std::int32_t cp : cps) {
        if (is_white_space(cp)) {
            flush();
        } else if (is_punctuation(cp)) {
            flush();
            words.push_back({cp});
        } else {
            current.push_back(cp);
        }
    }
    flush();
    // WordPiece: greedy longest match first; a word with no full cover is [UNK].
    for (const auto& word : words) {
        if (static_cast<std::int64_t>(word.size()) > options_.max_input_chars_per_word) {
            out.emplace_back(options_.unk_token, unk_id_);
            continue;
        }
        std::vector<std::pair<std::string, std::int64_t>> sub;
        bool bad = false;
        for (std::size_t start = 0; start < word.size();) {
            std::size_t end = word.size();
            bool found = false;
            for (; end > start; --end) {
                std::string candidate = (start > 0 ? options_.continuing_subword_prefix : "") + utf8(word, start, end);
                const auto it = vocab_.find(candidate);
                if (it != vocab_.end()) {
                    sub.emplace_back(std::move(candidate), it->second);
                    found = true;
                    break;
                }
            }
            if (!found) {
                bad = true;
                break;
            }
            start = end;
        }
        if (bad) out.emplace_back(options_.unk_token, unk_id_);
        else out.insert(out.end(), std::make_move_iterator(sub.begin()), std::make_move_iterator(sub.end()));
    }
}

// As tokenizers: added tokens are split out of the text as written, each piece between them
// is normalized on its own, normalized added tokens are split out of that, and the rest is
// pre-tokenized and split into word pieces.
std::vector<std::pair<std::string, std::int64_t>> WordPieceTokenizer::pieces(const std::string& text) const {
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (auto& segment : split_added(text, added_)) {
        if (segment.id >= 0) {
            out.emplace_back(std::move(segment.text), segment.id);
            continue;
        }
        auto normalized = normalize_text(segment.text);
        if (added_normalized_.empty()) {
            word_pieces(std::move(normalized), out);
            continue;
        }
        for (auto& piece : split_added(utf8(normalized), added_normalized_)) {
            if (piece.id >= 0) out.emplace_back(std::move(piece.text), piece.id);
            else word_pieces(code_points(piece.text), out);
        }
    }
    return out;
}

std::vector<std::string> WordPieceTokenizer::tokenize(const std::string& text) const { return texts_of(pieces(text)); }

std::vector<std::int64_t> WordPieceTokenizer::encode(const std::string& text, std::int64_t max_length) const {
    return framed(pieces(text), cls_id_, sep_id_, max_length);
}

// ---- CLIP byte-level BPE -------------------------------------------------------------

namespace {

// GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest are moved to
// U+0100 and up, so every byte is a visible character.
const std::vector<std::string>& byte_symbols() {
    static const std::vector<std::string> table = [] {
        std::vector<std::string> out(256);
        int next = 0;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
            std::string s;
            append_utf8(s, printable ? b : 256 + next++);
            out[static_cast<std::size_t>(b)] = s;
        }
        return out;
    }();
    return table;
}

// CLIP's pattern: 's|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+ ; what it does
// not match (whitespace) is dropped.
std::vector<std::string> clip_pre_tokenize(const std::vector<std::int32_t>& cps) {
    static const std::vector<std::vector<std::int32_t>> contractions{{'\'', 's'}, {'\'', 't'}, {'\'', 'r', 'e'},
                                                                     {'\'', 'v', 'e'}, {'\'', 'm'}, {'\'', 'l', 'l'},
                                                                     {'\'', 'd'}};
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < cps.size()) {
        const std::int32_t cp = cps[i];
        bool matched = false;
        if (cp == '\'')
            for (const auto& c : contractions)
                if (i + c.size() <= cps.size() && std::equal(c.begin(), c.end(), cps.begin() + static_cast<long>(i))) {
                    out.push_back(utf8(cps, i, i + c.size()));
                    i += c.size();
                    matched = true;
                    break;
                }
        if (matched) continue;
        std::size_t j = i;
        if (is_letter(cp)) {
            while (j < cps.size() && is_letter(cps[j])) ++j;
        } else if (is_number(cp)) {
            j = i + 1;
        } else if (!is_white_space(cp)) {
            while (j < cps.size() && !is_white_space(cps[j]) && !is_letter(cps[j]) && !is_number(cps[j])) ++j;
        } else {
            ++i; // whitespace separates and is dropped
            continue;
        }
        out.push_back(utf8(cps, i, j));
        i = j;
    }
    return out;
}

// BPE on a word's symbols: merge the pair of lowest rank, every occurrence left to right,
// until no pair is a merge. `ranks` maps "left right" to the rank.
std::vector<std::string> merge_symbols(std::vector<std::string> symbols,
                                       const std::unordered_map<std::string, std::int64_t>& ranks) {
    while (symbols.size() > 1) {
        std::int64_t best = std::numeric_limits<std::int64_t>::max();
        std::size_t at = 0;
        for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
            const auto it = ranks.find(symbols[i] + " " + symbols[i + 1]);
            if (it != ranks.end() && it->second < best) {
                best = it->second;
                at = i;
            }
        }
        if (best == std::numeric_limits<std::int64_t>::max()) break;
        const std::string left = symbols[at], right = symbols[at + 1];
        std::vector<std::string> merged;
        for (std::size_t i = 0; i < symbols.size();) {
            if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
                merged.push_back(left + right);
                i += 2;
            } else {
                merged.push_back(symbols[i++]);
            }
        }
        symbols.swap(merged);
    }
    return symbols;
}

// merges.txt: an optional "#version" line, then "left right" per line, the rank its order.
std::vector<std::pair<std::string, std::string>> read_merges_txt(const fs::path& file) {
    std::ifstream in(file);
    if (!in) throw CheckpointError(file.string() + ": cannot be read");
    std::vector<std::pair<std::string, std::string>> merges;
    std::string line;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || (number == 1 && line.rfind("#version", 0) == 0)) continue;
        const auto space = line.find(' ');
        if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
            throw CheckpointError(file.string() + ":" + std::to_string(number) +
                                  ": expected two symbols separated by one space");
        merges.emplace_back(line.substr(0, space), line.substr(space + 1));
    }
    return merges;
}

// tokenizer.json's model.merges: ["left", "right"] pairs, or "left right" strings (older files).
std::vector<std::pair<std::string, std::string>> merges_of_json(const nlohmann::json& model, const fs::path& file) {
    const auto& list = model.value("merges", nlohmann::json());
    if (!list.is_array()) throw CheckpointError(file.string() + ": model.merges is missing or not a list");
    std::vector<std::pair<std::string, std::string>> merges;
    for (const auto& merge : list) {
        if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
            merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
        } else if (merge.is_string()) {
            const auto s = merge.get<std::string>();
            const auto space = s.find(' ');
            if (space == std::string::npos) throw CheckpointError(file.string() + ": malformed merge '" + s + "'");
            merges.emplace_back(s.substr(0, space), s.substr(space + 1));
        } else {
            throw CheckpointError(file.string() + ": malformed merge " + merge.dump());
        }
    }
    return merges;
}

} // namespace

ClipBpeTokenizer::ClipBpeTokenizer(std::unordered_map<std::string, std::int64_t> vocab,
                                   std::vector<std::pair<std::string, std::string>> merges, std::string source,
                                   std::optional<std::vector<AddedToken>> added_tokens)
    : vocab_(std::move(vocab)) {
    for (std::size_t rank = 0; rank < merges.size(); ++rank)
        merge_ranks_.emplace(merges[rank].first + " " + merges[rank].second, static_cast<std::int64_t>(rank));
    bos_id_ = require_id(vocab_, "<|startoftext|>", source);
    eos_id_ = require_id(vocab_, "<|endoftext|>", source);
    std::string material = vocab_digest(vocab_);
    for (const auto& [pair, rank] : merge_ranks_) material += pair + std::to_string(rank);
    auto added = resolve_added(added_tokens ? std::move(*added_tokens)
                                            : std::vector<AddedToken>{{"<|startoftext|>", -1}, {"<|endoftext|>", -1}},
                               vocab_);
    for (auto t : added) {
        if (!t.normalized) {
            added_.push_back(std::move(t));
            continue;
        }
        t.content = utf8(normalize_text(t.content)); // found in normalized text
        if (!t.content.empty()) added_normalized_.push_back(std::move(t));
    }
    cache_key_ = std::string("clip-bpe:") + unicode_tables_source + ":" + media::sha256_hex(material) + ":added " +
                 added_digest(added);
}

std::unique_ptr<ClipBpeTokenizer> ClipBpeTokenizer::from_files(const fs::path& vocab_json, const fs::path& merges_txt,
                                                               std::optional<std::vector<AddedToken>> added_tokens) {
    return typed_json(vocab_json, [&]() -> std::unique_ptr<ClipBpeTokenizer> {
        auto vocab = vocab_of_json(read_json(vocab_json), vocab_json.string());
        return std::make_unique<ClipBpeTokenizer>(std::move(vocab), read_merges_txt(merges_txt), vocab_json.string(),
                                                  std::move(added_tokens));
    });
}

std::unique_ptr<ClipBpeTokenizer> ClipBpeTokenizer::from_tokenizer_json(const fs::path& file) {
    return typed_json(file, [&]() -> std::unique_ptr<ClipBpeTokenizer> {
        const auto json = read_json(file);
        const auto& model = json.value("model", nlohmann::json::object());
        if (model.value("type", "") != "BPE")
            throw CheckpointError(file.string() + ": model type is '" + model.value("type", "") + "', not BPE (CLIP)");
        auto vocab = vocab_of_json(model.value("vocab", nlohmann::json()), file.string() + ": model.vocab");
        return std::make_unique<ClipBpeTokenizer>(std::move(vocab), merges_of_json(model, file), file.string(),
                                                  added_tokens_of_tokenizer_json(json, file));
    });
}

std::vector<std::string> ClipBpeTokenizer::bpe(const std::string& word) const {
    // Symbols: one per mapped byte; the last carries the end-of-word mark.
    std::vector<std::string> symbols;
    for (unsigned char b : word) symbols.push_back(byte_symbols()[b]);
    if (symbols.empty()) return symbols;
    symbols.back() += "</w>";
    return merge_symbols(std::move(symbols), merge_ranks_);
}

std::vector<std::int32_t> ClipBpeTokenizer::normalize_text(const std::string& text) const {
    // Normalizer: NFC, whitespace runs to one space, lower-case.
    std::vector<std::int32_t> cps;
    bool in_space = false;
    for (std::int32_t cp : normalize_like_tokenizers(code_points(text), /*compose=*/true)) {
        if (is_white_space(cp)) {
            if (!in_space) cps.push_back(' ');
            in_space = true;
            continue;
        }
        in_space = false;
        append_lower(cps, cp);
    }
    return cps;
}

void ClipBpeTokenizer::bpe_pieces(const std::vector<std::int32_t>& normalized,
                                  std::vector<std::pair<std::string, std::int64_t>>& out) const {
    for (const auto& word : clip_pre_tokenize(normalized))
        for (auto& piece : bpe(word)) {
            const auto it = vocab_.find(piece);
            const auto id = it == vocab_.end() ? eos_id_ : it->second; // CLIP's unknown token is <|endoftext|>
            out.emplace_back(std::move(piece), id);
        }
}

// As tokenizers: added tokens split out of the text as written, each piece between them
// normalized on its own, normalized added tokens split out of that, BPE on the rest.
std::vector<std::pair<std::string, std::int64_t>> ClipBpeTokenizer::pieces(const std::string& text) const {
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (auto& segment : split_added(text, added_)) {
        if (segment.id >= 0) {
            out.emplace_back(std::move(segment.text), segment.id);
            continue;
        }
        const auto normalized = normalize_text(segment.text);
        if (added_normalized_.empty()) {
            bpe_pieces(normalized, out);
            continue;
        }
        for (auto& piece : split_added(utf8(normalized), added_normalized_)) {
            if (piece.id >= 0) out.emplace_back(std::move(piece.text), piece.id);
            else bpe_pieces(code_points(piece.text), out);
        }
    }
    return out;
}

std::vector<std::string> ClipBpeTokenizer::tokenize(const std::string& text) const { return texts_of(pieces(text)); }

std::vector<std::int64_t> ClipBpeTokenizer::encode(const std::string& text, std::int64_t max_length) const {
    return framed(pieces(text), bos_id_, eos_id_, max_length);
}

// ---- GPT-2 / RoBERTa byte-level BPE ----------------------------------------------------

namespace {

enum class CharClass { letter, number, space, other };

CharClass char_class(std::int32_t cp) {
    if (is_letter(cp)) return CharClass::letter;
    if (is_number(cp)) return CharClass::number;
    if (is_white_space(cp)) return CharClass::space;
    return CharClass::other;
}

// GPT-2's pattern, as the tokenizers crate's ByteLevel pre-tokenizer runs it (Oniguruma:
// its \p{L} and \p{N} are CLIP's tables, its \s is White_Space):
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// Every character is in some match: the words cover the text, whitespace included.
std::vector<std::string> gpt2_pre_tokenize(const std::vector<std::int32_t>& cps) {
    static const std::vector<std::vector<std::int32_t>> contractions{{'\'', 's'}, {'\'', 't'}, {'\'', 'r', 'e'},
                                                                     {'\'', 'v', 'e'}, {'\'', 'm'}, {'\'', 'l', 'l'},
                                                                     {'\'', 'd'}};
    std::vector<std::string> out;
    const std::size_t n = cps.size();
    std::size_t i = 0;
    while (i < n) {
        bool matched = false;
        if (cps[i] == '\'')
            for (const auto& c : contractions) // lower-case only: "'S" is not one
                if (i + c.size() <= n && std::equal(c.begin(), c.end(), cps.begin() + static_cast<long>(i))) {
                    out.push_back(utf8(cps, i, i + c.size()));
                    i += c.size();
                    matched = true;
                    break;
                }
        if (matched) continue;
        // " ?" then a run of letters, of numbers or of other characters: one space (U+0020
        // only) joins the run after it.
        const std::size_t from = cps[i] == ' ' && i + 1 < n && char_class(cps[i + 1]) != CharClass::space ? i + 1 : i;
        const CharClass kind = char_class(cps[from]);
        std::size_t j = from;
        while (j < n && char_class(cps[j]) == kind) ++j;
        // A whitespace run keeps its last character for the word after it (\s+(?!\S)), unless
        // it ends the text or is that one character (\s+).
        if (kind == CharClass::space && j < n && j - i > 1) --j;
        out.push_back(utf8(cps, i, j));
        i = j;
    }
    return out;
}

// The special tokens transformers names for RoBERTa's vocab.json + merges.txt, from
// tokenizer_config.json where it names them (cls and sep frame the text).
struct RobertaTokenNames {
    std::string bos = "<s>", eos = "</s>", unk = "<unk>", sep = "</s>", pad = "<pad>", cls = "<s>", mask = "<mask>";
    void read(const nlohmann::json& config) {
        read_token_name(config, "bos_token", bos);
        read_token_name(config, "eos_token", eos);
        read_token_name(config, "unk_token", unk);
        read_token_name(config, "sep_token", sep);
        read_token_name(config, "pad_token", pad);
        read_token_name(config, "cls_token", cls);
        read_token_name(config, "mask_token", mask);
    }
    std::vector<std::string> all() const {
        std::vector<std::string> out;
        for (const auto* name : {&bos, &eos, &unk, &sep, &pad, &cls, &mask})
            if (std::find(out.begin(), out.end(), *name) == out.end()) out.push_back(*name);
        return out;
    }
};

// tokenizer_config.json's add_prefix_space, which transformers' RobertaTokenizer builds its
// pre-tokenizer from (tokenizer.json's is replaced).
void read_add_prefix_space(const nlohmann::json& config, const fs::path& file, bool& add_prefix_space) {
    const auto it = config.find("add_prefix_space");
    if (it == config.end() || it->is_null()) return;
    if (!it->is_boolean())
        throw CheckpointError(file.string() + ": add_prefix_space is " + it->dump() + "; accepted: true or false");
    add_prefix_space = it->get<bool>();
}

} // namespace

ByteLevelBpeTokenizer::ByteLevelBpeTokenizer(std::unordered_map<std::string, std::int64_t> vocab,
                                             std::vector<std::pair<std::string, std::string>> merges,
                                             ByteLevelBpeOptions options, std::string source)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
    // As tokenizers: both parts and the result of every merge are tokens (a merge the
    // vocabulary cannot give an id is a broken file), and a pair listed twice has the rank
    // of its last line.
    std::string material = vocab_digest(vocab_);
    for (std::size_t rank = 0; rank < merges.size(); ++rank) {
        const auto& [left, right] = merges[rank];
        for (const std::string* token : {&left, &right, static_cast<const std::string*>(nullptr)}) {
            const std::string piece = token ? *token : left + right;
            if (!vocab_.count(piece))
                throw CheckpointError(source + ": merge " + std::to_string(rank + 1) + " '" + left + " " + right +
                                      "': the vocabulary has no '" + piece + "' token" +
                                      (token ? "" : " (what the merge makes)"));
        }
        merge_ranks_.insert_or_assign(left + " " + right, static_cast<std::int64_t>(rank));
        material += left + " " + right + "\n";
    }
    bos_id_ = require_id(vocab_, options_.bos_token, source);
    eos_id_ = require_id(vocab_, options_.eos_token, source);
    pad_id_ = require_id(vocab_, options_.pad_token, source);
    if (options_.unk_token) unk_id_ = require_id(vocab_, *options_.unk_token, source);
    std::vector<AddedToken> named;
    for (const char* name : {"<s>", "<pad>", "</s>", "<unk>", "<mask>"}) named.push_back(AddedToken{name, -1});
    const auto added = resolve_added(options_.added_tokens ? *options_.added_tokens : named, vocab_);
    for (const auto& t : added) (t.normalized ? added_normalized_ : added_).push_back(t);
    cache_key_ = std::string("byte-bpe:") + unicode_tables_source + ":" + media::sha256_hex(material) + ":" +
                 std::to_string(options_.add_prefix_space) + std::to_string(options_.use_regex) +
                 std::to_string(options_.fuse_unk) + std::to_string(options_.ignore_merges) + ":unk " +
                 std::to_string(unk_id_) + ":around " + std::to_string(bos_id_) + " " + std::to_string(eos_id_) +
                 ":added " + added_digest(added);
}

std::unique_ptr<ByteLevelBpeTokenizer> ByteLevelBpeTokenizer::from_files(const fs::path& vocab_json,
                                                                         const fs::path& merges_txt,
                                                                         ByteLevelBpeOptions options) {
    return typed_json(vocab_json, [&]() -> std::unique_ptr<ByteLevelBpeTokenizer> {
        auto vocab = vocab_of_json(read_json(vocab_json), vocab_json.string());
        return std::make_unique<ByteLevelBpeTokenizer>(std::move(vocab), read_merges_txt(merges_txt), std::move(options),
                                                       vocab_json.string());
    });
}

std::unique_ptr<ByteLevelBpeTokenizer> ByteLevelBpeTokenizer::from_tokenizer_json(const fs::path& file) {
    return typed_json(file, [&]() -> std::unique_ptr<ByteLevelBpeTokenizer> {
        const auto json = read_json(file);
        const auto where = file.string() + ": ";
        const auto accepted = std::string("; accepted: a byte-level BPE as GPT-2's and RoBERTa's (their tokenizer.json)");
        const auto& model = json.value("model", nlohmann::json::object());
        if (!model.is_object() || model.value("type", "") != "BPE")
            throw CheckpointError(where + "model type is '" + (model.is_object() ? model.value("type", "") : "") +
                                  "', not BPE" + accepted);
        const auto type_of = [](const nlohmann::json& j) {
            return j.is_object() ? j.value("type", "(no type)") : j.dump();
        };
        const auto& normalizer = json.value("normalizer", nlohmann::json());
        if (!normalizer.is_null())
            throw CheckpointError(where + "normalizer '" + type_of(normalizer) +
                                  "' is not supported; accepted: none (null), as GPT-2's and RoBERTa's");
        ByteLevelBpeOptions options;
        const auto& pre = json.value("pre_tokenizer", nlohmann::json());
        if (!pre.is_object() || pre.value("type", "") != "ByteLevel")
            throw CheckpointError(where + "pre_tokenizer '" + type_of(pre) +
                                  "' is not supported; accepted: ByteLevel (GPT-2's pattern, bytes as characters)");
        options.add_prefix_space = pre.value("add_prefix_space", false);
        options.use_regex = pre.value("use_regex", true);
        // CLIP's "</w>", WordPiece-like prefixes, sampled merges and SentencePiece's byte
        // tokens are other tokenizers.
        for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
            const auto& value = model.value(key, nlohmann::json());
            if (!value.is_null() && value != "")
                throw CheckpointError(where + "model." + key + " is " + value.dump() + "; accepted: empty or null" +
                                      (std::string(key) == "end_of_word_suffix" ? " (\"</w>\" is CLIP's: kind clip-bpe)" : ""));
        }
        const auto& dropout = model.value("dropout", nlohmann::json());
        if (!dropout.is_null() && !(dropout.is_number() && dropout.get<double>() == 0.0))
            throw CheckpointError(where + "model.dropout is " + dropout.dump() +
                                  "; accepted: null (dropout samples merges at random)");
        if (model.value("byte_fallback", false))
            throw CheckpointError(where + "model.byte_fallback is true; accepted: false (bytes are characters here)");
        const auto& unk = model.value("unk_token", nlohmann::json());
        if (unk.is_string()) options.unk_token = unk.get<std::string>();
        options.fuse_unk = model.value("fuse_unk", false);
        options.ignore_merges = model.value("ignore_merges", false);
        if (json.contains("padding") && json["padding"].is_object())
            options.pad_token = json["padding"].value("pad_token", options.pad_token);
        // transformers' RobertaTokenizer takes add_prefix_space and the padding token from the
        // tokenizer_config.json beside the file where it has them.
        const auto config_file = file.parent_path() / "tokenizer_config.json";
        if (fs::exists(config_file)) {
            const auto config = read_json(config_file);
            read_add_prefix_space(config, config_file, options.add_prefix_space);
            read_token_name(config, "pad_token", options.pad_token);
        }
        auto vocab = vocab_of_json(model.value("vocab", nlohmann::json()), file.string() + ": model.vocab");
        if (const auto around = tokens_around(json, vocab, file)) // absent: RoBERTa's <s> and </s>
            std::tie(options.bos_token, options.eos_token) = *around;
        options.added_tokens = added_tokens_of_tokenizer_json(json, file);
        return std::make_unique<ByteLevelBpeTokenizer>(std::move(vocab), merges_of_json(model, file), std::move(options),
                                                       file.string());
    });
}

// One piece of text between added tokens: the prefix space, GPT-2's words, each word's
// bytes as characters, BPE.
void ByteLevelBpeTokenizer::bpe_pieces(const std::string& text,
                                       std::vector<std::pair<std::string, std::int64_t>>& out) const {
    auto cps = code_points(text);
    if (options_.add_prefix_space && !cps.empty() && cps.front() != ' ') cps.insert(cps.begin(), ' ');
    const auto words = options_.use_regex ? gpt2_pre_tokenize(cps) : std::vector<std::string>{utf8(cps)};
    for (const auto& word : words) {
        std::string mapped;
        std::vector<std::string> symbols;
        for (unsigned char b : word) {
            symbols.push_back(byte_symbols()[b]);
            mapped += symbols.back();
        }
        if (options_.ignore_merges) {
            const auto whole = vocab_.find(mapped);
            if (whole != vocab_.end()) {
                out.emplace_back(mapped, whole->second);
                continue;
            }
        }
        bool last_unknown = false;
        for (auto& symbol : merge_symbols(std::move(symbols), merge_ranks_)) {
            // Only a lone byte can be unknown: every merge's result is in the vocabulary.
            const auto it = vocab_.find(symbol);
            if (it != vocab_.end()) {
                out.emplace_back(std::move(symbol), it->second);
                last_unknown = false;
            } else if (unk_id_ >= 0 && !(options_.fuse_unk && last_unknown)) {
                out.emplace_back(*options_.unk_token, unk_id_);
                last_unknown = true;
            }
        }
    }
}

// As tokenizers: added tokens split out of the text as written, then (there is no
// normalizer) the "normalized" ones out of each piece, BPE on the rest.
std::vector<std::pair<std::string, std::int64_t>> ByteLevelBpeTokenizer::pieces(const std::string& text) const {
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (auto& segment : split_added(text, added_)) {
        if (segment.id >= 0) {
            out.emplace_back(std::move(segment.text), segment.id);
            continue;
        }
        for (auto& piece : split_added(segment.text, added_normalized_)) {
            if (piece.id >= 0) out.emplace_back(std::move(piece.text), piece.id);
            else bpe_pieces(piece.text, out);
        }
    }
    return out;
}

std::vector<std::string> ByteLevelBpeTokenizer::tokenize(const std::string& text) const { return texts_of(pieces(text)); }

std::vector<std::int64_t> ByteLevelBpeTokenizer::encode(const std::string& text, std::int64_t max_length) const {
    return framed(pieces(text), bos_id_, eos_id_, max_length);
}

// ---- Folders and batches ---------------------------------------------------------------

namespace {

// What transformers registers for a folder without tokenizer.json: the named special tokens
// (special, not normalized), then tokenizer_config.json's "added_tokens_decoder" (id ->
// token with its flags), which overrides a named token's flags.
std::vector<AddedToken> added_tokens_of_config(const nlohmann::json& config, std::vector<std::string> names,
                                               const fs::path& file) {
    std::vector<AddedToken> out;
    // id -1: the vocabulary's; a named token the vocabulary lacks is left out (transformers
    // would append it to the vocabulary, which a model could not embed anyway).
    for (auto& name : names) out.push_back(AddedToken{std::move(name), -1});
    const auto decoder = config.value("added_tokens_decoder", nlohmann::json::object());
    for (const auto& [id, j] : decoder.items()) {
        if (!j.is_object() || !j.contains("content"))
            throw CheckpointError(file.string() + ": added_tokens_decoder[" + id + "] has no content");
        std::int64_t number = 0;
        try {
            number = std::stoll(id);
        } catch (const std::exception&) {
            throw CheckpointError(file.string() + ": added_tokens_decoder key '" + id + "' is not an id");
        }
        auto token = added_token_from_json(j, number);
        const auto same = std::find_if(out.begin(), out.end(), [&](const AddedToken& t) { return t.content == token.content; });
        if (same != out.end()) *same = std::move(token);
        else out.push_back(std::move(token));
    }
    return out;
}

} // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const fs::path& folder, const std::string& kind) {
    return typed_json(folder, [&]() -> std::unique_ptr<Tokenizer> {
        const auto json = folder / "tokenizer.json";
        if (kind == "wordpiece") {
            if (fs::exists(json)) return WordPieceTokenizer::from_tokenizer_json(json);
            if (fs::exists(folder / "vocab.txt")) {
                WordPieceOptions options;
                const auto config_file = folder / "tokenizer_config.json";
                if (fs::exists(config_file)) {
                    const auto config = read_json(config_file);
                    options.lowercase = config.value("do_lower_case", true);
                    options.handle_chinese_chars = config.value("tokenize_chinese_chars", true);
                    const auto& strip = config.value("strip_accents", nlohmann::json());
                    options.strip_accents = strip.is_boolean() ? (strip.get<bool>() ? 1 : 0) : -1;
                    read_token_name(config, "unk_token", options.unk_token);
                    read_token_name(config, "sep_token", options.sep_token);
                    read_token_name(config, "pad_token", options.pad_token);
                    read_token_name(config, "cls_token", options.cls_token);
                    read_token_name(config, "mask_token", options.mask_token);
                    options.added_tokens = added_tokens_of_config(
                        config, {options.pad_token, options.unk_token, options.cls_token, options.sep_token, options.mask_token},
                        config_file);
                }
                return WordPieceTokenizer::from_vocab_txt(folder / "vocab.txt", options);
            }
            throw CheckpointError(folder.string() + ": no tokenizer: looked for tokenizer.json and vocab.txt");
        }
        if (kind == "clip-bpe") {
            if (fs::exists(json)) return ClipBpeTokenizer::from_tokenizer_json(json);
            if (fs::exists(folder / "vocab.json") && fs::exists(folder / "merges.txt")) {
                std::optional<std::vector<AddedToken>> added;
                const auto config_file = folder / "tokenizer_config.json";
                if (fs::exists(config_file))
                    added = added_tokens_of_config(read_json(config_file), {"<|startoftext|>", "<|endoftext|>"}, config_file);
                return ClipBpeTokenizer::from_files(folder / "vocab.json", folder / "merges.txt", std::move(added));
            }
            throw CheckpointError(folder.string() + ": no tokenizer: looked for tokenizer.json and vocab.json + merges.txt");
        }
        if (kind == "byte-bpe") {
            if (fs::exists(json)) return ByteLevelBpeTokenizer::from_tokenizer_json(json);
            if (fs::exists(folder / "vocab.json") && fs::exists(folder / "merges.txt")) {
                ByteLevelBpeOptions options;
                const auto config_file = folder / "tokenizer_config.json";
                if (fs::exists(config_file)) {
                    const auto config = read_json(config_file);
                    RobertaTokenNames names;
                    names.read(config);
                    read_add_prefix_space(config, config_file, options.add_prefix_space);
                    options.bos_token = names.cls;
                    options.eos_token = names.sep;
                    options.pad_token = names.pad;
                    options.added_tokens = added_tokens_of_config(config, names.all(), config_file);
                }
                return ByteLevelBpeTokenizer::from_files(folder / "vocab.json", folder / "merges.txt", std::move(options));
            }
            throw CheckpointError(folder.string() + ": no tokenizer: looked for tokenizer.json and vocab.json + merges.txt");
        }
        throw CheckpointError("unknown tokenizer kind '" + kind + "'; accepted: wordpiece, clip-bpe, byte-bpe");
    });
}

TokenBatch tokenize_batch(const Tokenizer& tokenizer, const std::vector<std::string>& texts, std::int64_t max_length) {
    std::vector<std::vector<std::int64_t>> rows;
    std::size_t longest = 0;
    for (const auto& text : texts) {
        rows.push_back(tokenizer.encode(text, max_length));
        longest = std::max(longest, rows.back().size());
    }
    const auto n = static_cast<std::int64_t>(rows.size());
    TokenBatch batch{at::full({n, static_cast<std::int64_t>(longest)}, tokenizer.pad_id(), at::kLong),
                     at::zeros({n, static_cast<std::int64_t>(longest)}, at::kLong)};
    auto ids = batch.ids.accessor<std::int64_t, 2>();
    auto mask = batch.mask.accessor<std::int64_t, 2>();
    for (std::int64_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < rows[static_cast<std::size_t>(i)].size(); ++j) {
            ids[i][static_cast<std::int64_t>(j)] = rows[static_cast<std::size_t>(i)][j];
            mask[i][static_cast<std::int64_t>(j)] = 1;
        }
    return batch;
}

} // namespace msa::models

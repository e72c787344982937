// Tokenizers: WordPiece and CLIP BPE give transformers' fast tokenizers' ids on
// hand-written cases, on every Unicode code point and on all 4,869 mvsa-ecnu texts (digests
// in the fixtures, made by scripts/make-tokenizer-fixtures.py); RoBERTa's byte-level BPE on
// hand-written cases and every code point through tiny tokenizers of its own
// (scripts/make-byte-bpe-fixtures.py); malformed vocabularies are clear errors.
#include "test_helpers.hpp"
#include "test_skip.hpp"

#include <msa/media/digest.hpp>
#include <msa/media/text.hpp>
#include <msa/models/tokenizer.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>

using namespace msa;
using namespace msa::models;
using namespace msa::test;
using Catch::Matchers::Contains;

namespace {

const auto fixtures = std::filesystem::path(MSA_FIXTURE_DIR) / "tokenizers";

bool have_models() {
    return std::filesystem::exists(models_dir() / "all-MiniLM-L6-v2" / "tokenizer.json") &&
           std::filesystem::exists(models_dir() / "clip-bpe" / "vocab.json");
}

std::string short_sha(const std::string& bytes) { return media::sha256_hex(bytes).substr(0, 16); }

std::string id_digest(const std::vector<std::int64_t>& ids) {
    std::string joined;
    for (std::size_t i = 0; i < ids.size(); ++i) joined += (i ? "," : "") + std::to_string(ids[i]);
    return short_sha(joined);
}

std::string gunzip(const std::filesystem::path& file) {
    gzFile in = gzopen(file.c_str(), "rb");
    REQUIRE(in != nullptr);
    std::string out;
    char buffer[1 << 16];
    for (int n; (n = gzread(in, buffer, sizeof buffer)) > 0;) out.append(buffer, static_cast<std::size_t>(n));
    gzclose(in);
    return out;
}

std::string read_bytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::int64_t> ids_of(const nlohmann::json& j) { return j.get<std::vector<std::int64_t>>(); }

std::string utf8_of(std::uint32_t cp) {
    std::string out;
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return out;
}

// The probes of scripts/make-tokenizer-fixtures.py: "x" + code point + "x" for each code
// point of a block of 256 (surrogates skipped), joined by spaces.
constexpr std::uint32_t code_point_block = 256;
bool is_surrogate(std::uint32_t cp) { return cp >= 0xD800 && cp <= 0xDFFF; }
std::string probe_piece(std::uint32_t cp) { return "x" + utf8_of(cp) + "x"; }
std::string block_probe(std::uint32_t first) {
    std::string text;
    for (std::uint32_t cp = first; cp < first + code_point_block; ++cp) {
        if (is_surrogate(cp)) continue;
        if (!text.empty()) text += ' ';
        text += probe_piece(cp);
    }
    return text;
}

std::string ids_text(const std::vector<std::int64_t>& ids) {
    std::string out = "[";
    for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + std::to_string(ids[i]);
    return out + "]";
}

std::string hex(std::uint32_t cp) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "%04X", cp);
    return buffer;
}

} // namespace

TEST_CASE("WordPiece splits greedily into the longest known pieces", "[tokenizer]") {
    std::unordered_map<std::string, std::int64_t> vocab{{"[PAD]", 0}, {"[UNK]", 1}, {"[CLS]", 2}, {"[SEP]", 3},
                                                        {"un", 4},    {"##aff", 5}, {"##able", 6}, {"!", 7},
                                                        {"cafe", 8},  {"##s", 9},   {"东", 10}};
    WordPieceTokenizer tokenizer(vocab, WordPieceOptions{}, "test vocabulary");
    CHECK(tokenizer.tokenize("UnAffable!") == std::vector<std::string>{"un", "##aff", "##able", "!"});
    // Accents are stripped with lower-casing; CJK characters stand alone; unknown words are [UNK].
    CHECK(tokenizer.tokenize("Cafés东xyz") == std::vector<std::string>{"cafe", "##s", "东", "[UNK]"});
    CHECK(tokenizer.encode("unaffable unaffable", 4) == std::vector<std::int64_t>{2, 4, 5, 3});
    CHECK(tokenizer.encode("", 0) == std::vector<std::int64_t>{2, 3});
    CHECK_THROWS_WITH(WordPieceTokenizer({{"[UNK]", 0}}, WordPieceOptions{}, "vocab.txt"),
                      Contains("vocab.txt") && Contains("'[CLS]'"));
}

TEST_CASE("tokenizer folders without a vocabulary, and malformed merges, are clear errors", "[tokenizer]") {
    TempDir dir;
    CHECK_THROWS_WITH(load_tokenizer(dir.path(), "wordpiece"), Contains(dir.path().string()) && Contains("vocab.txt"));
    CHECK_THROWS_WITH(load_tokenizer(dir.path(), "clip-bpe"), Contains("merges.txt"));
    CHECK_THROWS_WITH(load_tokenizer(dir.path(), "sentencepiece"), Contains("accepted: wordpiece, clip-bpe"));
    std::ofstream(dir.path() / "vocab.json") << R"({"a": 0, "<|startoftext|>": 1, "<|endoftext|>": 2})";
    std::ofstream(dir.path() / "merges.txt") << "#version: 0.2\na b\nthree parts here\n";
    CHECK_THROWS_WITH(load_tokenizer(dir.path(), "clip-bpe"), Contains("merges.txt:3") && Contains("two symbols"));
    std::ofstream(dir.path() / "tokenizer.json") << "{ not json";
    CHECK_THROWS_WITH(load_tokenizer(dir.path(), "clip-bpe"), Contains("tokenizer.json") && Contains("not valid JSON"));
    // A value of another type was json's type_error, not an msa error (tests/fuzz).
    std::ofstream(dir.path() / "tokenizer.json") << R"({"model": {"type": 5}})";
    for (const char* kind : {"wordpiece", "clip-bpe", "byte-bpe"}) {
        INFO(kind);
        CHECK_THROWS_AS(load_tokenizer(dir.path(), kind), msa::Error);
    }
    CHECK_THROWS_WITH(load_tokenizer(dir.path(), "wordpiece"), Contains("a value of the wrong type"));
}

TEST_CASE("a tokenizer.json's post-processor says which tokens frame the text", "[tokenizer]") {
    // The tiny MPNet fixture's tokenizer.json (RobertaProcessing, <s> A </s>) rewritten.
    auto json = nlohmann::json::parse(read_bytes(parity_fixture_dir("mpnet") / "tokenizer.json"));
    TempDir dir;
    auto load = [&](const nlohmann::json& post) {
        json["post_processor"] = post;
        dir.write("tokenizer.json", json.dump());
        return load_tokenizer(dir.path(), "wordpiece");
    };
    const auto roberta = json["post_processor"];
    CHECK(load(roberta)->encode("cat", 0) == std::vector<std::int64_t>{0, 59, 2});
    // BERT's template, with [UNK] and [PAD] standing in for [CLS] and [SEP] (ids 5 and 4).
    const nlohmann::json bert = {
        {"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "[UNK]"}, {"type_id", 0}}}},
                    {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                    {{"SpecialToken", {{"id", "[PAD]"}, {"type_id", 0}}}}}},
        {"special_tokens", {{"[UNK]", {{"id", "[UNK]"}, {"ids", {5}}, {"tokens", {"[UNK]"}}}},
                            {"[PAD]", {{"id", "[PAD]"}, {"ids", {4}}, {"tokens", {"[PAD]"}}}}}}};
    CHECK(load(bert)->encode("cat", 0) == std::vector<std::int64_t>{5, 59, 4});
    auto bert_processing = roberta;
    bert_processing["type"] = "BertProcessing";
    CHECK(load(bert_processing)->encode("cat", 0) == std::vector<std::int64_t>{0, 59, 2});
    // No post-processor: BERT's [CLS] and [SEP], which this vocabulary lacks.
    CHECK_THROWS_WITH(load(nullptr), Contains("tokenizer.json") && Contains("'[CLS]'"));

    auto wrong_id = roberta;
    wrong_id["sep"] = {"</s>", 7};
    CHECK_THROWS_WITH(load(wrong_id), Contains("RobertaProcessing") && Contains("'</s>' (id 7)") &&
                                          Contains("the vocabulary gives it id 2"));
    auto unknown = roberta;
    unknown["cls"] = {"[CLS]", 101};
    CHECK_THROWS_WITH(load(unknown), Contains("'[CLS]' (id 101)") && Contains("has no such token"));
    auto only_text = bert;
    only_text["single"] = {{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}};
    CHECK_THROWS_WITH(load(only_text), Contains("TemplateProcessing") && Contains("accepted: a special token, the text"));
    CHECK_THROWS_WITH(load({{"type", "ByteLevel"}}),
                      Contains("post_processor 'ByteLevel' is not supported") &&
                          Contains("accepted: TemplateProcessing, BertProcessing, RobertaProcessing"));
}

TEST_CASE("a tokenizer.json pads with the pad_token of the tokenizer_config.json beside it", "[tokenizer]") {
    TempDir dir;
    std::filesystem::copy_file(parity_fixture_dir("mpnet") / "tokenizer.json", dir.path() / "tokenizer.json");
    // transformers saves MPNet's tokenizer.json without padding: without the config, BERT's [PAD].
    CHECK(load_tokenizer(dir.path(), "wordpiece")->pad_id() == 4);
    dir.write("tokenizer_config.json", R"({"pad_token": {"content": "<pad>"}})");
    CHECK(load_tokenizer(dir.path(), "wordpiece")->pad_id() == 1);
}

TEST_CASE("tokenizers give transformers' ids on hand-written cases", "[tokenizer]") {
    if (!have_models())
        MSA_SKIP(models_dir() << " lacks all-MiniLM-L6-v2 or clip-bpe; run scripts/fetch-models");
    const auto wordpiece = load_tokenizer(models_dir() / "all-MiniLM-L6-v2", "wordpiece");
    const auto clip = load_tokenizer(models_dir() / "clip-bpe", "clip-bpe");
    const auto cases = nlohmann::json::parse(read_bytes(fixtures / "cases.json"));
    REQUIRE(cases.size() >= 10);
    for (const auto& c : cases) {
        const std::string text = c["text"];
        INFO("text: " << text);
        CHECK(wordpiece->encode(text, 0) == ids_of(c["wordpiece"]));
        CHECK(wordpiece->encode(text, 128) == ids_of(c["wordpiece_128"]));
        CHECK(clip->encode(text, 0) == ids_of(c["clip"]));
        CHECK(clip->encode(text, 77) == ids_of(c["clip_77"]));
    }
    // Batches pad with the pad id and mask the padding.
    const auto batch = tokenize_batch(*wordpiece, {"a b c d", "a"}, 0);
    CHECK(batch.ids.sizes() == at::IntArrayRef{2, 6});
    CHECK(batch.mask.sum().item<std::int64_t>() == 9);
    CHECK(batch.ids[1][5].item<std::int64_t>() == wordpiece->pad_id());
}

TEST_CASE("tokenizers give transformers' ids on every mvsa-ecnu text", "[tokenizer]") {
    const auto data = mvsa_ecnu_dir() / "data";
    if (!have_models() || !std::filesystem::exists(data))
        MSA_SKIP("needs " << data << " (../shared) and models/ (scripts/fetch-models)");
    const auto wordpiece = load_tokenizer(models_dir() / "all-MiniLM-L6-v2", "wordpiece");
    const auto clip = load_tokenizer(models_dir() / "clip-bpe", "clip-bpe");
    std::istringstream rows(gunzip(fixtures / "mvsa-ecnu-ids.tsv.gz"));
    std::vector<std::string> decoding, wordpiece_wrong, clip_wrong;
    std::size_t texts = 0;
    double wordpiece_seconds = 0, clip_seconds = 0;
    for (std::string line; std::getline(rows, line);) {
        std::istringstream fields(line);
        std::string guid, text_sha, wp_count, wp_sha, clip_count, clip_sha;
        fields >> guid >> text_sha >> wp_count >> wp_sha >> clip_count >> clip_sha;
        ++texts;
        // The dataset is GB18030 throughout; msa's reader decides the same ("auto").
        const std::string text = media::decode_text(read_bytes(data / (guid + ".txt")), "gb18030");
        if (short_sha(text) != text_sha) {
            decoding.push_back(guid);
            continue;
        }
        auto start = std::chrono::steady_clock::now();
        const auto wp = wordpiece->encode(text, 0);
        auto middle = std::chrono::steady_clock::now();
        const auto cl = clip->encode(text, 0);
        auto end = std::chrono::steady_clock::now();
        wordpiece_seconds += std::chrono::duration<double>(middle - start).count();
        clip_seconds += std::chrono::duration<double>(end - middle).count();
        if (std::to_string(wp.size()) != wp_count || id_digest(wp) != wp_sha) wordpiece_wrong.push_back(guid);
        if (std::to_string(cl.size()) != clip_count || id_digest(cl) != clip_sha) clip_wrong.push_back(guid);
    }
    auto first = [](const std::vector<std::string>& guids) {
        std::string out;
        for (std::size_t i = 0; i < std::min<std::size_t>(10, guids.size()); ++i) out += " " + guids[i];
        return out;
    };
    WARN(texts << " texts; WordPiece " << texts / wordpiece_seconds << " texts/s, CLIP BPE " << texts / clip_seconds
               << " texts/s (one thread)");
    CHECK(texts == 4869);
    INFO("decoded differently from Python's gb18030:" << first(decoding));
    CHECK(decoding.empty());
    INFO("WordPiece differs (scripts/make-tokenizer-fixtures.py --show GUID):" << first(wordpiece_wrong));
    CHECK(wordpiece_wrong.empty());
    INFO("CLIP BPE differs:" << first(clip_wrong));
    CHECK(clip_wrong.empty());
}

TEST_CASE("tokenizers give transformers' ids on every Unicode code point", "[tokenizer][code-points]") {
    if (!have_models())
        MSA_SKIP(models_dir() << " lacks all-MiniLM-L6-v2 or clip-bpe; run scripts/fetch-models");
    const auto wordpiece = load_tokenizer(models_dir() / "all-MiniLM-L6-v2", "wordpiece");
    const auto clip = load_tokenizer(models_dir() / "clip-bpe", "clip-bpe");
    // For debugging: MSA_SHOW_BLOCK=HEX prints our ids in the format of
    // `scripts/make-tokenizer-fixtures.py --show-block HEX`, so that the two can be diffed.
    if (const char* show = std::getenv("MSA_SHOW_BLOCK")) {
        std::string value = show;
        if (value.rfind("U+", 0) == 0 || value.rfind("u+", 0) == 0) value = value.substr(2);
        const auto first = static_cast<std::uint32_t>(std::stoul(value, nullptr, 16)) / code_point_block * code_point_block;
        for (std::uint32_t cp = first; cp < first + code_point_block; ++cp)
            if (!is_surrogate(cp))
                std::printf("U+%s\twordpiece %s\tclip %s\n", hex(cp).c_str(),
                            ids_text(wordpiece->encode(probe_piece(cp), 0)).c_str(),
                            ids_text(clip->encode(probe_piece(cp), 0)).c_str());
    }
    std::istringstream rows(gunzip(fixtures / "code-points.tsv.gz"));
    std::vector<std::string> wordpiece_wrong, clip_wrong;
    std::size_t blocks = 0, decomposed_blocks = 0;
    for (std::string line; std::getline(rows, line);) {
        std::istringstream fields(line);
        std::string kind, first_hex, wp_count, wp_sha, clip_count, clip_sha;
        fields >> kind >> first_hex >> wp_count >> wp_sha >> clip_count >> clip_sha;
        REQUIRE((kind == "x" || kind == "nfd"));
        REQUIRE(!clip_sha.empty());
        const auto first = static_cast<std::uint32_t>(std::stoul(first_hex, nullptr, 16));
        std::string text, range = "U+" + hex(first) + "..U+" + hex(first + code_point_block - 1);
        if (kind == "x") {
            ++blocks;
            text = block_probe(first);
        } else {
            // The block's characters written decomposed: the probe is in the row (from
            // Python's unicodedata), so the test does not depend on a Unicode library.
            ++decomposed_blocks;
            fields.get();
            std::getline(fields, text);
            range += " decomposed";
        }
        const auto wp = wordpiece->encode(text, 0);
        const auto cl = clip->encode(text, 0);
        if (std::to_string(wp.size()) != wp_count || id_digest(wp) != wp_sha) wordpiece_wrong.push_back(range);
        if (std::to_string(cl.size()) != clip_count || id_digest(cl) != clip_sha) clip_wrong.push_back(range);
    }
    auto first = [](const std::vector<std::string>& ranges) {
        std::string out = std::to_string(ranges.size()) + " blocks:";
        for (std::size_t i = 0; i < std::min<std::size_t>(8, ranges.size()); ++i) out += " " + ranges[i];
        return out;
    };
    // Every block from U+0000 to U+10FFFF but the 8 of surrogates.
    CHECK(blocks == 0x110000 / code_point_block - 8);
    CHECK(decomposed_blocks > 50);
    INFO("WordPiece differs on " << first(wordpiece_wrong)
                                 << " (compare scripts/make-tokenizer-fixtures.py --show-block HEX with "
                                    "MSA_SHOW_BLOCK=HEX msa_tests \"[code-points]\")");
    CHECK(wordpiece_wrong.empty());
    INFO("CLIP BPE differs on " << first(clip_wrong));
    CHECK(clip_wrong.empty());
}

TEST_CASE("added tokens follow their lstrip, rstrip, single_word and normalized flags", "[tokenizer]") {
    if (!have_models())
        MSA_SKIP(models_dir() << " lacks all-MiniLM-L6-v2 or clip-bpe; run scripts/fetch-models");
    // Folders as the fixture script built them: the model's vocabulary files and a
    // tokenizer_config.json whose added_tokens_decoder sets the flags.
    const auto fixture = nlohmann::json::parse(read_bytes(fixtures / "added-tokens.json"));
    TempDir dir;
    const std::vector<std::pair<std::string, std::vector<std::filesystem::path>>> folders{
        {"wordpiece", {models_dir() / "all-MiniLM-L6-v2" / "vocab.txt"}},
        {"clip", {models_dir() / "clip-bpe" / "vocab.json", models_dir() / "clip-bpe" / "merges.txt"}}};
    for (const auto& [name, files] : folders) {
        std::filesystem::create_directories(dir.path() / name);
        for (const auto& file : files) std::filesystem::copy_file(file, dir.path() / name / file.filename());
        std::ofstream(dir.path() / name / "tokenizer_config.json") << fixture["configs"][name].dump();
    }
    const auto wordpiece = load_tokenizer(dir.path() / "wordpiece", "wordpiece");
    const auto clip = load_tokenizer(dir.path() / "clip", "clip-bpe");
    REQUIRE(fixture["cases"].size() >= 5);
    for (const auto& c : fixture["cases"]) {
        const std::string text = c["text"];
        INFO("text: " << text);
        CHECK(wordpiece->encode(text, 0) == ids_of(c["wordpiece"]));
        CHECK(clip->encode(text, 0) == ids_of(c["clip"]));
    }
    // The flags are part of what the ids depend on.
    CHECK(wordpiece->cache_key() != load_tokenizer(models_dir() / "all-MiniLM-L6-v2", "wordpiece")->cache_key());
    CHECK(clip->cache_key() != load_tokenizer(models_dir() / "clip-bpe", "clip-bpe")->cache_key());
}

// ---- Byte-level BPE (GPT-2, RoBERTa) ---------------------------------------------------
// On the tiny tokenizer of scripts/make-byte-bpe-fixtures.py, which needs no models/.

namespace {

const auto byte_bpe_dir = fixtures / "byte-bpe";

nlohmann::json byte_bpe_cases() { return nlohmann::json::parse(read_bytes(fixtures / "byte-bpe-cases.json")); }

// A copy of the byte-bpe folder with some of its files, JSON files edited by `edit`.
std::filesystem::path byte_bpe_copy(TempDir& dir, const std::string& name, const std::vector<std::string>& files,
                                    const std::function<void(const std::string&, nlohmann::json&)>& edit = {}) {
    const auto folder = dir.path() / name;
    std::filesystem::create_directories(folder);
    for (const auto& file : files) {
        if (edit && file.size() > 5 && file.substr(file.size() - 5) == ".json") {
            auto json = nlohmann::json::parse(read_bytes(byte_bpe_dir / file));
            edit(file, json);
            std::ofstream(folder / file) << json.dump();
        } else {
            std::filesystem::copy_file(byte_bpe_dir / file, folder / file);
        }
    }
    return folder;
}

// GPT-2's bytes_to_unicode, for the probe tokenizer below.
std::vector<std::string> gpt2_byte_symbols() {
    std::vector<std::string> out;
    std::uint32_t extra = 0;
    for (std::uint32_t b = 0; b < 256; ++b) {
        const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
        out.push_back(utf8_of(printable ? b : 256 + extra++));
    }
    return out;
}

} // namespace

TEST_CASE("byte-level BPE gives transformers' ids on a tiny RoBERTa tokenizer", "[tokenizer]") {
    const auto fixture = byte_bpe_cases();
    const auto& cases = fixture["cases"];
    REQUIRE(cases.size() >= 30);
    const auto tokenizer = load_tokenizer(byte_bpe_dir, "byte-bpe");
    CHECK(tokenizer->vocab_size() == 540);
    CHECK(tokenizer->pad_id() == 1);
    // tokenizer_config.json's add_prefix_space is what transformers builds the pre-tokenizer
    // from: set there alone, or in both files, it gives the same ids.
    TempDir dir;
    const auto prefix = load_tokenizer(
        byte_bpe_copy(dir, "prefix", {"tokenizer.json", "tokenizer_config.json"},
                      [](const std::string& file, nlohmann::json& json) {
                          if (file == "tokenizer.json") json["pre_tokenizer"]["add_prefix_space"] = true;
                          else json["add_prefix_space"] = true;
                      }),
        "byte-bpe");
    const auto prefix_by_config = load_tokenizer(
        byte_bpe_copy(dir, "prefix-config", {"tokenizer.json", "tokenizer_config.json"},
                      [](const std::string& file, nlohmann::json& json) {
                          if (file == "tokenizer_config.json") json["add_prefix_space"] = true;
                      }),
        "byte-bpe");
    // vocab.json + merges.txt, the added tokens' flags from added_tokens_decoder.
    const auto files = load_tokenizer(byte_bpe_copy(dir, "files", {"vocab.json", "merges.txt"}), "byte-bpe");
    std::ofstream(dir.path() / "files" / "tokenizer_config.json") << fixture["files_config"].dump();
    const auto flagged = load_tokenizer(dir.path() / "files", "byte-bpe");
    for (const auto& c : cases) {
        const std::string text = c["text"];
        INFO("text: " << text);
        CHECK(tokenizer->encode(text, 0) == ids_of(c["ids"]));
        CHECK(tokenizer->encode(text, 16) == ids_of(c["ids_16"]));
        CHECK(prefix->encode(text, 0) == ids_of(c["prefix_space"]));
        CHECK(prefix_by_config->encode(text, 0) == ids_of(c["prefix_space"]));
        CHECK(flagged->encode(text, 0) == ids_of(c["files"]));
        // Without a tokenizer_config.json, transformers gives <mask> no lstrip.
        if (text.find("<mask>") == std::string::npos) CHECK(files->encode(text, 0) == ids_of(c["ids"]));
    }
    const auto byte_bpe = ByteLevelBpeTokenizer::from_tokenizer_json(byte_bpe_dir / "tokenizer.json");
    // Words keep the space before them; <mask> takes the one before it (lstrip).
    CHECK(byte_bpe->tokenize("It was <mask>.") == std::vector<std::string>{"It", "\u0120was", "<mask>", "."});
    CHECK(byte_bpe->tokenize("a  b\n") == std::vector<std::string>{"a", "\u0120", "\u0120b", "\u010A"});
    CHECK(files->encode("It was <mask>.", 0) != tokenizer->encode("It was <mask>.", 0));
    // What changes the ids changes the cache key.
    CHECK(prefix->cache_key() != tokenizer->cache_key());
    CHECK(flagged->cache_key() != files->cache_key());
    CHECK(tokenizer->cache_key().rfind("byte-bpe:", 0) == 0);
}

TEST_CASE("byte-level BPE gives transformers' ids on every Unicode code point", "[tokenizer][code-points]") {
    // The probe tokenizer of scripts/make-byte-bpe-fixtures.py: merges that join a byte to
    // "!" after it, to "x" before and after it and to the space before it, so the ids show
    // how GPT-2's pattern classes each character.
    const auto symbols = gpt2_byte_symbols();
    std::unordered_map<std::string, std::int64_t> vocab;
    std::vector<std::string> tokens{"<s>", "<pad>", "</s>", "<unk>"};
    tokens.insert(tokens.end(), symbols.begin(), symbols.end());
    for (const auto& t : tokens) vocab.emplace(t, static_cast<std::int64_t>(vocab.size()));
    std::vector<std::pair<std::string, std::string>> merges;
    const std::string space = symbols[' '];
    for (int set = 0; set < 4; ++set)
        for (const auto& b : symbols) {
            const std::pair<std::string, std::string> pair = set == 0   ? std::make_pair(b, std::string("!"))
                                                             : set == 1 ? std::make_pair(std::string("x"), b)
                                                             : set == 2 ? std::make_pair(b, std::string("x"))
                                                                        : std::make_pair(space, b);
            if (std::find(merges.begin(), merges.end(), pair) != merges.end()) continue;
            merges.push_back(pair);
            if (vocab.emplace(pair.first + pair.second, static_cast<std::int64_t>(vocab.size())).second)
                tokens.push_back(pair.first + pair.second);
        }
    std::string vocab_lines, merge_lines;
    for (std::size_t i = 0; i < tokens.size(); ++i) vocab_lines += (i ? "\n" : "") + std::to_string(i) + "\t" + tokens[i];
    for (std::size_t i = 0; i < merges.size(); ++i) merge_lines += (i ? "\n" : "") + merges[i].first + " " + merges[i].second;
    ByteLevelBpeTokenizer probe(vocab, merges, ByteLevelBpeOptions{}, "probe tokenizer");

    std::istringstream rows(gunzip(fixtures / "byte-bpe-code-points.tsv.gz"));
    std::string header;
    std::getline(rows, header);
    INFO("the probe tokenizer differs from the script's (scripts/make-byte-bpe-fixtures.py)");
    REQUIRE(header == "tokenizer\t" + std::to_string(vocab.size()) + "\t" + short_sha(vocab_lines) + "\t" +
                          short_sha(merge_lines));
    std::vector<std::string> wrong;
    std::size_t blocks = 0;
    for (std::string line; std::getline(rows, line);) {
        std::istringstream fields(line);
        std::string kind, first_hex, count, sha;
        fields >> kind >> first_hex >> count >> sha;
        REQUIRE(kind == "x");
        ++blocks;
        const auto first = static_cast<std::uint32_t>(std::stoul(first_hex, nullptr, 16));
        std::string text;
        for (std::uint32_t cp = first; cp < first + code_point_block; ++cp) {
            if (is_surrogate(cp)) continue;
            if (!text.empty()) text += ' ';
            text += "x" + utf8_of(cp) + "x " + utf8_of(cp) + "!";
        }
        const auto ids = probe.encode(text, 0);
        if (std::to_string(ids.size()) != count || id_digest(ids) != sha)
            wrong.push_back("U+" + hex(first) + "..U+" + hex(first + code_point_block - 1));
    }
    CHECK(blocks == 0x110000 / code_point_block - 8);
    std::string shown;
    for (std::size_t i = 0; i < std::min<std::size_t>(8, wrong.size()); ++i) shown += " " + wrong[i];
    INFO(wrong.size() << " blocks differ:" << shown);
    CHECK(wrong.empty());
}

TEST_CASE("bad byte-level BPE files are clear errors naming the file and what is accepted", "[tokenizer]") {
    TempDir dir;
    CHECK_THROWS_WITH(load_tokenizer(dir.path(), "byte-bpe"),
                      Contains(dir.path().string()) && Contains("vocab.json + merges.txt"));
    CHECK_THROWS_WITH(load_tokenizer(dir.path(), "gpt2"), Contains("accepted: wordpiece, clip-bpe, byte-bpe"));
    const std::vector<std::string> json_files{"tokenizer.json", "tokenizer_config.json"};
    int n = 0;
    auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
        const auto folder = byte_bpe_copy(dir, "edited" + std::to_string(n++), json_files,
                                          [&](const std::string& file, nlohmann::json& json) {
                                              if (file == "tokenizer.json") edit(json);
                                          });
        return [folder] { load_tokenizer(folder, "byte-bpe"); };
    };
    SECTION("another tokenizer's tokenizer.json") {
        std::filesystem::copy_file(parity_fixture_dir("mpnet") / "tokenizer.json", dir.path() / "tokenizer.json");
        CHECK_THROWS_WITH(load_tokenizer(dir.path(), "byte-bpe"),
                          Contains("tokenizer.json") && Contains("model type is 'WordPiece', not BPE") &&
                              Contains("accepted: a byte-level BPE"));
        CHECK_THROWS_WITH(edited([](nlohmann::json& j) { j["normalizer"] = {{"type", "NFC"}}; })(),
                          Contains("normalizer 'NFC' is not supported; accepted: none"));
        CHECK_THROWS_WITH(edited([](nlohmann::json& j) { j["pre_tokenizer"] = {{"type", "Metaspace"}}; })(),
                          Contains("pre_tokenizer 'Metaspace' is not supported; accepted: ByteLevel"));
        CHECK_THROWS_WITH(edited([](nlohmann::json& j) { j["model"]["end_of_word_suffix"] = "</w>"; })(),
                          Contains("model.end_of_word_suffix is \"</w>\"") && Contains("kind clip-bpe"));
        CHECK_THROWS_WITH(edited([](nlohmann::json& j) { j["model"]["dropout"] = 0.1; })(),
                          Contains("model.dropout is 0.1; accepted: null"));
        CHECK_THROWS_WITH(edited([](nlohmann::json& j) { j["post_processor"] = {{"type", "ByteLevel"}}; })(),
                          Contains("post_processor 'ByteLevel' is not supported"));
    }
    SECTION("a merge the vocabulary cannot give an id, a token without an integer id") {
        CHECK_THROWS_WITH(edited([](nlohmann::json& j) { j["model"]["merges"].push_back({"\u0120zz", "q"}); })(),
                          Contains("tokenizer.json") && Contains("merge 280 '\u0120zz q'") &&
                              Contains("the vocabulary has no '\u0120zz' token"));
        CHECK_THROWS_WITH(edited([](nlohmann::json& j) { j["model"]["merges"].push_back({"q", "z"}); })(),
                          Contains("merge 280 'q z'") && Contains("no 'qz' token (what the merge makes)"));
        CHECK_THROWS_WITH(edited([](nlohmann::json& j) { j["model"]["vocab"]["q"] = "81"; })(),
                          Contains("model.vocab: token 'q' has id \"81\"; accepted: a non-negative integer"));
        CHECK_THROWS_WITH(edited([](nlohmann::json& j) { j["model"]["vocab"].erase("<pad>"); })(),
                          Contains("the vocabulary has no '<pad>' token"));
    }
    SECTION("vocab.json + merges.txt") {
        const auto folder = byte_bpe_copy(dir, "files", {"vocab.json"});
        std::ofstream(folder / "merges.txt") << "#version: 0.2\n\u0120 w\nthree parts here\n";
        CHECK_THROWS_WITH(load_tokenizer(folder, "byte-bpe"), Contains("merges.txt:3") && Contains("two symbols"));
        std::ofstream(folder / "merges.txt") << "#version: 0.2\n\u0120 w\n";
        std::ofstream(folder / "tokenizer_config.json") << R"({"add_prefix_space": "yes"})";
        CHECK_THROWS_WITH(load_tokenizer(folder, "byte-bpe"),
                          Contains("tokenizer_config.json") && Contains("add_prefix_space is \"yes\"; accepted: true or false"));
        std::ofstream(folder / "tokenizer_config.json") << R"({"pad_token": "[PAD]"})";
        CHECK_THROWS_WITH(load_tokenizer(folder, "byte-bpe"),
                          Contains("vocab.json") && Contains("the vocabulary has no '[PAD]' token"));
    }
}

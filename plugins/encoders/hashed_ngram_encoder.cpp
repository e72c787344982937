// hashed-ngram: a text encoder with no checkpoint. Word or character n-grams are
// hashed (FNV-1a, signed) into a fixed-width vector: a fast, dependency-free baseline
// and the encoder that exercises the pipeline on a fresh machine.
//
// | parameter | type   | default | meaning                                       |
// | dim       | int    | 1024    | output width (hash buckets)                   |
// | analyzer  | string | word    | word: whitespace/punctuation tokens; char: code points |
// | ngram_min | int    | 1       | shortest n-gram                               |
// | ngram_max | int    | 2       | longest n-gram                                |
// | lowercase | bool   | true    | ASCII lower-casing before hashing             |
// | normalize | bool   | true    | scale each vector to unit L2 norm             |
#include <msa/encoder.hpp>
#include <msa/plugin.hpp>

#include <ATen/Functions.h>

#include <cctype>
#include <cmath>
#include <string>
#include <vector>

namespace {

std::uint64_t fnv1a(const std::string& text) {
    std::uint64_t hash = 14695981039346656037ull;
    for (unsigned char c : text) {
        hash ^= c;
        hash *= 1099511628211ull;
    }
    return hash;
}

// Splits UTF-8 into code points; invalid bytes stand alone, so any input works.
std::vector<std::string> code_points(const std::string& text) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < text.size();) {
        const unsigned char lead = static_cast<unsigned char>(text[i]);
        std::size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 1;
        if (i + length > text.size()) length = 1;
        for (std::size_t k = 1; k < length; ++k)
            if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) length = 1;
        out.push_back(text.substr(i, length));
        i += length;
    }
    return out;
}

// Words: runs of ASCII alphanumerics or non-ASCII bytes; ASCII punctuation is a token
// of its own (it carries sentiment: "!!", ":)"); whitespace separates.
std::vector<std::string> words(const std::string& text) {
    std::vector<std::string> out;
    std::string current;
    auto flush = [&] {
        if (!current.empty()) out.push_back(std::move(current));
        current.clear();
    };
    for (char ch : text) {
        const unsigned char c = static_cast<unsigned char>(ch);
        if (c >= 0x80 || std::isalnum(c) || c == '#' || c == '@' || c == '_') {
            current += ch;
        } else {
            flush();
            if (!std::isspace(c)) out.emplace_back(1, ch);
        }
    }
    flush();
    return out;
}

class HashedNgramEncoder final : public msa::Encoder {
public:
    explicit HashedNgramEncoder(const msa::Properties& props)
        : dim_(props.get_int("dim")), char_analyzer_(props.get_string("analyzer") == "char"),
          ngram_min_(props.get_int("ngram_min")), ngram_max_(props.get_int("ngram_max")),
          lowercase_(props.get_bool("lowercase")), normalize_(props.get_bool("normalize")) {
        if (ngram_min_ > ngram_max_)
            throw msa::ConfigError(props.where("ngram_min"), "ngram_min (" + std::to_string(ngram_min_) +
                                                                 ") is larger than ngram_max (" +
                                                                 std::to_string(ngram_max_) + ")");
    }

    msa::Modality modality() const override { return msa::Modality::text; }
    std::int64_t dim() const override { return dim_; }

    std::string cache_key() const override {
        return "dim=" + std::to_string(dim_) + ";analyzer=" + (char_analyzer_ ? "char" : "word") +
               ";ngram=" + std::to_string(ngram_min_) + "-" + std::to_string(ngram_max_) +
               ";lowercase=" + std::to_string(lowercase_) + ";normalize=" + std::to_string(normalize_);
    }

    msa::Features encode(const msa::EncoderBatch& batch) override {
        const auto n = static_cast<std::int64_t>(batch.samples.size());
        at::Tensor pooled = at::zeros({n, dim_}, at::kFloat);
        auto rows = pooled.accessor<float, 2>();
        for (std::int64_t row = 0; row < n; ++row) {
            std::string text = batch.samples[static_cast<std::size_t>(row)]->text;
            if (lowercase_)
                for (char& c : text)
                    if (static_cast<unsigned char>(c) < 0x80) c = static_cast<char>(std::tolower(c));
            const auto units = char_analyzer_ ? code_points(text) : words(text);
            const std::string joiner = char_analyzer_ ? "" : " ";
            for (std::int64_t len = ngram_min_; len <= ngram_max_; ++len)
                for (std::size_t start = 0; start + static_cast<std::size_t>(len) <= units.size(); ++start) {
                    std::string gram = units[start];
                    for (std::int64_t k = 1; k < len; ++k) gram += joiner + units[start + static_cast<std::size_t>(k)];
                    const std::uint64_t hash = fnv1a(gram);
                    // The top bit picks the sign, so colliding n-grams cancel on average.
                    rows[row][static_cast<std::int64_t>(hash % static_cast<std::uint64_t>(dim_))] +=
                        (hash >> 63) ? -1.0f : 1.0f;
                }
            if (normalize_) {
                double norm = 0;
                for (std::int64_t j = 0; j < dim_; ++j) norm += double(rows[row][j]) * rows[row][j];
                if (norm > 0)
                    for (std::int64_t j = 0; j < dim_; ++j) rows[row][j] = float(rows[row][j] / std::sqrt(norm));
            }
        }
        return {pooled, {}, {}};
    }

private:
    std::int64_t dim_;
    bool char_analyzer_;
    std::int64_t ngram_min_;
    std::int64_t ngram_max_;
    bool lowercase_;
    bool normalize_;
};

void register_plugins(msa::Registry& registry) {
    registry.add_encoder(
        {"hashed-ngram",
         "Text encoder without a checkpoint: word or character n-grams hashed into a fixed-width vector.",
         {msa::ParamSpec::integer("dim", 1024, "Output width (number of hash buckets)").range(1, 1 << 20),
          msa::ParamSpec::choice("analyzer", "word", {"word", "char"},
                                 "word: tokens split at whitespace and ASCII punctuation; char: Unicode code points"),
          msa::ParamSpec::integer("ngram_min", 1, "Shortest n-gram").range(1, 16),
          msa::ParamSpec::integer("ngram_max", 2, "Longest n-gram").range(1, 16),
          msa::ParamSpec::boolean("lowercase", true, "Lower-case ASCII letters before hashing"),
          msa::ParamSpec::boolean("normalize", true, "Scale every vector to unit L2 norm")}},
        [](const msa::Properties& props) { return std::make_shared<HashedNgramEncoder>(props); });
}

} // namespace

MSA_PLUGIN(register_plugins)

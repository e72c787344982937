// The byte-level BPE tokenizer of the committed fixture (tests/fixtures/tokenizers/byte-bpe)
// on arbitrary bytes as text: ids within the vocabulary, at most max_length, <s> first and
// </s> last.
#include "fuzz_target.hpp"

#include <msa/models/tokenizer.hpp>

MSA_FUZZ_TARGET(byte_bpe) {
    static const auto tokenizer =
        msa::models::ByteLevelBpeTokenizer::from_tokenizer_json(MSA_FIXTURE_DIR "/tokenizers/byte-bpe/tokenizer.json");
    static const auto ends = tokenizer->encode("", 8);
    if (ends.size() != 2) msa::fuzz::fail("byte_bpe: an empty text is not <s> </s>");
    const std::string text(reinterpret_cast<const char*>(data), size);
    for (const std::int64_t max_length : {8, 100000}) {
        const auto ids = tokenizer->encode(text, max_length);
        if (ids.size() < 2 || static_cast<std::int64_t>(ids.size()) > max_length)
            msa::fuzz::fail("byte_bpe: " + std::to_string(ids.size()) + " ids for max_length " + std::to_string(max_length));
        if (ids.front() != ends.front() || ids.back() != ends.back()) msa::fuzz::fail("byte_bpe: not <s> ... </s>");
        for (const auto id : ids)
            if (id < 0 || id >= tokenizer->vocab_size()) msa::fuzz::fail("byte_bpe: id outside the vocabulary");
    }
    (void)tokenizer->tokenize(text);
}

// The WordPiece tokenizer of the committed BERT fixture (tests/fixtures/parity/bert-mlm) on
// arbitrary bytes as text: ids within the vocabulary, at most max_length of them,
// [CLS] first and [SEP] last.
#include "fuzz_target.hpp"

#include <msa/models/tokenizer.hpp>

MSA_FUZZ_TARGET(wordpiece) {
    static const auto tokenizer = msa::models::WordPieceTokenizer::from_tokenizer_json(MSA_FIXTURE_DIR "/parity/bert-mlm/tokenizer.json");
    static const auto cls = tokenizer->encode("", 8);
    if (cls.size() != 2) msa::fuzz::fail("wordpiece: an empty text is not [CLS] [SEP]");
    const std::string text(reinterpret_cast<const char*>(data), size);
    for (const std::int64_t max_length : {8, 512}) {
        const auto ids = tokenizer->encode(text, max_length);
        if (ids.size() < 2 || static_cast<std::int64_t>(ids.size()) > max_length)
            msa::fuzz::fail("wordpiece: " + std::to_string(ids.size()) + " ids for max_length " + std::to_string(max_length));
        if (ids.front() != cls.front() || ids.back() != cls.back()) msa::fuzz::fail("wordpiece: not [CLS] ... [SEP]");
        for (const auto id : ids)
            if (id < 0 || id >= tokenizer->vocab_size()) msa::fuzz::fail("wordpiece: id outside the vocabulary");
    }
    (void)tokenizer->tokenize(text);
}

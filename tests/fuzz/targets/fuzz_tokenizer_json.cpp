// tokenizer.json (and, after a "\n----\n" line, tokenizer_config.json) as load_tokenizer
// reads a model folder, for each tokenizer kind; an accepted tokenizer then encodes a few
// texts within max_length, with ids that are not negative.
#include "fuzz_target.hpp"

#include <msa/models/tokenizer.hpp>

#include <filesystem>

namespace fs = std::filesystem;

MSA_FUZZ_TARGET(tokenizer_json) {
    const auto parts = msa::fuzz::split_parts({reinterpret_cast<const char*>(data), size}, 2);
    const fs::path folder = msa::fuzz::fresh_folder("tokenizer");
    msa::fuzz::write_scratch("tokenizer/tokenizer.json", parts[0]);
    if (parts.size() > 1) msa::fuzz::write_scratch("tokenizer/tokenizer_config.json", parts[1]);
    for (const char* kind : {"wordpiece", "byte-bpe", "clip-bpe"}) {
        std::unique_ptr<msa::models::Tokenizer> tokenizer;
        try {
            tokenizer = msa::models::load_tokenizer(folder, kind);
        } catch (const msa::Error& e) {
            if (!*e.what()) msa::fuzz::fail("tokenizer_json: an msa::Error with an empty message");
            continue;
        }
        for (const char* text : {"", "Hello, world! #happy", "  caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd [MASK] <mask>"}) {
            const auto ids = tokenizer->encode(text, 16);
            if (ids.size() > 16) msa::fuzz::fail(std::string("tokenizer_json: ") + kind + " gave more than max_length ids");
            for (const auto id : ids)
                if (id < 0) msa::fuzz::fail(std::string("tokenizer_json: ") + kind + " gave a negative id");
        }
        if (tokenizer->pad_id() < 0) msa::fuzz::fail(std::string("tokenizer_json: ") + kind + " has a negative pad id");
    }
}

// The jsonl layout: a folder holding posts.jsonl (the input up to a "\n----\n" line) and
// the text file data/9.txt (after it), beside fixed data/ files; read_dataset under both
// policies.
#include "dataset_fixture.hpp"

MSA_FUZZ_TARGET(jsonl_dataset) {
    const auto root = msa::fuzz::dataset_root("jsonl");
    const auto parts = msa::fuzz::split_parts({reinterpret_cast<const char*>(data), size}, 2);
    msa::fuzz::write_scratch("jsonl/posts.jsonl", parts[0]);
    msa::fuzz::write_scratch("jsonl/data/9.txt", parts.size() > 1 ? parts[1] : std::string_view("nine"));
    msa::DatasetConfig config;
    config.format = "jsonl";
    config.root = root;
    msa::fuzz::read_both_policies(config);
}

// The guid-tag layout: train.txt, test_without_label.txt and data/9.txt from one input
// (split at "\n----\n" lines) beside fixed data/ files; read_dataset under both policies,
// and read_listed_samples with train.txt as the list (msa predict's input).
#include "dataset_fixture.hpp"

MSA_FUZZ_TARGET(guid_tag_dataset) {
    namespace fs = std::filesystem;
    const fs::path root = msa::fuzz::dataset_root("guid-tag");
    const auto parts = msa::fuzz::split_parts({reinterpret_cast<const char*>(data), size}, 3);
    msa::fuzz::write_scratch("guid-tag/train.txt", parts[0]);
    std::error_code ec;
    fs::remove(root / "test_without_label.txt", ec);
    if (parts.size() > 1) msa::fuzz::write_scratch("guid-tag/test_without_label.txt", parts[1]);
    msa::fuzz::write_scratch("guid-tag/data/9.txt", parts.size() > 2 ? parts[2] : std::string_view("nine"));
    msa::DatasetConfig config;
    config.format = "guid-tag";
    config.root = root;
    msa::fuzz::read_both_policies(config);
    std::ostringstream log;
    const auto listed = msa::data::read_listed_samples(config, root / "train.txt", log);
    for (const auto& row : listed)
        if (row.sample.has_value() == row.problem.has_value())
            msa::fuzz::fail("guid_tag_dataset: a listed row has both or neither of a sample and a problem");
}

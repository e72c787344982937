// The MVSA layout: labelResult.txt and data/9.txt from one input (split at "\n----\n")
// beside fixed data/ files; read_dataset under both policies.
#include "dataset_fixture.hpp"

MSA_FUZZ_TARGET(mvsa_dataset) {
    const auto root = msa::fuzz::dataset_root("mvsa");
    const auto parts = msa::fuzz::split_parts({reinterpret_cast<const char*>(data), size}, 2);
    msa::fuzz::write_scratch("mvsa/labelResult.txt", parts[0]);
    msa::fuzz::write_scratch("mvsa/data/9.txt", parts.size() > 1 ? parts[1] : std::string_view("nine"));
    msa::DatasetConfig config;
    config.format = "mvsa";
    config.root = root;
    config.labels = {"positive", "neutral", "negative"};
    msa::fuzz::read_both_policies(config);
}

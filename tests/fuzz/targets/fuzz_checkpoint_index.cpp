// A sharded checkpoint folder: the fuzzed model.safetensors.index.json beside the two
// committed shards of tests/fixtures/checkpoints/sharded (and, after a "\n----\n" line,
// a fuzzed config.json). Every name the index maps is in the state dict that comes back.
#include "fuzz_target.hpp"

#include <msa/models/checkpoint.hpp>

#include <filesystem>

namespace fs = std::filesystem;

MSA_FUZZ_TARGET(checkpoint_index) {
    static const fs::path folder = [] {
        const fs::path f = msa::fuzz::fresh_folder("sharded");
        const fs::path fixtures = fs::path(MSA_FIXTURE_DIR) / "checkpoints/sharded";
        for (const char* shard : {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"})
            fs::copy_file(fixtures / shard, f / shard);
        return f;
    }();
    const auto parts = msa::fuzz::split_parts({reinterpret_cast<const char*>(data), size}, 2);
    msa::fuzz::write_scratch("sharded/model.safetensors.index.json", parts[0]);
    std::error_code ec;
    fs::remove(folder / "config.json", ec);
    if (parts.size() > 1) msa::fuzz::write_scratch("sharded/config.json", parts[1]);
    const msa::models::Checkpoint checkpoint = msa::models::load_checkpoint(folder);
    if (checkpoint.weight_files.empty()) msa::fuzz::fail("checkpoint_index: accepted without weight files");
    if (checkpoint.digest.size() != 64) msa::fuzz::fail("checkpoint_index: digest is not 64 hex digits");
    if (!checkpoint.config.is_object()) msa::fuzz::fail("checkpoint_index: config is not an object");
}

// A store file as FeatureStore sees it: the format attribute, opening and creating
// files, the locks readers and writers take, an encoder's group with its datasets
// (internal to host/store; the layout is in docs/feature-store.md).
#pragma once

#include "store/hdf5_io.hpp"
#include "store/store_lock.hpp"

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace msa::store::detail {

// 64 lower-case hex digits, as encoder_key() makes them.
bool is_key(const std::string& key);

// The first `shown` items quoted, and how many more there are.
std::string quoted_list(const std::vector<std::string>& items, std::size_t shown = 5);

// Fails unless `file` carries the store's format attribute with the version this msa reads.
void check_format(hid_t file, const Context& ctx);

// Opens a store read-only and checks its format.
Handle open_read(const std::filesystem::path& file, const Context& ctx);

// fsync(2) of a file by path.
void sync_file(const std::filesystem::path& file, const Context& ctx);

// A new, empty store at `path`: the root and its format attribute. Returns it open.
Handle create_store_file(const std::filesystem::path& path, const Context& ctx);

// Makes `path` a new complete store or leaves it absent: built beside it, then renamed.
void create_empty_store(const std::filesystem::path& path, const Context& ctx);

// An open group with its datasets and their shapes.
struct Group {
    Handle group, ids, pooled, tokens, mask;
    hsize_t count = 0; // rows of ids
    hsize_t dim = 0;
    hsize_t length = 0;
    hsize_t token_dim = 0;
    bool half = false;
    bool has_tokens() const { return bool(tokens); }
};

// Opens `key`'s group and checks its structure. With `problems`, every problem is
// added there and the group comes back as far as it could be opened; without, the
// first problem throws.
Group open_group(hid_t file, const std::string& key, const Context& ctx, std::vector<std::string>* problems = nullptr);

// Every group in the file as `msa cache ls` shows it, as far as it can be read.
std::vector<GroupInfo> list_groups(hid_t file, const std::filesystem::path& path);

// A shared lock on a store with no interrupted update left (one is rolled back first).
std::unique_ptr<StoreLock> read_lock(const std::filesystem::path& file);

// The exclusive lock, with any interrupted update rolled back.
std::unique_ptr<StoreLock> write_lock(const std::filesystem::path& file);

} // namespace msa::store::detail

// The feature store: encoder features of one dataset cached in one HDF5 file, a group
// per encoder key, written incrementally, safe against crashes and concurrent writers.
// Layout, guarantees and limits: docs/feature-store.md.
#pragma once

#include "store/encoder_key.hpp"

#include <msa/error.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace msa {

struct Features; // <msa/encoder.hpp>

// Anything wrong with a store or a request to it; the message names the file, the
// group key and the id concerned.
class StoreError : public Error {
public:
    using Error::Error;
};

struct StoreOptions {
    std::string dtype = "float32"; // how new groups store features: "float32" or "float16"
    int compression = 4;           // gzip level of new groups' features, 0 = none
};

// A batch of N rows as row-major float32 buffers, borrowed for the call.
struct FeatureView {
    std::int64_t rows = 0;
    std::int64_t dim = 0;           // D
    const float* pooled = nullptr;  // [rows, dim]
    std::int64_t length = 0;        // T; 0 when the encoder makes no token sequence
    std::int64_t token_dim = 0;     // width of a token feature
    const float* tokens = nullptr;  // [rows, length, token_dim]
    const float* mask = nullptr;    // [rows, length]: nonzero for real tokens
};

// Features read back as float32, rows in the order they were asked for. `length` is the
// group's T (the longest sequence stored); shorter sequences are zero-padded, mask 0.
struct FeatureArrays {
    std::int64_t rows = 0;
    std::int64_t dim = 0;
    std::int64_t length = 0;
    std::int64_t token_dim = 0;
    std::vector<float> pooled; // [rows, dim]
    std::vector<float> tokens; // [rows, length, token_dim]; empty without tokens
    std::vector<float> mask;   // [rows, length], 0 or 1
};

// One group, as `msa cache ls` shows it.
struct GroupInfo {
    std::string key;
    EncoderMeta meta;
    std::string dtype;   // "float32" or "float16"
    std::string created; // UTC, ISO 8601
    std::int64_t count = 0;
    std::int64_t dim = 0;
    std::int64_t length = 0;    // 0 without tokens
    std::int64_t token_dim = 0; // 0 without tokens
    std::uint64_t bytes = 0;    // storage of its datasets in the file
};

struct VerifyReport {
    struct Problem {
        std::string key; // empty: the file as a whole
        std::string message;
    };
    std::vector<Problem> problems;
    std::size_t groups = 0; // groups examined
    std::int64_t ids = 0;   // ids in the groups that are sound
    bool ok() const { return problems.empty(); }
};

struct PruneReport {
    std::vector<GroupInfo> removed;
    std::uint64_t bytes_before = 0; // file size
    std::uint64_t bytes_after = 0;
};

// Every call opens the file, works under the store's lock and closes it again, so any
// number of FeatureStore objects and processes may share a file. Not for concurrent
// use by threads of one process beyond what a process-wide mutex serializes (HDF5 is
// built without thread safety).
class FeatureStore {
public:
    // The file is created by the first append(); its folder too.
    explicit FeatureStore(std::filesystem::path file, StoreOptions options = {});

    const std::filesystem::path& file() const { return file_; }
    const StoreOptions& options() const { return options_; }

    // The ids of `ids` that `key` has no features for, in order, each once. All of them
    // when the file or the group does not exist.
    std::vector<std::string> missing(const std::string& key, const std::vector<std::string>& ids) const;

    // Every id stored under `key`, in storage order; empty when there is no such group.
    std::vector<std::string> ids(const std::string& key) const;

    // Adds one batch to `key`'s group (created with `meta` and the store's options on
    // first use). Ids already stored are skipped, checked again under the write lock,
    // so concurrent encoders of the same key never store an id twice. The batch is
    // stored completely or not at all, and is durable against a crash of this process
    // once append() returns. Returns how many rows were added.
    std::size_t append(const std::string& key, const EncoderMeta& meta, const std::vector<std::string>& ids,
                       const FeatureView& batch);
    // The same for an encoder's output: CPU or GPU tensors of any floating type.
    std::size_t append(const std::string& key, const EncoderMeta& meta, const std::vector<std::string>& ids,
                       const Features& batch);

    // The features of `ids`, in that order (an id may repeat). An id that is not
    // stored is an error naming it.
    FeatureArrays read_arrays(const std::string& key, const std::vector<std::string>& ids) const;
    // The same as float32 CPU tensors: pooled [N, D], tokens [N, T, Dt] and mask [N, T]
    // when the group has tokens.
    Features read(const std::string& key, const std::vector<std::string>& ids) const;

    // Every group; empty when the file does not exist.
    std::vector<GroupInfo> list() const;

    // Reads everything: each group has its attributes, `ids` and `pooled` (and both or
    // neither of `tokens` and `mask`) with agreeing counts and shapes, unique non-empty
    // ids, and finite features. A missing file is a problem too.
    VerifyReport verify() const;
    // The same for the groups `keys` only.
    VerifyReport verify(const std::vector<std::string>& keys) const;

    // Removes the groups for which `remove` returns true, then rewrites the file
    // without them (a new file renamed over the old one, so a crash leaves either).
    PruneReport prune(const std::function<bool(const GroupInfo&)>& remove);

private:
    std::filesystem::path file_;
    StoreOptions options_;
};

} // namespace msa

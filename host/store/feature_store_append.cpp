// FeatureStore::append: a batch checked whole, then written under the write lock through
// the rollback journal, so it is stored completely or not at all.
#include "store/feature_store.hpp"

#include "util/utc_time.hpp"

#include "store/float16_codec.hpp"
#include "store/rollback_journal.hpp"
#include "store/store_file.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <unordered_set>
#include <utility>
#include <vector>

namespace msa {

namespace fs = std::filesystem;
using namespace store::detail;

namespace {

// Chunks of about this size: big enough for fast reads and gzip, small enough that a
// batch append rewrites little.
constexpr std::size_t kChunkBytes = 256 * 1024;

// Rows per chunk for rows of `row_bytes`: a power of two, about kChunkBytes per chunk.
hsize_t chunk_rows(std::size_t row_bytes, hsize_t limit = 4096) {
    hsize_t rows = 1;
    while (rows * 2 <= limit && rows * 2 * row_bytes <= kChunkBytes) rows *= 2;
    return rows;
}

// ---- checks -------------------------------------------------------------------------

void check_batch_ids(const Context& ctx, const std::vector<std::string>& ids) {
    std::unordered_set<std::string> seen;
    for (const auto& id : ids) {
        if (id.empty()) ctx.fail("an empty id in the batch; every sample needs a non-empty id");
        if (!seen.insert(id).second) ctx.fail("id '" + id + "' appears twice in one batch");
    }
}

void check_pooled_finite(const Context& ctx, const std::vector<std::string>& ids, const FeatureView& batch) {
    for (std::int64_t row = 0; row < batch.rows; ++row)
        for (std::int64_t col = 0; col < batch.dim; ++col)
            if (!std::isfinite(batch.pooled[row * batch.dim + col]))
                ctx.fail("the encoder produced a non-finite value for id '" + ids[std::size_t(row)] + "' (pooled column " +
                         std::to_string(col) + "); nothing of this batch was stored");
}

void check_batch(const Context& ctx, const std::vector<std::string>& ids, const FeatureView& batch) {
    if (!is_key(ctx.key))
        ctx.fail("not an encoder key (64 lower-case hex digits, from encoder_key())");
    if (batch.rows != std::int64_t(ids.size()))
        ctx.fail("a batch of " + std::to_string(batch.rows) + " feature rows for " + std::to_string(ids.size()) +
                 " ids; give one id per row");
    if (batch.dim <= 0 || !batch.pooled) ctx.fail("the batch has no pooled features (dim " + std::to_string(batch.dim) + ")");
    if (batch.length < 0 || (batch.length > 0 && (batch.token_dim <= 0 || !batch.tokens || !batch.mask)))
        ctx.fail("the batch's token features are incomplete: tokens need length > 0, token_dim > 0, "
                 "a tokens buffer and a mask buffer");
    check_batch_ids(ctx, ids);
    check_pooled_finite(ctx, ids, batch);
}

// A group that exists already must hold this encoder's features, in the batch's widths.
void check_group_accepts(const Group& g, const EncoderMeta& meta, const FeatureView& batch, const Context& ctx) {
    const auto plugin = read_string_attribute(g.group.get(), "plugin", ctx).value_or("?");
    const auto version = read_string_attribute(g.group.get(), "version", ctx).value_or("?");
    if (plugin != meta.plugin || version != meta.version)
        ctx.fail("the group holds features of plugin '" + plugin + "' version " + version + ", not '" + meta.plugin +
                 "' version " + meta.version + "; the key does not belong to this encoder");
    if (std::int64_t(g.dim) != batch.dim)
        ctx.fail("the group's pooled features are " + std::to_string(g.dim) + " wide, the batch's " +
                 std::to_string(batch.dim) + "; an encoder with other output needs another cache_key()");
    if (g.has_tokens() != (batch.length > 0))
        ctx.fail(std::string("the group ") + (g.has_tokens() ? "has" : "has no") + " token features, the batch " +
                 (batch.length > 0 ? "has" : "has none"));
    if (g.has_tokens() && std::int64_t(g.token_dim) != batch.token_dim)
        ctx.fail("the group's token features are " + std::to_string(g.token_dim) + " wide, the batch's " +
                 std::to_string(batch.token_dim));
}

// ---- writing ------------------------------------------------------------------------

Group create_group(hid_t file, const std::string& key, const EncoderMeta& meta, const FeatureView& batch,
                   const StoreOptions& options, const Context& ctx) {
    if (options.dtype != "float32" && options.dtype != "float16")
        ctx.fail("dtype '" + options.dtype + "' is not supported; accepted: float32, float16");
    if (options.compression < 0 || options.compression > 9)
        ctx.fail("compression " + std::to_string(options.compression) + " is out of range; accepted: 0 (none) to 9");
    const bool half = options.dtype == "float16";
    const std::size_t element = half ? 2 : 4;
    Group g;
    g.group = Handle(ctx.check(H5Gcreate2(file, key.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "cannot create the group"),
                     H5Gclose);
    write_string_attribute(g.group.get(), "plugin", meta.plugin, ctx);
    write_string_attribute(g.group.get(), "version", meta.version, ctx);
    write_string_attribute(g.group.get(), "cache_key", meta.cache_key, ctx);
    write_string_attribute(g.group.get(), "params", meta.params_json.empty() ? "{}" : meta.params_json, ctx);
    write_string_attribute(g.group.get(), "dtype", options.dtype, ctx);
    write_string_attribute(g.group.get(), "created", utc_now(), ctx);

    Handle file_float = half ? half_type(H5T_IEEE_F32LE) : Handle(H5Tcopy(H5T_IEEE_F32LE), H5Tclose);
    const hsize_t unlimited = H5S_UNLIMITED;
    Handle strings = string_type();
    g.ids = create_dataset(g.group.get(), "ids", strings.get(), {0}, {unlimited}, {1024}, 0, ctx);
    const hsize_t dim = hsize_t(batch.dim);
    g.pooled = create_dataset(g.group.get(), "pooled", file_float.get(), {0, dim}, {unlimited, dim},
                              {chunk_rows(dim * element), dim}, options.compression, ctx);
    g.dim = dim;
    g.half = half;
    if (batch.length > 0) {
        const hsize_t length = hsize_t(batch.length), token_dim = hsize_t(batch.token_dim);
        g.tokens = create_dataset(g.group.get(), "tokens", file_float.get(), {0, length, token_dim},
                                  {unlimited, unlimited, token_dim},
                                  {chunk_rows(length * token_dim * element), length, token_dim}, options.compression, ctx);
        g.mask = create_dataset(g.group.get(), "mask", H5T_STD_U8LE, {0, length}, {unlimited, unlimited},
                                {chunk_rows(length), length}, options.compression, ctx);
        g.length = length;
        g.token_dim = token_dim;
    }
    return g;
}

// Floats in the group's element type: float32 as is, float16 converted.
void write_floats(hid_t dataset, bool half, const std::vector<hsize_t>& dims, hsize_t first,
                  const std::vector<float>& values, const Context& ctx, const char* name) {
    if (!half) return write_rows(dataset, dims, first, H5T_NATIVE_FLOAT, values.data(), ctx, name);
    std::vector<std::uint16_t> raw(values.size());
    floats_to_halves(values.data(), values.size(), raw.data());
    Handle memory = half_type(H5T_NATIVE_FLOAT);
    write_rows(dataset, dims, first, memory.get(), raw.data(), ctx, name);
}

// The token features and mask of the batch's `rows`, as rows [first, total) of the group.
void write_tokens(const Group& g, const std::vector<std::size_t>& rows, const FeatureView& batch, hsize_t first,
                  hsize_t total, const Context& ctx) {
    // The group's length grows to the longest sequence; shorter ones are padded.
    const std::size_t n = rows.size();
    const hsize_t length = std::max<hsize_t>(g.length, hsize_t(batch.length));
    const std::size_t in_length = std::size_t(batch.length), token_dim = std::size_t(batch.token_dim);
    std::vector<float> values(n * length * token_dim, 0.0f);
    std::vector<std::uint8_t> mask(n * length, 0);
    for (std::size_t i = 0; i < n; ++i) {
        std::memcpy(values.data() + i * length * token_dim, batch.tokens + rows[i] * in_length * token_dim,
                    in_length * token_dim * sizeof(float));
        for (std::size_t t = 0; t < in_length; ++t)
            mask[i * length + t] = batch.mask[rows[i] * in_length + t] != 0.0f;
    }
    write_floats(g.tokens.get(), g.half, {total, length, g.token_dim}, first, values, ctx, "tokens");
    write_rows(g.mask.get(), {total, length}, first, H5T_NATIVE_UINT8, mask.data(), ctx, "mask");
}

// The batch's `rows` appended to every dataset of the group.
void write_batch(const Group& g, const std::vector<std::string>& ids, const std::vector<std::size_t>& rows,
                 const FeatureView& batch, const Context& ctx) {
    const hsize_t first = g.count, n = rows.size(), total = first + n;
    std::vector<const char*> id_data;
    for (std::size_t row : rows) id_data.push_back(ids[row].c_str());
    Handle strings = string_type();
    write_rows(g.ids.get(), {total}, first, strings.get(), id_data.data(), ctx, "ids");

    const std::size_t dim = std::size_t(batch.dim);
    std::vector<float> values(n * dim);
    for (std::size_t i = 0; i < n; ++i)
        std::memcpy(values.data() + i * dim, batch.pooled + rows[i] * dim, dim * sizeof(float));
    write_floats(g.pooled.get(), g.half, {total, g.dim}, first, values, ctx, "pooled");

    if (g.has_tokens()) write_tokens(g, rows, batch, first, total, ctx);
}

// HDF5 closes a file only when nothing in it is open any more, and that close writes
// the metadata: the update is complete only when it succeeded.
void close_after_append(Group& g, Handle& file, const Context& ctx) {
    for (Handle* h : {&g.mask, &g.tokens, &g.pooled, &g.ids, &g.group}) h->reset();
    const ssize_t open_objects = H5Fget_obj_count(file.get(), H5F_OBJ_ALL);
    if (open_objects != 1) ctx.fail("internal error: " + std::to_string(open_objects - 1) + " objects left open");
    if (!file.close()) ctx.fail("cannot close the file after writing: " + hdf5_reason());
}

// One update through the rollback journal; the caller holds the write lock and commits
// or rolls back.
std::size_t append_locked(const fs::path& path, const StoreOptions& options, const std::string& key,
                          const EncoderMeta& meta, const std::vector<std::string>& ids, const FeatureView& batch) {
    const Context ctx{path, key};
    Handle fapl(rollback_journal::journaled_access(), H5Pclose);
    H5Pset_file_locking(fapl.get(), false, true);
    Handle file(ctx.check(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()), "cannot open for writing"), H5Fclose);
    check_format(file.get(), ctx);

    Group g;
    std::unordered_set<std::string> stored;
    if (has_link(file.get(), key)) {
        g = open_group(file.get(), key, ctx);
        check_group_accepts(g, meta, batch, ctx);
        for (auto& id : read_strings(g.ids.get(), ctx)) stored.insert(std::move(id));
    } else {
        g = create_group(file.get(), key, meta, batch, options, ctx);
    }

    std::vector<std::size_t> rows; // batch rows to add
    for (std::size_t row = 0; row < ids.size(); ++row)
        if (!stored.count(ids[row])) rows.push_back(row);
    if (!rows.empty()) write_batch(g, ids, rows, batch, ctx);
    close_after_append(g, file, ctx);
    return rows.size();
}

} // namespace

std::size_t FeatureStore::append(const std::string& key, const EncoderMeta& meta, const std::vector<std::string>& ids,
                                 const FeatureView& batch) {
    const Context ctx{file_, key};
    if (ids.empty() && batch.rows == 0) return 0;
    check_batch(ctx, ids, batch);
    Hdf5Session session;
    auto lock = write_lock(file_);
    if (!fs::exists(file_)) create_empty_store(file_, ctx);
    try {
        const std::size_t added = append_locked(file_, options_, key, meta, ids, batch);
        rollback_journal::commit(file_);
        return added;
    } catch (...) {
        // Whatever this update wrote is undone before the lock is released.
        rollback_journal::roll_back(file_);
        throw;
    }
}

} // namespace msa

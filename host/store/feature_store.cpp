// The feature store on HDF5: file layout, batched chunked writes under the write lock and
// the rollback journal, block-wise reads, verify, prune by rewriting; a thin tensor
// adapter at the end.
#include "store/feature_store.hpp"

#include "util/utc_time.hpp"

#include "store/rollback_journal.hpp"
#include "store/store_lock.hpp"

#include <msa/encoder.hpp>

#include <torch/torch.h>

#include <hdf5.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <memory>
#include <mutex>
#include <optional>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace msa {

namespace fs = std::filesystem;

namespace {

// The root attribute that marks an HDF5 file as a feature store, and its layout version.
constexpr const char* kFormatAttribute = "msa_feature_store";
constexpr const char* kFormatVersion = "1";
// Chunks of about this size: big enough for fast reads and gzip, small enough that a
// batch append rewrites little.
constexpr std::size_t kChunkBytes = 256 * 1024;
// Reads go through a float buffer of at most about this size.
constexpr std::size_t kReadBlockBytes = 8 * 1024 * 1024;

// HDF5 calls are serialized in this process, and its error printing is replaced by
// StoreError messages.
class Hdf5Session {
public:
    Hdf5Session() : lock_(mutex()) {
        static const bool silenced = [] { return H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr) >= 0; }();
        (void)silenced;
    }

private:
    static std::mutex& mutex() {
        static std::mutex m;
        return m;
    }
    std::lock_guard<std::mutex> lock_;
};

// An HDF5 identifier, closed when it goes.
class Handle {
public:
    Handle() = default;
    Handle(hid_t id, herr_t (*closer)(hid_t)) : id_(id), closer_(closer) {}
    Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), closer_(other.closer_) {}
    Handle& operator=(Handle&& other) noexcept {
        if (this != &other) {
            reset();
            id_ = std::exchange(other.id_, -1);
            closer_ = other.closer_;
        }
        return *this;
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() { reset(); }

    hid_t get() const { return id_; }
    explicit operator bool() const { return id_ >= 0; }
    void reset() {
        if (id_ >= 0) closer_(id_);
        id_ = -1;
    }
    // Closes now and reports whether that worked (a file's close writes metadata).
    bool close() {
        const bool ok = id_ < 0 || closer_(id_) >= 0;
        id_ = -1;
        return ok;
    }

private:
    hid_t id_ = -1;
    herr_t (*closer_)(hid_t) = nullptr;
};

// The innermost HDF5 error messages, most specific first.
std::string hdf5_reason() {
    std::string out;
    H5Ewalk2(
        H5E_DEFAULT, H5E_WALK_UPWARD,
        [](unsigned n, const H5E_error2_t* error, void* data) -> herr_t {
            auto& text = *static_cast<std::string*>(data);
            if (error->desc && *error->desc) text += (text.empty() ? "" : "; ") + std::string(error->desc);
            return n >= 2 ? 1 : 0;
        },
        &out);
    H5Eclear2(H5E_DEFAULT);
    return out.empty() ? "HDF5 gave no reason" : out;
}

// What a message is about: the file, and the group when there is one.
struct Context {
    const fs::path& file;
    std::string key;

    std::string where() const {
        return "feature store " + file.string() + (key.empty() ? std::string() : ", group " + key);
    }
    [[noreturn]] void fail(const std::string& what) const { throw StoreError(where() + ": " + what); }
    // An HDF5 identifier or status: negative means failure.
    template <class T> T check(T result, const std::string& what) const {
        if (result < 0) fail(what + ": " + hdf5_reason());
        return result;
    }
};

Handle string_type() {
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    return {type, H5Tclose};
}

// IEEE half precision the way h5py defines float16, so h5py and numpy read it as '<f2'.
// From H5T_IEEE_F32LE for the file, from H5T_NATIVE_FLOAT for memory.
Handle half_type(hid_t base) {
    const hid_t type = H5Tcopy(base);
    H5Tset_fields(type, 15, 10, 5, 0, 10);
    H5Tset_size(type, 2);
    H5Tset_ebias(type, 15);
    return {type, H5Tclose};
}

// Half <-> float conversions with round-to-nearest-even, subnormals, inf and NaN
// (the branch-free formulation of Maratea's FP16 library).
float bits_to_float(std::uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}
std::uint32_t float_to_bits(float f) {
    std::uint32_t bits;
    std::memcpy(&bits, &f, 4);
    return bits;
}

float half_to_float(std::uint16_t h) {
    const std::uint32_t w = std::uint32_t(h) << 16;
    const std::uint32_t sign = w & 0x80000000u;
    const std::uint32_t two_w = w + w;
    const float normalized = bits_to_float((two_w >> 4) + (0xE0u << 23)) * 0x1.0p-112f;
    const float denormalized = bits_to_float((two_w >> 17) | (126u << 23)) - 0.5f;
    const std::uint32_t result =
        sign | (two_w < (1u << 27) ? float_to_bits(denormalized) : float_to_bits(normalized));
    return bits_to_float(result);
}

std::uint16_t float_to_half(float f) {
    float base = (std::fabs(f) * 0x1.0p+112f) * 0x1.0p-110f;
    const std::uint32_t w = float_to_bits(f);
    const std::uint32_t shl1_w = w + w;
    const std::uint32_t sign = w & 0x80000000u;
    std::uint32_t bias = shl1_w & 0xFF000000u;
    if (bias < 0x71000000u) bias = 0x71000000u;
    base = bits_to_float((bias >> 1) + 0x07800000u) + base;
    const std::uint32_t bits = float_to_bits(base);
    const std::uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
    const std::uint32_t mantissa_bits = bits & 0x00000FFFu;
    const std::uint32_t nonsign = exp_bits + mantissa_bits;
    return static_cast<std::uint16_t>((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

bool is_key(const std::string& key) {
    return key.size() == 64 && std::all_of(key.begin(), key.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::string quoted_list(const std::vector<std::string>& items, std::size_t shown = 5) {
    std::string out;
    for (std::size_t i = 0; i < items.size() && i < shown; ++i) out += (i ? ", '" : "'") + items[i] + "'";
    if (items.size() > shown) out += " and " + std::to_string(items.size() - shown) + " more";
    return out;
}

// ---- attributes -------------------------------------------------------------------

void write_string_attribute(hid_t object, const char* name, const std::string& value, const Context& ctx) {
    Handle type = string_type();
    Handle space(ctx.check(H5Screate(H5S_SCALAR), "cannot create a dataspace"), H5Sclose);
    if (H5Aexists(object, name) > 0) ctx.check(H5Adelete(object, name), "cannot replace an attribute");
    Handle attribute(ctx.check(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                               std::string("cannot create attribute '") + name + "'"),
                     H5Aclose);
    const char* data = value.c_str();
    ctx.check(H5Awrite(attribute.get(), type.get(), &data), "cannot write an attribute");
}

// The value of a string attribute (variable or fixed length); nullopt when absent.
std::optional<std::string> read_string_attribute(hid_t object, const char* name, const Context& ctx) {
    if (H5Aexists(object, name) <= 0) return std::nullopt;
    Handle attribute(ctx.check(H5Aopen(object, name, H5P_DEFAULT), std::string("cannot open attribute '") + name + "'"),
                     H5Aclose);
    Handle type(ctx.check(H5Aget_type(attribute.get()), "cannot read an attribute's type"), H5Tclose);
    if (H5Tget_class(type.get()) != H5T_STRING)
        ctx.fail(std::string("attribute '") + name + "' is not a string");
    if (H5Tis_variable_str(type.get()) > 0) {
        Handle memory = string_type();
        Handle space(H5Aget_space(attribute.get()), H5Sclose);
        char* data = nullptr;
        ctx.check(H5Aread(attribute.get(), memory.get(), &data), "cannot read an attribute");
        std::string value = data ? data : "";
        H5Dvlen_reclaim(memory.get(), space.get(), H5P_DEFAULT, &data);
        return value;
    }
    const std::size_t size = H5Tget_size(type.get());
    std::string value(size, '\0');
    Handle memory(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memory.get(), size);
    ctx.check(H5Aread(attribute.get(), memory.get(), value.data()), "cannot read an attribute");
    value.resize(std::strlen(value.c_str()));
    return value;
}

// ---- datasets ---------------------------------------------------------------------

std::vector<hsize_t> dims_of(hid_t dataset) {
    Handle space(H5Dget_space(dataset), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(space.get());
    std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
    if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    return dims;
}

// Rows per chunk for rows of `row_bytes`: a power of two, about kChunkBytes per chunk.
hsize_t chunk_rows(std::size_t row_bytes, hsize_t limit = 4096) {
    hsize_t rows = 1;
    while (rows * 2 <= limit && rows * 2 * row_bytes <= kChunkBytes) rows *= 2;
    return rows;
}

Handle create_dataset(hid_t group, const char* name, hid_t type, const std::vector<hsize_t>& dims,
                      const std::vector<hsize_t>& max, const std::vector<hsize_t>& chunk, int compression,
                      const Context& ctx) {
    const std::string what = std::string("cannot create dataset '") + name + "'";
    Handle space(ctx.check(H5Screate_simple(int(dims.size()), dims.data(), max.data()), what), H5Sclose);
    Handle dcpl(ctx.check(H5Pcreate(H5P_DATASET_CREATE), what), H5Pclose);
    ctx.check(H5Pset_chunk(dcpl.get(), int(chunk.size()), chunk.data()), what);
    if (compression > 0) {
        ctx.check(H5Pset_shuffle(dcpl.get()), what);
        ctx.check(H5Pset_deflate(dcpl.get(), unsigned(compression)), what);
    }
    H5Pset_obj_track_times(dcpl.get(), false);
    return {ctx.check(H5Dcreate2(group, name, type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), what),
            H5Dclose};
}

std::vector<std::string> read_strings(hid_t dataset, const Context& ctx) {
    const auto dims = dims_of(dataset);
    if (dims.size() != 1) ctx.fail("'ids' is not one-dimensional");
    std::vector<std::string> out;
    if (dims[0] == 0) return out;
    const std::size_t n = dims[0];
    Handle type(ctx.check(H5Dget_type(dataset), "cannot read the type of 'ids'"), H5Tclose);
    if (H5Tget_class(type.get()) != H5T_STRING) ctx.fail("'ids' does not hold strings");
    out.reserve(n);
    if (H5Tis_variable_str(type.get()) > 0) {
        Handle memory = string_type();
        Handle space(H5Dget_space(dataset), H5Sclose);
        std::vector<char*> data(n, nullptr);
        ctx.check(H5Dread(dataset, memory.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), "cannot read 'ids'");
        for (char* s : data) out.emplace_back(s ? s : "");
        H5Dvlen_reclaim(memory.get(), space.get(), H5P_DEFAULT, data.data());
    } else {
        const std::size_t size = H5Tget_size(type.get());
        Handle memory(H5Tcopy(H5T_C_S1), H5Tclose);
        H5Tset_size(memory.get(), size);
        std::vector<char> data(n * size);
        ctx.check(H5Dread(dataset, memory.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), "cannot read 'ids'");
        for (std::size_t i = 0; i < n; ++i) {
            const char* s = data.data() + i * size;
            out.emplace_back(s, strnlen(s, size));
        }
    }
    return out;
}

bool is_half(hid_t dataset) {
    Handle type(H5Dget_type(dataset), H5Tclose);
    return H5Tget_class(type.get()) == H5T_FLOAT && H5Tget_size(type.get()) == 2;
}

// Rows [first, last) of a [N, ...] numeric dataset as float32, row-major.
void read_range(hid_t dataset, const std::vector<hsize_t>& dims, hsize_t first, hsize_t last, float* out,
                const Context& ctx, const char* name) {
    const std::string what = std::string("cannot read '") + name + "' rows " + std::to_string(first) + " to " +
                             std::to_string(last - 1);
    std::vector<hsize_t> start(dims.size(), 0), count = dims;
    start[0] = first;
    count[0] = last - first;
    hsize_t elements = 1;
    for (hsize_t c : count) elements *= c;
    Handle file_space(ctx.check(H5Dget_space(dataset), what), H5Sclose);
    ctx.check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
              what);
    // The same shape as the file selection: HDF5 then maps whole chunks at once instead
    // of element by element (which made a 4869 x 768 read ten times slower).
    Handle memory_space(ctx.check(H5Screate_simple(int(count.size()), count.data(), nullptr), what), H5Sclose);
    if (is_half(dataset)) {
        Handle memory = half_type(H5T_NATIVE_FLOAT);
        std::vector<std::uint16_t> raw(elements);
        ctx.check(H5Dread(dataset, memory.get(), memory_space.get(), file_space.get(), H5P_DEFAULT, raw.data()),
                  what);
        for (hsize_t i = 0; i < elements; ++i) out[i] = half_to_float(raw[i]);
    } else {
        // float32 as it is; HDF5 converts anything else (the uint8 mask, float64).
        ctx.check(H5Dread(dataset, H5T_NATIVE_FLOAT, memory_space.get(), file_space.get(), H5P_DEFAULT, out),
                  what);
    }
}

// Rows per read: whole chunks, up to about kReadBlockBytes of float32.
hsize_t block_rows(hid_t dataset, std::size_t row_elements) {
    hsize_t chunk = 1024;
    Handle dcpl(H5Dget_create_plist(dataset), H5Pclose);
    if (H5Pget_layout(dcpl.get()) == H5D_CHUNKED) {
        std::vector<hsize_t> dims(8);
        if (H5Pget_chunk(dcpl.get(), 8, dims.data()) > 0) chunk = std::max<hsize_t>(dims[0], 1);
    }
    const std::size_t row_bytes = std::max<std::size_t>(row_elements, 1) * sizeof(float);
    return chunk * std::max<hsize_t>(1, kReadBlockBytes / (chunk * row_bytes));
}

struct RowRequest {
    hsize_t row;     // in the dataset
    std::size_t out; // in the result
};

// Copies the requested rows (sorted by row) into `out`, reading whole blocks of chunks
// once each.
void read_rows(hid_t dataset, const std::vector<RowRequest>& requests, float* out, const Context& ctx,
               const char* name) {
    const auto dims = dims_of(dataset);
    std::size_t row_elements = 1;
    for (std::size_t d = 1; d < dims.size(); ++d) row_elements *= dims[d];
    const hsize_t block = block_rows(dataset, row_elements);
    std::vector<float> buffer;
    for (std::size_t i = 0; i < requests.size();) {
        const hsize_t block_index = requests[i].row / block;
        std::size_t j = i;
        while (j < requests.size() && requests[j].row / block == block_index) ++j;
        const hsize_t first = requests[i].row, last = requests[j - 1].row + 1;
        // A run of consecutive rows going to consecutive places reads straight into `out`.
        const bool straight = last - first == j - i && requests[j - 1].out - requests[i].out == j - i - 1 &&
                              !is_half(dataset);
        if (straight) {
            read_range(dataset, dims, first, last, out + requests[i].out * row_elements, ctx, name);
        } else {
            buffer.resize((last - first) * row_elements);
            read_range(dataset, dims, first, last, buffer.data(), ctx, name);
            for (std::size_t k = i; k < j; ++k)
                std::memcpy(out + requests[k].out * row_elements, buffer.data() + (requests[k].row - first) * row_elements,
                            row_elements * sizeof(float));
        }
        i = j;
    }
}

// ---- file and groups ----------------------------------------------------------------

Handle plain_access() {
    Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    H5Pset_fapl_sec2(fapl.get());
    // The store's own lock (StoreLock) is the protocol; HDF5's flock would only fail
    // on file systems without it.
    H5Pset_file_locking(fapl.get(), false, true);
    return fapl;
}

void check_format(hid_t file, const Context& ctx) {
    const auto version = read_string_attribute(file, kFormatAttribute, ctx);
    if (!version)
        ctx.fail(std::string("an HDF5 file, but not a feature store (no root attribute '") + kFormatAttribute +
                 "'); name another file for the store");
    if (*version != kFormatVersion)
        ctx.fail("store layout version " + *version + "; this msa reads version " + kFormatVersion);
}

Handle open_read(const fs::path& file, const Context& ctx) {
    Handle fapl = plain_access();
    Handle handle(ctx.check(H5Fopen(file.c_str(), H5F_ACC_RDONLY, fapl.get()), "cannot open as HDF5"), H5Fclose);
    check_format(handle.get(), ctx);
    return handle;
}

void sync_file(const fs::path& file, const Context& ctx) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
        const int error = errno;
        if (fd >= 0) ::close(fd);
        ctx.fail("cannot sync " + file.string() + ": " + std::strerror(error));
    }
    ::close(fd);
}

// A new, empty store at `path`: the root and its format attribute. Returns it open.
Handle create_store_file(const fs::path& path, const Context& ctx) {
    Handle fapl = plain_access();
    Handle file(ctx.check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()),
                          "cannot create " + path.string()),
                H5Fclose);
    write_string_attribute(file.get(), kFormatAttribute, kFormatVersion, ctx);
    return file;
}

// Makes `path` a new complete store or leaves it absent: built beside it, then renamed.
void create_empty_store(const fs::path& path, const Context& ctx) {
    const fs::path temporary = path.string() + ".creating";
    Handle file = create_store_file(temporary, ctx);
    if (!file.close()) ctx.fail("cannot close the new file " + temporary.string() + ": " + hdf5_reason());
    sync_file(temporary, ctx);
    std::error_code ec;
    fs::rename(temporary, path, ec);
    if (ec) ctx.fail("cannot rename " + temporary.string() + " to the store: " + ec.message());
}

std::vector<std::string> child_names(hid_t group, const Context& ctx) {
    H5G_info_t info{};
    ctx.check(H5Gget_info(group, &info), "cannot list the groups");
    std::vector<std::string> names;
    for (hsize_t i = 0; i < info.nlinks; ++i) {
        const ssize_t size = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
        if (size < 0) ctx.fail("cannot list the groups: " + hdf5_reason());
        std::string name(static_cast<std::size_t>(size) + 1, '\0');
        H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
        name.resize(static_cast<std::size_t>(size));
        names.push_back(std::move(name));
    }
    return names;
}

bool has_link(hid_t location, const std::string& name) { return H5Lexists(location, name.c_str(), H5P_DEFAULT) > 0; }

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
Group open_group(hid_t file, const std::string& key, const Context& ctx, std::vector<std::string>* problems = nullptr) {
    auto problem = [&](const std::string& message) {
        if (!problems) ctx.fail(message);
        problems->push_back(message);
    };
    Group g;
    g.group = Handle(ctx.check(H5Gopen2(file, key.c_str(), H5P_DEFAULT), "cannot open the group"), H5Gclose);
    auto open = [&](const char* name, std::size_t rank, bool required) {
        if (!has_link(g.group.get(), name)) {
            if (required) problem(std::string("has no '") + name + "' dataset");
            return Handle();
        }
        Handle dataset(H5Dopen2(g.group.get(), name, H5P_DEFAULT), H5Dclose);
        if (!dataset) {
            problem(std::string("cannot open '") + name + "': " + hdf5_reason());
            return Handle();
        }
        if (dims_of(dataset.get()).size() != rank) {
            problem(std::string("'") + name + "' has " + std::to_string(dims_of(dataset.get()).size()) +
                    " dimensions; expected " + std::to_string(rank));
            return Handle();
        }
        return dataset;
    };
    g.ids = open("ids", 1, true);
    g.pooled = open("pooled", 2, true);
    g.tokens = open("tokens", 3, false);
    g.mask = open("mask", 2, false);
    if (g.ids) g.count = dims_of(g.ids.get())[0];
    if (g.pooled) {
        const auto dims = dims_of(g.pooled.get());
        g.dim = dims[1];
        g.half = is_half(g.pooled.get());
        if (dims[0] != g.count)
            problem("counts disagree: 'ids' has " + std::to_string(g.count) + " rows, 'pooled' " +
                    std::to_string(dims[0]));
    }
    if (bool(g.tokens) != bool(g.mask)) {
        problem(std::string("has '") + (g.tokens ? "tokens" : "mask") + "' without '" + (g.tokens ? "mask" : "tokens") +
                "'");
        g.tokens.reset();
        g.mask.reset();
    }
    if (g.tokens) {
        const auto t = dims_of(g.tokens.get()), m = dims_of(g.mask.get());
        g.length = t[1];
        g.token_dim = t[2];
        if (t[0] != g.count || m[0] != g.count)
            problem("counts disagree: 'ids' has " + std::to_string(g.count) + " rows, 'tokens' " + std::to_string(t[0]) +
                    ", 'mask' " + std::to_string(m[0]));
        if (m[1] != t[1])
            problem("'mask' is " + std::to_string(m[1]) + " tokens long, 'tokens' " + std::to_string(t[1]));
    }
    return g;
}

std::uint64_t storage_bytes(const Group& g) {
    std::uint64_t bytes = 0;
    for (const Handle* dataset : {&g.ids, &g.pooled, &g.tokens, &g.mask})
        if (*dataset) bytes += H5Dget_storage_size(dataset->get());
    return bytes;
}

GroupInfo describe_group(hid_t file, const std::string& key, const fs::path& path) {
    const Context ctx{path, key};
    GroupInfo info;
    info.key = key;
    std::vector<std::string> ignored; // list() shows what it can; verify() reports
    Group g = open_group(file, key, ctx, &ignored);
    auto attribute = [&](const char* name) {
        try {
            return read_string_attribute(g.group.get(), name, ctx).value_or("");
        } catch (const StoreError&) {
            return std::string();
        }
    };
    info.meta = {attribute("plugin"), attribute("version"), attribute("cache_key"), attribute("params")};
    info.dtype = attribute("dtype");
    info.created = attribute("created");
    info.count = std::int64_t(g.count);
    info.dim = std::int64_t(g.dim);
    info.length = std::int64_t(g.length);
    info.token_dim = std::int64_t(g.token_dim);
    info.bytes = storage_bytes(g);
    return info;
}

std::vector<GroupInfo> list_groups(hid_t file, const fs::path& path) {
    const Context ctx{path, {}};
    std::vector<GroupInfo> out;
    for (const auto& name : child_names(file, ctx)) {
        Handle object(H5Oopen(file, name.c_str(), H5P_DEFAULT), H5Oclose);
        if (object && H5Iget_type(object.get()) == H5I_GROUP) out.push_back(describe_group(file, name, path));
    }
    return out;
}

// A shared lock on a store with no interrupted update left: a journal seen under a
// shared lock belongs to a writer that died (a live one holds the exclusive lock).
std::unique_ptr<StoreLock> read_lock(const fs::path& file) {
    auto lock = std::make_unique<StoreLock>(file, StoreLock::Mode::shared);
    while (fs::exists(rollback_journal::journal_path(file))) {
        lock->relock(StoreLock::Mode::exclusive);
        rollback_journal::roll_back(file);
        lock->relock(StoreLock::Mode::shared);
    }
    return lock;
}

std::unique_ptr<StoreLock> write_lock(const fs::path& file) {
    auto lock = std::make_unique<StoreLock>(file, StoreLock::Mode::exclusive);
    rollback_journal::roll_back(file);
    return lock;
}

// ---- append -------------------------------------------------------------------------

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
    std::unordered_set<std::string> seen;
    for (const auto& id : ids) {
        if (id.empty()) ctx.fail("an empty id in the batch; every sample needs a non-empty id");
        if (!seen.insert(id).second) ctx.fail("id '" + id + "' appears twice in one batch");
    }
    for (std::int64_t row = 0; row < batch.rows; ++row)
        for (std::int64_t col = 0; col < batch.dim; ++col)
            if (!std::isfinite(batch.pooled[row * batch.dim + col]))
                ctx.fail("the encoder produced a non-finite value for id '" + ids[std::size_t(row)] + "' (pooled column " +
                         std::to_string(col) + "); nothing of this batch was stored");
}

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

// Grows `dataset` to `dims` and writes `data` (memory type `type`) to rows [first, first + n).
void write_rows(hid_t dataset, const std::vector<hsize_t>& dims, hsize_t first, hid_t type, const void* data,
                const Context& ctx, const char* name) {
    const std::string what = std::string("cannot write '") + name + "'";
    ctx.check(H5Dset_extent(dataset, dims.data()), what);
    std::vector<hsize_t> start(dims.size(), 0), count = dims;
    start[0] = first;
    count[0] = dims[0] - first;
    Handle file_space(ctx.check(H5Dget_space(dataset), what), H5Sclose);
    ctx.check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
              what);
    Handle memory_space(ctx.check(H5Screate_simple(int(count.size()), count.data(), nullptr), what), H5Sclose);
    ctx.check(H5Dwrite(dataset, type, memory_space.get(), file_space.get(), H5P_DEFAULT, data), what);
}

// Floats in the group's element type: float32 as is, float16 converted.
void write_floats(hid_t dataset, bool half, const std::vector<hsize_t>& dims, hsize_t first,
                  const std::vector<float>& values, const Context& ctx, const char* name) {
    if (!half) return write_rows(dataset, dims, first, H5T_NATIVE_FLOAT, values.data(), ctx, name);
    std::vector<std::uint16_t> raw(values.size());
    std::transform(values.begin(), values.end(), raw.begin(), float_to_half);
    Handle memory = half_type(H5T_NATIVE_FLOAT);
    write_rows(dataset, dims, first, memory.get(), raw.data(), ctx, name);
}

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
        for (auto& id : read_strings(g.ids.get(), ctx)) stored.insert(std::move(id));
    } else {
        g = create_group(file.get(), key, meta, batch, options, ctx);
    }

    std::vector<std::size_t> rows; // batch rows to add
    for (std::size_t row = 0; row < ids.size(); ++row)
        if (!stored.count(ids[row])) rows.push_back(row);
    if (!rows.empty()) {
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

        if (g.has_tokens()) {
            // The group's length grows to the longest sequence; shorter ones are padded.
            const hsize_t length = std::max<hsize_t>(g.length, hsize_t(batch.length));
            const std::size_t in_length = std::size_t(batch.length), token_dim = std::size_t(batch.token_dim);
            values.assign(n * length * token_dim, 0.0f);
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
    }

    for (Handle* h : {&g.mask, &g.tokens, &g.pooled, &g.ids, &g.group}) h->reset();
    const ssize_t open_objects = H5Fget_obj_count(file.get(), H5F_OBJ_ALL);
    if (open_objects != 1) ctx.fail("internal error: " + std::to_string(open_objects - 1) + " objects left open");
    if (!file.close()) ctx.fail("cannot close the file after writing: " + hdf5_reason());
    return rows.size();
}

// ---- read -----------------------------------------------------------------------------

struct Destination {
    float* pooled = nullptr;
    float* tokens = nullptr;
    float* mask = nullptr;
};

struct Shape {
    std::int64_t rows = 0, dim = 0, length = 0, token_dim = 0;
};

std::string keys_held(hid_t file, const fs::path& path) {
    std::string out;
    for (const auto& info : list_groups(file, path))
        out += (out.empty() ? "" : ", ") + info.key.substr(0, 12) + " (" + info.meta.plugin + " " + info.meta.version + ")";
    return out.empty() ? "it holds no groups" : "it holds " + out;
}

void read_into(const fs::path& path, const std::string& key, const std::vector<std::string>& ids,
               const std::function<Destination(const Shape&)>& allocate) {
    const Context ctx{path, key};
    if (!fs::exists(path)) ctx.fail("no such file; encode the dataset first (missing() names what to encode)");
    Hdf5Session session;
    auto lock = read_lock(path);
    Handle file = open_read(path, ctx);
    if (!has_link(file.get(), key))
        Context{path, {}}.fail("no group for encoder key " + key + "; " + keys_held(file.get(), path));
    Group g = open_group(file.get(), key, ctx);

    const auto stored = read_strings(g.ids.get(), ctx);
    std::unordered_map<std::string, hsize_t> row_of;
    row_of.reserve(stored.size());
    for (hsize_t row = 0; row < stored.size(); ++row) row_of.emplace(stored[row], row);
    std::vector<RowRequest> requests;
    requests.reserve(ids.size());
    std::vector<std::string> absent;
    for (std::size_t out = 0; out < ids.size(); ++out) {
        const auto it = row_of.find(ids[out]);
        if (it == row_of.end())
            absent.push_back(ids[out]);
        else
            requests.push_back({it->second, out});
    }
    if (!absent.empty())
        ctx.fail("no features for id " + quoted_list(absent) + " (" + std::to_string(absent.size()) + " of " +
                 std::to_string(ids.size()) + " requested; the group holds " + std::to_string(stored.size()) +
                 " ids); encode them first: missing() lists them");
    std::sort(requests.begin(), requests.end(), [](const RowRequest& a, const RowRequest& b) { return a.row < b.row; });

    const Shape shape{std::int64_t(ids.size()), std::int64_t(g.dim), std::int64_t(g.length), std::int64_t(g.token_dim)};
    const Destination out = allocate(shape);
    read_rows(g.pooled.get(), requests, out.pooled, ctx, "pooled");
    if (g.has_tokens()) {
        read_rows(g.tokens.get(), requests, out.tokens, ctx, "tokens");
        read_rows(g.mask.get(), requests, out.mask, ctx, "mask");
    }
}

// ---- verify -----------------------------------------------------------------------------

// Checks one group completely; returns its problems.
std::vector<std::string> verify_group(hid_t file, const std::string& key, const fs::path& path, std::int64_t& ids_ok) {
    const Context ctx{path, key};
    std::vector<std::string> problems;
    if (!is_key(key)) problems.push_back("the name is not an encoder key (64 lower-case hex digits)");
    Group g = open_group(file, key, ctx, &problems);
    for (const char* name : {"plugin", "version", "cache_key", "params", "dtype", "created"}) {
        try {
            if (!read_string_attribute(g.group.get(), name, ctx))
                problems.push_back(std::string("attribute '") + name + "' is missing");
        } catch (const StoreError& e) {
            problems.push_back(e.what());
        }
    }
    if (g.pooled) {
        Handle type(H5Dget_type(g.pooled.get()), H5Tclose);
        if (H5Tget_class(type.get()) != H5T_FLOAT)
            problems.push_back("'pooled' does not hold floating-point numbers");
        try {
            const auto dtype = read_string_attribute(g.group.get(), "dtype", ctx);
            if (dtype && *dtype != (g.half ? "float16" : "float32"))
                problems.push_back("attribute dtype says " + *dtype + " but 'pooled' holds " +
                                   std::to_string(8 * H5Tget_size(type.get())) + "-bit floats");
        } catch (const StoreError&) {
        }
    }
    std::vector<std::string> stored;
    if (g.ids) {
        try {
            stored = read_strings(g.ids.get(), ctx);
            std::unordered_set<std::string> seen, repeated_set;
            std::vector<std::string> repeated;
            std::size_t empty = 0;
            for (const auto& id : stored) {
                if (id.empty()) ++empty;
                else if (!seen.insert(id).second && repeated_set.insert(id).second) repeated.push_back(id);
            }
            if (!repeated.empty()) problems.push_back("ids stored more than once: " + quoted_list(repeated));
            if (empty) problems.push_back(std::to_string(empty) + " empty ids");
        } catch (const StoreError& e) {
            problems.push_back(e.what());
        }
    }
    // Every value is read, so unreadable chunks show up too.
    auto scan = [&](const Handle& dataset, const char* name, bool finite_check) {
        if (!dataset) return;
        const auto dims = dims_of(dataset.get());
        std::size_t row_elements = 1;
        for (std::size_t d = 1; d < dims.size(); ++d) row_elements *= dims[d];
        const hsize_t block = block_rows(dataset.get(), row_elements);
        std::vector<float> buffer;
        std::vector<std::string> bad;
        try {
            for (hsize_t first = 0; first < dims[0]; first += block) {
                const hsize_t last = std::min(first + block, dims[0]);
                buffer.resize((last - first) * row_elements);
                read_range(dataset.get(), dims, first, last, buffer.data(), ctx, name);
                if (!finite_check) continue;
                for (hsize_t row = first; row < last; ++row) {
                    const float* values = buffer.data() + (row - first) * row_elements;
                    if (!std::all_of(values, values + row_elements, [](float x) { return std::isfinite(x); }))
                        bad.push_back(row < stored.size() ? stored[row] : "row " + std::to_string(row));
                }
            }
        } catch (const StoreError& e) {
            problems.push_back(e.what());
        }
        if (!bad.empty()) problems.push_back(std::string("non-finite values in '") + name + "' for id " + quoted_list(bad));
    };
    scan(g.pooled, "pooled", true);
    scan(g.tokens, "tokens", true);
    scan(g.mask, "mask", false);
    if (problems.empty()) ids_ok += std::int64_t(g.count);
    return problems;
}

VerifyReport verify_file(const fs::path& path) {
    VerifyReport report;
    const Context ctx{path, {}};
    if (!fs::exists(path)) {
        report.problems.push_back({"", "no such file"});
        return report;
    }
    Hdf5Session session;
    auto lock = read_lock(path);
    Handle file;
    try {
        file = open_read(path, ctx);
    } catch (const StoreError& e) {
        report.problems.push_back({"", e.what()});
        return report;
    }
    std::vector<std::string> names;
    try {
        names = child_names(file.get(), ctx);
    } catch (const StoreError& e) {
        report.problems.push_back({"", e.what()});
        return report;
    }
    for (const auto& name : names) {
        Handle object(H5Oopen(file.get(), name.c_str(), H5P_DEFAULT), H5Oclose);
        if (!object) {
            report.problems.push_back({name, "cannot open: " + hdf5_reason()});
            continue;
        }
        if (H5Iget_type(object.get()) != H5I_GROUP) {
            report.problems.push_back({name, "not a group; a store's root holds only encoder groups"});
            continue;
        }
        object.reset();
        ++report.groups;
        try {
            for (auto& message : verify_group(file.get(), name, path, report.ids))
                report.problems.push_back({name, std::move(message)});
        } catch (const StoreError& e) {
            report.problems.push_back({name, e.what()});
        }
    }
    return report;
}

} // namespace

// ---- FeatureStore -------------------------------------------------------------------------

FeatureStore::FeatureStore(fs::path file, StoreOptions options) : file_(std::move(file)), options_(std::move(options)) {
    if (file_.empty()) throw StoreError("feature store: no file name given");
    if (options_.dtype != "float32" && options_.dtype != "float16")
        throw StoreError("feature store " + file_.string() + ": dtype '" + options_.dtype +
                         "' is not supported; accepted: float32, float16");
    if (options_.compression < 0 || options_.compression > 9)
        throw StoreError("feature store " + file_.string() + ": compression " + std::to_string(options_.compression) +
                         " is out of range; accepted: 0 (none) to 9");
}

std::vector<std::string> FeatureStore::ids(const std::string& key) const {
    if (!fs::exists(file_)) return {};
    const Context ctx{file_, key};
    Hdf5Session session;
    auto lock = read_lock(file_);
    Handle file = open_read(file_, ctx);
    if (!has_link(file.get(), key)) return {};
    Group g = open_group(file.get(), key, ctx);
    return read_strings(g.ids.get(), ctx);
}

std::vector<std::string> FeatureStore::missing(const std::string& key, const std::vector<std::string>& ids) const {
    const auto stored_ids = this->ids(key);
    std::unordered_set<std::string> stored(stored_ids.begin(), stored_ids.end());
    std::vector<std::string> out;
    for (const auto& id : ids)
        if (stored.insert(id).second) out.push_back(id); // inserting also drops repeats
    return out;
}

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

FeatureArrays FeatureStore::read_arrays(const std::string& key, const std::vector<std::string>& ids) const {
    FeatureArrays out;
    read_into(file_, key, ids, [&](const Shape& shape) {
        out.rows = shape.rows;
        out.dim = shape.dim;
        out.length = shape.length;
        out.token_dim = shape.token_dim;
        out.pooled.resize(std::size_t(shape.rows * shape.dim));
        out.tokens.resize(std::size_t(shape.rows * shape.length * shape.token_dim));
        out.mask.resize(std::size_t(shape.rows * shape.length));
        return Destination{out.pooled.data(), out.tokens.data(), out.mask.data()};
    });
    return out;
}

std::vector<GroupInfo> FeatureStore::list() const {
    if (!fs::exists(file_)) return {};
    Hdf5Session session;
    auto lock = read_lock(file_);
    Handle file = open_read(file_, Context{file_, {}});
    return list_groups(file.get(), file_);
}

VerifyReport FeatureStore::verify() const { return verify_file(file_); }

PruneReport FeatureStore::prune(const std::function<bool(const GroupInfo&)>& remove) {
    PruneReport report;
    const Context ctx{file_, {}};
    if (!fs::exists(file_)) return report;
    Hdf5Session session;
    auto lock = write_lock(file_);
    report.bytes_before = report.bytes_after = fs::file_size(file_);
    Handle source = open_read(file_, ctx);
    std::vector<std::string> keep;
    for (auto& info : list_groups(source.get(), file_)) {
        if (remove(info))
            report.removed.push_back(std::move(info));
        else
            keep.push_back(info.key);
    }
    // Other root objects (not groups) are not the store's; they are kept as they are.
    for (const auto& name : child_names(source.get(), ctx)) {
        Handle object(H5Oopen(source.get(), name.c_str(), H5P_DEFAULT), H5Oclose);
        if (object && H5Iget_type(object.get()) != H5I_GROUP) keep.push_back(name);
    }
    if (report.removed.empty()) return report;

    // HDF5 does not give back the space of deleted objects: copy what stays into a new
    // file and rename it over the old one.
    const fs::path temporary = file_.string() + ".repacking";
    Handle target = create_store_file(temporary, ctx);
    for (const auto& name : keep)
        Context{file_, name}.check(H5Ocopy(source.get(), name.c_str(), target.get(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
                                   "cannot copy the group into " + temporary.string());
    if (!target.close()) ctx.fail("cannot close " + temporary.string() + ": " + hdf5_reason());
    source.reset();
    sync_file(temporary, ctx);
    std::error_code ec;
    fs::rename(temporary, file_, ec);
    if (ec) ctx.fail("cannot rename " + temporary.string() + " over the store: " + ec.message());
    report.bytes_after = fs::file_size(file_);
    return report;
}

// ---- tensors ------------------------------------------------------------------------------

std::size_t FeatureStore::append(const std::string& key, const EncoderMeta& meta, const std::vector<std::string>& ids,
                                 const Features& batch) {
    const Context ctx{file_, key};
    auto as_float = [](const at::Tensor& t) { return t.detach().to(at::kCPU, at::kFloat).contiguous(); };
    if (!batch.pooled.defined() || batch.pooled.dim() != 2)
        ctx.fail("the batch's pooled features must be a [N, D] tensor");
    const at::Tensor pooled = as_float(batch.pooled);
    FeatureView view;
    view.rows = pooled.size(0);
    view.dim = pooled.size(1);
    view.pooled = pooled.data_ptr<float>();
    at::Tensor tokens, mask;
    if (batch.tokens.defined()) {
        if (batch.tokens.dim() != 3 || !batch.mask.defined() || batch.mask.dim() != 2 ||
            batch.tokens.size(0) != view.rows || batch.mask.size(0) != view.rows ||
            batch.mask.size(1) != batch.tokens.size(1))
            ctx.fail("token features must be tokens [N, T, D] with mask [N, T], N = " + std::to_string(view.rows));
        tokens = as_float(batch.tokens);
        mask = as_float(batch.mask);
        view.length = tokens.size(1);
        view.token_dim = tokens.size(2);
        view.tokens = tokens.data_ptr<float>();
        view.mask = mask.data_ptr<float>();
    }
    return append(key, meta, ids, view);
}

Features FeatureStore::read(const std::string& key, const std::vector<std::string>& ids) const {
    Features out;
    read_into(file_, key, ids, [&](const Shape& shape) {
        out.pooled = torch::empty({shape.rows, shape.dim}, torch::kFloat);
        Destination d{out.pooled.data_ptr<float>()};
        if (shape.length > 0) {
            out.tokens = torch::empty({shape.rows, shape.length, shape.token_dim}, torch::kFloat);
            out.mask = torch::empty({shape.rows, shape.length}, torch::kFloat);
            d.tokens = out.tokens.data_ptr<float>();
            d.mask = out.mask.data_ptr<float>();
        }
        return d;
    });
    return out;
}

} // namespace msa

// The store's file format and groups: checked on every open, created whole or not at all;
// the locks that keep readers and writers apart.
#include "store/store_file.hpp"

#include "store/rollback_journal.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <system_error>
#include <unistd.h>

namespace msa::store::detail {

namespace fs = std::filesystem;

namespace {

// The root attribute that marks an HDF5 file as a feature store, and its layout version.
constexpr const char* kFormatAttribute = "msa_feature_store";
constexpr const char* kFormatVersion = "1";

Handle plain_access() {
    Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    H5Pset_fapl_sec2(fapl.get());
    // The store's own lock (StoreLock) is the protocol; HDF5's flock would only fail
    // on file systems without it.
    H5Pset_file_locking(fapl.get(), false, true);
    return fapl;
}

} // namespace

bool is_key(const std::string& key) {
    return key.size() == 64 && std::all_of(key.begin(), key.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::string quoted_list(const std::vector<std::string>& items, std::size_t shown) {
    std::string out;
    for (std::size_t i = 0; i < items.size() && i < shown; ++i) out += (i ? ", '" : "'") + items[i] + "'";
    if (items.size() > shown) out += " and " + std::to_string(items.size() - shown) + " more";
    return out;
}

// ---- files --------------------------------------------------------------------------

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

Handle create_store_file(const fs::path& path, const Context& ctx) {
    Handle fapl = plain_access();
    Handle file(ctx.check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()),
                          "cannot create " + path.string()),
                H5Fclose);
    write_string_attribute(file.get(), kFormatAttribute, kFormatVersion, ctx);
    return file;
}

void create_empty_store(const fs::path& path, const Context& ctx) {
    const fs::path temporary = path.string() + ".creating";
    Handle file = create_store_file(temporary, ctx);
    if (!file.close()) ctx.fail("cannot close the new file " + temporary.string() + ": " + hdf5_reason());
    sync_file(temporary, ctx);
    std::error_code ec;
    fs::rename(temporary, path, ec);
    if (ec) ctx.fail("cannot rename " + temporary.string() + " to the store: " + ec.message());
}

// ---- groups -------------------------------------------------------------------------

namespace {

// Where open_group's problems go: the first one thrown, or every one collected.
struct GroupProblems {
    const Context& ctx;
    std::vector<std::string>* list;
    void operator()(const std::string& message) const {
        if (!list) ctx.fail(message);
        list->push_back(message);
    }
};

// The dataset `name` of `group` with `rank` dimensions; an empty Handle when it is
// absent or unusable.
Handle open_dataset(hid_t group, const char* name, std::size_t rank, bool required, const GroupProblems& problem) {
    if (!has_link(group, name)) {
        if (required) problem(std::string("has no '") + name + "' dataset");
        return Handle();
    }
    Handle dataset(H5Dopen2(group, name, H5P_DEFAULT), H5Dclose);
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
}

void read_pooled_shape(Group& g, const GroupProblems& problem) {
    if (!g.pooled) return;
    const auto dims = dims_of(g.pooled.get());
    g.dim = dims[1];
    g.half = is_half(g.pooled.get());
    if (dims[0] != g.count)
        problem("counts disagree: 'ids' has " + std::to_string(g.count) + " rows, 'pooled' " + std::to_string(dims[0]));
}

// Token features are 'tokens' and 'mask' together; one without the other is dropped.
void read_token_shape(Group& g, const GroupProblems& problem) {
    if (bool(g.tokens) != bool(g.mask)) {
        problem(std::string("has '") + (g.tokens ? "tokens" : "mask") + "' without '" + (g.tokens ? "mask" : "tokens") +
                "'");
        g.tokens.reset();
        g.mask.reset();
    }
    if (!g.tokens) return;
    const auto t = dims_of(g.tokens.get()), m = dims_of(g.mask.get());
    g.length = t[1];
    g.token_dim = t[2];
    if (t[0] != g.count || m[0] != g.count)
        problem("counts disagree: 'ids' has " + std::to_string(g.count) + " rows, 'tokens' " + std::to_string(t[0]) +
                ", 'mask' " + std::to_string(m[0]));
    if (m[1] != t[1]) problem("'mask' is " + std::to_string(m[1]) + " tokens long, 'tokens' " + std::to_string(t[1]));
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

} // namespace

Group open_group(hid_t file, const std::string& key, const Context& ctx, std::vector<std::string>* problems) {
    const GroupProblems problem{ctx, problems};
    Group g;
    g.group = Handle(ctx.check(H5Gopen2(file, key.c_str(), H5P_DEFAULT), "cannot open the group"), H5Gclose);
    g.ids = open_dataset(g.group.get(), "ids", 1, true, problem);
    g.pooled = open_dataset(g.group.get(), "pooled", 2, true, problem);
    g.tokens = open_dataset(g.group.get(), "tokens", 3, false, problem);
    g.mask = open_dataset(g.group.get(), "mask", 2, false, problem);
    if (g.ids) g.count = dims_of(g.ids.get())[0];
    read_pooled_shape(g, problem);
    read_token_shape(g, problem);
    return g;
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

// ---- locks --------------------------------------------------------------------------

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

} // namespace msa::store::detail

// FeatureStore's maintenance: list the groups, verify every value, prune by rewriting the
// file without the groups removed.
#include "store/feature_store.hpp"

#include "store/store_file.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <system_error>
#include <unordered_set>
#include <utility>

namespace msa {

namespace fs = std::filesystem;
using namespace store::detail;

namespace {

// ---- verify -----------------------------------------------------------------------------

void check_attributes(const Group& g, const Context& ctx, std::vector<std::string>& problems) {
    for (const char* name : {"plugin", "version", "cache_key", "params", "dtype", "created"}) {
        try {
            if (!read_string_attribute(g.group.get(), name, ctx))
                problems.push_back(std::string("attribute '") + name + "' is missing");
        } catch (const StoreError& e) {
            problems.push_back(e.what());
        }
    }
}

// 'pooled' holds floats of the width the dtype attribute names.
void check_pooled_type(const Group& g, const Context& ctx, std::vector<std::string>& problems) {
    if (!g.pooled) return;
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

// The stored ids (empty when unreadable); repeated and empty ones are problems.
std::vector<std::string> check_ids(const Group& g, const Context& ctx, std::vector<std::string>& problems) {
    std::vector<std::string> stored;
    if (!g.ids) return stored;
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
    return stored;
}

// Every value is read, so unreadable chunks show up too. With `finite_check`, rows with
// NaN or inf are reported by their id in `stored`.
void scan_values(const Handle& dataset, const char* name, bool finite_check, const std::vector<std::string>& stored,
                 const Context& ctx, std::vector<std::string>& problems) {
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
}

// Checks one group completely; returns its problems.
std::vector<std::string> verify_group(hid_t file, const std::string& key, const fs::path& path, std::int64_t& ids_ok) {
    const Context ctx{path, key};
    std::vector<std::string> problems;
    if (!is_key(key)) problems.push_back("the name is not an encoder key (64 lower-case hex digits)");
    Group g = open_group(file, key, ctx, &problems);
    check_attributes(g, ctx, problems);
    check_pooled_type(g, ctx, problems);
    const auto stored = check_ids(g, ctx, problems);
    scan_values(g.pooled, "pooled", true, stored, ctx, problems);
    scan_values(g.tokens, "tokens", true, stored, ctx, problems);
    scan_values(g.mask, "mask", false, stored, ctx, problems);
    if (problems.empty()) ids_ok += std::int64_t(g.count);
    return problems;
}

// Every group of the file, or only those of `only` when given.
VerifyReport verify_file(const fs::path& path, const std::vector<std::string>* only = nullptr) {
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
        if (only && std::find(only->begin(), only->end(), name) == only->end()) continue;
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

std::vector<GroupInfo> FeatureStore::list() const {
    if (!fs::exists(file_)) return {};
    Hdf5Session session;
    auto lock = read_lock(file_);
    Handle file = open_read(file_, Context{file_, {}});
    return list_groups(file.get(), file_);
}

VerifyReport FeatureStore::verify() const { return verify_file(file_); }

VerifyReport FeatureStore::verify(const std::vector<std::string>& keys) const { return verify_file(file_, &keys); }

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

} // namespace msa

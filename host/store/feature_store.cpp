// The feature store on HDF5: options, block-wise reads of the rows asked for, and a thin
// tensor adapter at the end. Appends are in feature_store_append.cpp, list, verify and
// prune in feature_store_maintenance.cpp, the file layout in store_file.cpp.
#include "store/feature_store.hpp"

#include "store/store_file.hpp"

#include <msa/encoder.hpp>

#include <torch/torch.h>

#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace msa {

namespace fs = std::filesystem;
using namespace store::detail;

namespace {

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

} // namespace

// ---- FeatureStore -------------------------------------------------------------------------

FeatureStore::FeatureStore(fs::path file, StoreOptions options) : file_(std::move(file)), options_(std::move(options)) {
    if (file_.empty()) throw StoreError("feature store: no file name given");
    if (std::error_code ec; fs::is_directory(file_, ec))
        throw StoreError("feature store " + file_.string() + " is a folder; [store] path names the store's HDF5 file, e.g. " +
                         (file_ / "features.h5").string());
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

// Private helpers shared by the weight-file readers: a memory-mapped file that tensors can
// keep alive, and the small formatting every checkpoint message uses.
#pragma once

#include <msa/models/checkpoint.hpp>

#include <c10/core/ScalarType.h>
#include <c10/util/ArrayRef.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace msa::models::detail {

// A whole file mapped copy-on-write: the file is opened read-only and never changes, and a
// tensor that is written to in place gets private pages instead of a crash. Tensors made
// from it hold a shared_ptr, so the mapping lives as long as any of them.
class MappedFile {
public:
    static std::shared_ptr<MappedFile> open(const std::filesystem::path& file);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const unsigned char* data() const { return data_; }
    unsigned char* writable_data() const { return data_; }
    std::size_t size() const { return size_; }
    const std::filesystem::path& path() const { return path_; }

private:
    MappedFile() = default;
    unsigned char* data_ = nullptr;
    std::size_t size_ = 0;
    std::filesystem::path path_;
};

// "[768, 3072]"
std::string shape_string(c10::IntArrayRef shape);

// "float32", "int64": the names people know from Python.
std::string dtype_name(c10::ScalarType type);

// The sharded-index reader needs to know which reader a shard's content calls for.
enum class WeightFormat { safetensors, torch_zip, torch_legacy, unknown };
WeightFormat sniff_weight_format(const std::filesystem::path& file);

} // namespace msa::models::detail

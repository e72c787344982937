// The HDF5 objects a store is made of, read and written: string attributes, datasets of
// strings and of floats by row ranges, a group's children (internal to host/store).
#pragma once

#include "store/hdf5_handles.hpp"

#include <hdf5.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace msa::store::detail {

// Variable-length UTF-8 strings.
Handle string_type();

// IEEE half precision the way h5py defines float16, so h5py and numpy read it as '<f2'.
// From H5T_IEEE_F32LE for the file, from H5T_NATIVE_FLOAT for memory.
Handle half_type(hid_t base);

void write_string_attribute(hid_t object, const char* name, const std::string& value, const Context& ctx);
// The value of a string attribute (variable or fixed length); nullopt when absent.
std::optional<std::string> read_string_attribute(hid_t object, const char* name, const Context& ctx);

std::vector<hsize_t> dims_of(hid_t dataset);

// A chunked dataset of `dims`, growing up to `max`; shuffled and gzipped when
// `compression` > 0.
Handle create_dataset(hid_t group, const char* name, hid_t type, const std::vector<hsize_t>& dims,
                      const std::vector<hsize_t>& max, const std::vector<hsize_t>& chunk, int compression,
                      const Context& ctx);

// The strings of the one-dimensional dataset `ids` (variable or fixed length).
std::vector<std::string> read_strings(hid_t dataset, const Context& ctx);

// Whether the dataset holds float16.
bool is_half(hid_t dataset);

// Rows [first, last) of a [N, ...] numeric dataset as float32, row-major.
void read_range(hid_t dataset, const std::vector<hsize_t>& dims, hsize_t first, hsize_t last, float* out,
                const Context& ctx, const char* name);

// Rows per read: whole chunks, up to about 8 MiB of float32.
hsize_t block_rows(hid_t dataset, std::size_t row_elements);

// Grows `dataset` to `dims` and writes `data` (memory type `type`) to rows [first, first + n).
void write_rows(hid_t dataset, const std::vector<hsize_t>& dims, hsize_t first, hid_t type, const void* data,
                const Context& ctx, const char* name);

// The names of the links in `group`, in name order.
std::vector<std::string> child_names(hid_t group, const Context& ctx);

bool has_link(hid_t location, const std::string& name);

} // namespace msa::store::detail

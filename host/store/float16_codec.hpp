// float16 values of the feature store's half-precision groups, converted to and from
// float32 (internal to host/store).
#pragma once

#include <cstddef>
#include <cstdint>

namespace msa::store::detail {

// `n` IEEE half-precision values, given as their bits, as floats.
void halves_to_floats(const std::uint16_t* halves, std::size_t n, float* out);

// `n` floats as IEEE half precision (their bits), rounded to nearest even.
void floats_to_halves(const float* values, std::size_t n, std::uint16_t* out);

} // namespace msa::store::detail

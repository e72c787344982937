// Seeded randomness that gives the same draws with every compiler and standard library
// (std::uniform_int_distribution's and std::shuffle's algorithms are implementation-
// defined): splits, samplers and plugins that must repeat exactly for a seed use these.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <utility>
#include <vector>

namespace msa {

// Uniform in [0, n) without modulo bias (0 when n is 0).
inline std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t n) {
    if (n == 0) return 0;
    // Reject the top partial block of the 2^64 range so that every residue is equally likely.
    const std::uint64_t limit =
        std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
    std::uint64_t x;
    do x = rng();
    while (x >= limit);
    return x % n;
}

// Fisher–Yates with uniform_below: the same permutation for the same seed everywhere.
inline void seeded_shuffle(std::vector<std::size_t>& items, std::mt19937_64& rng) {
    for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[uniform_below(rng, i)]);
}

} // namespace msa

// Sampler plugins choose the training subset (k-shot, stratified, ...) from a pool.
#pragma once

#include <msa/sample.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace msa {

struct SamplerContext {
    std::int64_t num_classes = 0;
    std::uint64_t seed = 0;
};

class __attribute__((visibility("default"))) Sampler {
public:
    virtual ~Sampler() = default;
    // Indices into `pool`, in training order; an index may repeat when the sampler
    // draws with replacement.
    virtual std::vector<std::size_t> select(const std::vector<Sample>& pool,
                                            const SamplerContext& context) = 0;
};

} // namespace msa

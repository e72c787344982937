// Sampler plugins choose the training subset (k-shot, stratified, ...) from a pool.
#pragma once

#include <msa/sample.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace msa {

struct SamplerContext {
    std::int64_t num_classes = 0;
    std::uint64_t seed = 0;
    // The study's class names in class-index order (Sample::label indexes them), so a
    // sampler can name a class ("neutral") or read a predictions file. SDK 2.1.
    std::vector<std::string> labels;
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

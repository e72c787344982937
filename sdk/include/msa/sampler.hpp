// Sampler plugins choose the training subset (k-shot, stratified, ...) from a pool.
#pragma once

#include <msa/error.hpp>
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
    // A few-shot trial's training set size, in samples per class (a study's few-shot
    // phase sets it for each k of its curve; the host then checks that the sampler chose
    // shots x num_classes rows); 0 otherwise. A sampler that can draw k per class (k-shot,
    // consistent) takes it in place of its own size parameter. SDK 4.2.
    std::int64_t shots = 0;
};

class __attribute__((visibility("default"))) Sampler {
public:
    virtual ~Sampler() = default;
    // Indices into `pool`, in training order; an index may repeat when the sampler
    // draws with replacement.
    virtual std::vector<std::size_t> select(const std::vector<Sample>& pool,
                                            const SamplerContext& context) = 0;
};

// The pool's indices per class (Sample::label), in pool order. A label outside
// [0, num_classes) (an unlabelled sample in a training pool) is an error naming the
// sample and `who`, the sampler.
inline std::vector<std::vector<std::size_t>> indices_by_class(const std::vector<Sample>& pool,
                                                              std::int64_t num_classes, const std::string& who) {
    std::vector<std::vector<std::size_t>> by_class(static_cast<std::size_t>(num_classes > 0 ? num_classes : 0));
    for (std::size_t i = 0; i < pool.size(); ++i) {
        const int label = pool[i].label;
        if (label < 0 || label >= num_classes)
            throw Error(who + ": sample '" + pool[i].id + "' has label " + std::to_string(label) + "; expected 0.." +
                        std::to_string(num_classes - 1));
        by_class[static_cast<std::size_t>(label)].push_back(i);
    }
    return by_class;
}

} // namespace msa

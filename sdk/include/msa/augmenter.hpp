// Augmenter plugins add new samples derived from (hard) training samples.
#pragma once

#include <msa/sample.hpp>

#include <vector>

namespace msa {

class __attribute__((visibility("default"))) Augmenter {
public:
    virtual ~Augmenter() = default;
    // New samples, each with `group` set to its source's group so that it stays in
    // its source's split. The sources themselves are not returned.
    virtual std::vector<Sample> augment(const std::vector<Sample>& sources) = 0;
};

} // namespace msa

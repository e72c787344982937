// Shared by the parity tests: a named tensor of a fixture's io.safetensors, and the max
// abs difference of our output from the expected one (in double, shapes checked first).
#pragma once

#include <msa/models/checkpoint.hpp>

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <string>

namespace msa::test {

inline const at::Tensor& io_tensor(const models::StateDict& io, const std::string& name) {
    const auto it = io.find(name);
    if (it == io.end()) FAIL("io.safetensors has no tensor '" << name << "'; regenerate with scripts/make-parity-fixtures");
    return it->second;
}

inline double max_diff(const at::Tensor& ours, const at::Tensor& expected, const std::string& what) {
    INFO(what << ": ours " << (ours.defined() ? c10::str(ours.sizes()) : "undefined") << ", expected "
              << expected.sizes());
    REQUIRE(ours.defined());
    REQUIRE(ours.sizes() == expected.sizes());
    return (ours.to(torch::kDouble) - expected.to(torch::kDouble)).abs().max().item<double>();
}

} // namespace msa::test

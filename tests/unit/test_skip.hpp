// Skipping a test case that needs what a checkout may lack (models/ from
// scripts/fetch-models, the mvsa-ecnu dataset in ../shared, a parity fixture).
// MSA_SKIP(reason) prints "skipped: <reason>", records the skip and returns from the
// test case; the streamed reason may chain `<<` as in INFO. Skip at the top of a test
// case, before any check: a test case that calls it counts as skipped, not passed.
// main.cpp lists the skipped test cases after a run and exits 77 when every test case
// that ran was skipped and none failed, which CTest (SKIP_RETURN_CODE 77) shows as
// skipped.
#pragma once

#include <catch2/catch.hpp>

#include <sstream>
#include <string>

namespace msa::test {

// Records that the running test case is skipped, and why, and prints "skipped: <reason>"
// (defined in main.cpp). Not a Catch2 message: the run's exit code says skipped.
void record_skip(const std::string& reason);

} // namespace msa::test

#define MSA_SKIP(reason)                                                                                               \
    do {                                                                                                               \
        std::ostringstream msa_skip_reason_;                                                                           \
        msa_skip_reason_ << reason;                                                                                    \
        ::msa::test::record_skip(msa_skip_reason_.str());                                                              \
        return;                                                                                                        \
    } while (false)

// Skips a test case of the CUDA path where LibTorch sees no GPU; scripts/cuda-check builds
// and runs the [cuda] test cases on a machine with one. The caller includes <torch/torch.h>.
#define MSA_SKIP_WITHOUT_CUDA()                                                                                        \
    do {                                                                                                               \
        if (!torch::cuda::is_available())                                                                              \
            MSA_SKIP("LibTorch sees no CUDA device here (scripts/cuda-check runs the [cuda] tests on a GPU)");        \
    } while (false)

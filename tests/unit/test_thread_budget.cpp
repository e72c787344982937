// The host owns LibTorch's intra-op threads: usable cores resolved once, an encoder's
// own count applied while it encodes and the host's restored after, OpenBLAS's with them.
#include "util/thread_budget.hpp"

#include "test_skip.hpp"

#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <sched.h>

#include <thread>

using namespace msa;

TEST_CASE("threads: usable cores respect the affinity mask", "[threads]") {
    cpu_set_t set;
    CPU_ZERO(&set);
    REQUIRE(sched_getaffinity(0, sizeof(set), &set) == 0);
    CHECK(usable_cores() >= 1);
    CHECK(usable_cores() <= CPU_COUNT(&set));
    CHECK(resolve_threads(0) == usable_cores());
    CHECK(resolve_threads(3) == 3);
    CHECK_THAT(describe_usable_cores(), Catch::Matchers::StartsWith(std::to_string(usable_cores()) + " (affinity "));
}

TEST_CASE("threads: a scope sets its count and restores the one before", "[threads]") {
    set_intra_op_threads(2);
    REQUIRE(intra_op_threads() == 2);
    {
        const ScopedThreads encoder(1);
        CHECK(encoder.threads() == 1);
        CHECK(intra_op_threads() == 1);
        {
            const ScopedThreads host_default(0); // 0: keep what runs now
            CHECK(host_default.threads() == 1);
            CHECK(intra_op_threads() == 1);
        }
        CHECK(intra_op_threads() == 1);
    }
    CHECK(intra_op_threads() == 2);
    set_intra_op_threads(usable_cores());
}

TEST_CASE("threads: OpenBLAS follows the host's count", "[threads]") {
    // LibTorch's float32 products run on OpenBLAS, whose own pool would use every core.
    using Getter = int (*)();
    const auto get = reinterpret_cast<Getter>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    if (!get) MSA_SKIP("this process has no OpenBLAS (LibTorch uses another BLAS)");
    set_intra_op_threads(1);
    CHECK(get() == 1);
    {
        const ScopedThreads encoder(2);
        CHECK(get() == 2);
    }
    CHECK(get() == 1);
    set_intra_op_threads(usable_cores());
}

// LibTorch runs its operators on OpenMP threads, and its matrix products on OpenBLAS's own
// threads. By default both kinds spin when idle (libgomp's ACTIVE wait policy), so on a
// small machine they take the cores from each other: MiniLM encoded 42 texts/s on 2 cores
// by default and 80 with OMP_WAIT_POLICY=PASSIVE. libgomp reads the variable once, when
// it is loaded, before main() runs, so setting it means starting again.
#include "util/omp_wait_policy.hpp"

#include <cstdlib>

#include <unistd.h>

namespace msa {

void use_passive_omp_wait(char** argv) {
    if (std::getenv("OMP_WAIT_POLICY")) return; // the user's choice, or already re-executed
    if (::setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
    ::execv("/proc/self/exe", argv); // returns only on failure: then run as we are
}

} // namespace msa

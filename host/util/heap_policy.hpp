// How msa's heap keeps freed memory (see heap_policy.cpp for why).
#pragma once

#include <string>

namespace msa {

// Keeps freed memory in the process for reuse instead of returning it to the kernel:
// jemalloc where the executable links it (cmake/MsaAllocator.cmake), else glibc's malloc
// for blocks up to 64 MB. Call first thing in main.
void keep_freed_memory();

// The allocator this process runs on, for `msa version`: "jemalloc 5.3.0-..." or "glibc malloc".
std::string heap_allocator();

} // namespace msa

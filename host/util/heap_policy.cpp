// A training step or an encoder batch allocates and frees the same tensor sizes over and
// over: a 1,664 x 256 weight's gradient and AdamW's temporaries (1.7 MB each), or an
// EfficientNet-Lite2 batch's activations (over 200 MB each). A block the allocator hands
// back to the kernel comes back as fresh pages that are faulted in and zeroed one by one.
// glibc serves blocks above its mmap threshold with mmap and unmaps them at free; raising
// the threshold to 64 MB fixed the heads' steps (a 30-epoch trial spent 3.8 to 4.2 s in
// the kernel before, 0.7 s after) but not the encoders' larger blocks. jemalloc with its
// purging off keeps every freed page: msa_bench encoder on Lite2 (128 mvsa-ecnu images)
// ran at 7.3 images/s with 12.5 s in the kernel when jemalloc returned freed pages, and
// at 17.9 images/s with 0.8 s when it kept them. The cost is that the process keeps its
// peak heap until it exits.
#include "util/heap_policy.hpp"

#include <malloc.h>

#include <cstddef>

extern "C" {
// jemalloc reads its options from this symbol at start-up (MALLOC_CONF in the
// environment still overrides it); glibc ignores it.
__attribute__((visibility("default"))) const char* malloc_conf = "dirty_decay_ms:-1,muzzy_decay_ms:-1";
// Present only when jemalloc is loaded.
int mallctl(const char* name, void* oldp, std::size_t* oldlenp, void* newp, std::size_t newlen)
    __attribute__((weak));
}

namespace msa {

void keep_freed_memory() {
    if (mallctl) return; // malloc_conf has done it
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

std::string heap_allocator() {
    if (!mallctl) return "glibc malloc";
    const char* version = nullptr;
    std::size_t size = sizeof version;
    if (mallctl("version", &version, &size, nullptr, 0) != 0 || !version) return "jemalloc";
    ssize_t dirty_decay = 0;
    size = sizeof dirty_decay;
    const bool keeps = mallctl("opt.dirty_decay_ms", &dirty_decay, &size, nullptr, 0) == 0 && dirty_decay < 0;
    return std::string("jemalloc ") + version + (keeps ? " (keeps freed pages)" : " (returns freed pages)");
}

} // namespace msa

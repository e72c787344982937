// A training step allocates and frees the same tensor sizes thousands of times (a
// 1,664 x 256 weight's gradient, AdamW's temporaries: 1.7 MB each). glibc serves blocks
// above its mmap threshold with mmap and trims the heap top after large frees, so steps
// paid fresh page faults and page zeroing for them. A 30-epoch trial on 2,801 cached
// rows spent 3.8 to 4.2 s in the kernel without these settings and 0.7 s with them in
// most runs (msa's own trial benchmark, alternating runs on a busy machine). A fixed
// threshold of 64 MB and a high trim threshold keep those blocks in the heap for reuse;
// the cost is that the process keeps its peak heap until it exits.
#include "util/heap_policy.hpp"

#include <malloc.h>

namespace msa {

void keep_freed_memory() {
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

} // namespace msa

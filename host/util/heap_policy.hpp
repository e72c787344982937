// How msa's heap hands memory back to the kernel (see heap_policy.cpp for why).
#pragma once

namespace msa {

// Keeps freed blocks up to 64 MB in the heap instead of returning them to the kernel.
void keep_freed_memory();

} // namespace msa

// How many cores msa may use, and LibTorch's intra-op threads, owned by the host: a
// plugin never changes process-wide settings; the host sets them for what it runs.
#pragma once

#include <cstdint>
#include <string>

namespace msa {

// The cores this process may run on: the CPU affinity mask, capped by a cgroup CPU quota
// (v2 cpu.max or v1 cpu.cfs_quota_us, on the process's cgroup and its parents) and, inside
// a Slurm job, by its SLURM_CPUS_PER_TASK; at least 1.
int usable_cores();

// Where usable_cores() came from, for `msa version` and bug reports ("2 (affinity 2,
// cgroup quota none)").
std::string describe_usable_cores();

// Intra-op threads for a `threads` setting: `requested` when above 0, else usable_cores().
int resolve_threads(std::int64_t requested);

// LibTorch's intra-op threads, process-wide; called once at start-up with usable_cores()
// (Debian's LibTorch starts with one thread, so `threads = 0` would mean one core).
void set_intra_op_threads(int threads);
int intra_op_threads();

// Sets the intra-op threads for a scope (an encoder's own `threads` while it encodes)
// and restores the previous count after. `threads` <= 0 keeps the current count.
class ScopedThreads {
public:
    explicit ScopedThreads(std::int64_t threads);
    ~ScopedThreads();
    ScopedThreads(const ScopedThreads&) = delete;
    ScopedThreads& operator=(const ScopedThreads&) = delete;
    int threads() const { return threads_; }

private:
    int previous_;
    int threads_;
};

} // namespace msa

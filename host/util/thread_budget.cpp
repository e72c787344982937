// Usable cores (affinity and cgroup quota) and the host-owned intra-op thread count.
#include "util/thread_budget.hpp"

#include <ATen/Parallel.h>

#include <dlfcn.h>
#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace msa {

namespace {

int affinity_cores() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// Cores a quota of `quota` µs per `period` µs allows, rounded up (1.5 cores: 2 threads).
std::optional<int> quota_cores(double quota, double period) {
    if (quota <= 0 || period <= 0) return std::nullopt;
    return std::max(1, static_cast<int>(std::ceil(quota / period)));
}

// v2: "max 100000" or "200000 100000" in cpu.max.
std::optional<int> cgroup2_quota(const std::string& folder) {
    std::ifstream in(folder + "/cpu.max");
    std::string quota;
    double period = 0;
    if (!(in >> quota >> period) || quota == "max") return std::nullopt;
    try {
        return quota_cores(std::stod(quota), period);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

// v1: cpu.cfs_quota_us (-1 without a quota) and cpu.cfs_period_us.
std::optional<int> cgroup1_quota(const std::string& folder) {
    std::ifstream quota_in(folder + "/cpu.cfs_quota_us"), period_in(folder + "/cpu.cfs_period_us");
    double quota = 0, period = 0;
    if (!(quota_in >> quota) || !(period_in >> period)) return std::nullopt;
    return quota_cores(quota, period);
}

// The smallest quota on the process's cgroup and its parents (a parent's quota binds too).
std::optional<int> cgroup_quota_cores() {
    std::ifstream in("/proc/self/cgroup");
    std::optional<int> cores;
    auto take = [&](std::optional<int> q) {
        if (q && (!cores || *q < *cores)) cores = q;
    };
    for (std::string line; std::getline(in, line);) {
        // hierarchy-id:controllers:path
        const auto first = line.find(':'), second = line.find(':', first + 1);
        if (first == std::string::npos || second == std::string::npos) continue;
        const std::string controllers = line.substr(first + 1, second - first - 1);
        std::string path = line.substr(second + 1);
        std::vector<std::string> roots;
        bool v2 = controllers.empty();
        if (v2) {
            roots = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
        } else {
            std::istringstream list(controllers);
            bool cpu = false;
            for (std::string c; std::getline(list, c, ',');) cpu = cpu || c == "cpu";
            if (!cpu) continue;
            roots = {"/sys/fs/cgroup/" + controllers, "/sys/fs/cgroup/cpu"};
        }
        for (const auto& root : roots)
            for (std::string p = path;; p = p.substr(0, p.rfind('/'))) {
                take(v2 ? cgroup2_quota(root + p) : cgroup1_quota(root + p));
                if (p.empty() || p == "/") break;
            }
    }
    return cores;
}

// Inside a Slurm job, the CPUs it asked for (--cpus-per-task): a cluster without task
// affinity or cgroups (TaskPlugin=task/none) lets a task see every core of its node.
std::optional<int> slurm_cores() {
    const char* job = std::getenv("SLURM_JOB_ID");
    const char* cpus = std::getenv("SLURM_CPUS_PER_TASK");
    if (!job || !cpus) return std::nullopt;
    const int count = std::atoi(cpus);
    return count > 0 ? std::optional<int>(count) : std::nullopt;
}

struct Cores {
    int affinity;
    std::optional<int> quota;
    std::optional<int> slurm;
    int usable;
};

const Cores& cores() {
    static const Cores value = [] {
        Cores c{affinity_cores(), cgroup_quota_cores(), slurm_cores(), 1};
        c.usable = c.affinity;
        for (const auto& cap : {c.quota, c.slurm})
            if (cap) c.usable = std::min(c.usable, *cap);
        c.usable = std::max(1, c.usable);
        return c;
    }();
    return value;
}

// LibTorch computes float32 matrix products with OpenBLAS (Debian's build), whose own
// thread pool ignores at::set_num_threads: a trial given one thread ran its products on
// every core and spun in sched_yield between them, so two trials in parallel ran four
// busy threads on two cores. OpenBLAS's own setter, where the process has it, follows.
void set_blas_threads(int threads) {
    using Setter = void (*)(int);
    static const auto setter = reinterpret_cast<Setter>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (setter) setter(threads);
}

} // namespace

int usable_cores() { return cores().usable; }

std::string describe_usable_cores() {
    const Cores& c = cores();
    return std::to_string(c.usable) + " (affinity " + std::to_string(c.affinity) + ", cgroup quota " +
           (c.quota ? std::to_string(*c.quota) : std::string("none")) +
           (c.slurm ? ", Slurm cpus-per-task " + std::to_string(*c.slurm) : std::string()) + ")";
}

int resolve_threads(std::int64_t requested) {
    return requested > 0 ? static_cast<int>(std::min<std::int64_t>(requested, 1024)) : usable_cores();
}

void set_intra_op_threads(int threads) {
    if (threads <= 0) return;
    if (threads != at::get_num_threads()) at::set_num_threads(threads);
    set_blas_threads(threads);
}

int intra_op_threads() { return at::get_num_threads(); }

ScopedThreads::ScopedThreads(std::int64_t threads)
    : previous_(intra_op_threads()), threads_(threads > 0 ? resolve_threads(threads) : previous_) {
    set_intra_op_threads(threads_);
}

ScopedThreads::~ScopedThreads() { set_intra_op_threads(previous_); }

} // namespace msa

// CPU bfloat16 autocast (see autocast.hpp).
#include <msa/models/autocast.hpp>

#include <ATen/autocast_mode.h>
#include <torch/version.h>

// LibTorch 2.4 made the autocast calls per device and deprecated the CPU-only ones
// (Debian's 1.13 has only those).
#define MSA_AUTOCAST_PER_DEVICE (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4))

namespace msa::models {

namespace {

#if MSA_AUTOCAST_PER_DEVICE
at::ScalarType cpu_autocast_dtype() { return at::autocast::get_autocast_dtype(at::kCPU); }
void set_cpu_autocast(bool enabled, at::ScalarType dtype) {
    at::autocast::set_autocast_enabled(at::kCPU, enabled);
    at::autocast::set_autocast_dtype(at::kCPU, dtype);
}
#else
at::ScalarType cpu_autocast_dtype() { return at::autocast::get_autocast_cpu_dtype(); }
void set_cpu_autocast(bool enabled, at::ScalarType dtype) {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
}
#endif

} // namespace

bool cpu_autocast_enabled() {
#if MSA_AUTOCAST_PER_DEVICE
    return at::autocast::is_autocast_enabled(at::kCPU);
#else
    return at::autocast::is_cpu_enabled();
#endif
}

CpuBFloat16Autocast::CpuBFloat16Autocast(bool on) : on_(on) {
    if (!on_) return;
    was_enabled_ = cpu_autocast_enabled();
    was_dtype_ = static_cast<int>(cpu_autocast_dtype());
    set_cpu_autocast(true, at::kBFloat16);
    at::autocast::increment_nesting();
}

CpuBFloat16Autocast::~CpuBFloat16Autocast() {
    if (!on_) return;
    // The cache holds this pass's bfloat16 weight copies; a training step changes the weights.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set_cpu_autocast(was_enabled_, static_cast<at::ScalarType>(was_dtype_));
}

} // namespace msa::models

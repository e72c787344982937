// CPU mixed precision as torch.autocast("cpu", dtype=torch.bfloat16) has it: the host
// trains encoder tops under it ([train] precision), and a fine-tuned encoder's frozen
// bottom encodes its prefix under it (dtype = "auto" on a CPU with native BF16).
#pragma once

#include <msa/models/export.hpp>

namespace msa::models {

// Whether CPU autocast is on in this thread.
MSA_MODELS_API bool cpu_autocast_enabled();

// CPU autocast to bfloat16 while it lives, nothing when `on` is false: matmuls and
// convolutions take bfloat16 copies of their float32 inputs and weights, and autograd
// carries gradients back to the float32 weights. Restores the state it found.
class MSA_MODELS_API CpuBFloat16Autocast {
public:
    explicit CpuBFloat16Autocast(bool on);
    ~CpuBFloat16Autocast();
    CpuBFloat16Autocast(const CpuBFloat16Autocast&) = delete;
    CpuBFloat16Autocast& operator=(const CpuBFloat16Autocast&) = delete;

private:
    bool on_;
    bool was_enabled_ = false;
    int was_dtype_ = 0; // an at::ScalarType, kept as int so that this header needs no ATen
};

} // namespace msa::models

// The CPU this process runs on, read at run time (never assumed at build time): its
// model and the vector extensions that decide which precision is fast. bfloat16 matmuls
// are fast only with native BF16 dot products (AVX512_BF16 or AMX); elsewhere LibTorch
// emulates them, tens of times slower than float32.
#pragma once

#include <msa/models/export.hpp>

#include <string>

namespace msa::models {

struct MSA_MODELS_API CpuFeatures {
    std::string model; // /proc/cpuinfo's "model name", or "unknown"
    bool avx2 = false;
    bool avx512f = false;
    bool avx512_bf16 = false; // AVX-512 BF16 dot products (VDPBF16PS)
    bool amx_bf16 = false;    // AMX tiles with BF16

    bool native_bf16() const { return avx512_bf16 || amx_bf16; }
    // The extensions above that are present, space-separated ("avx2 avx512f avx512_bf16").
    std::string flags() const;
};

// Read once, on first use.
MSA_MODELS_API const CpuFeatures& cpu_features();

// The compute type a `dtype` parameter asks for on a given CPU: "float32", "bfloat16", or
// "auto" = bfloat16 where the CPU has native BF16, else float32. `dtype` is "float32" or
// "bfloat16"; `warning` is non-empty when bfloat16 is asked for on a CPU without native
// BF16 (it works, slowly), naming `who`, the CPU and what to ask for instead. Separate from
// the CPU this process runs on so that either kind of CPU can be reasoned about (and
// tested) on the other. Inline, so that it adds no symbol to the SDK's libraries.
struct DtypeChoice {
    std::string dtype;
    std::string warning;
};
inline DtypeChoice choose_dtype(const std::string& asked, const std::string& who, const CpuFeatures& cpu) {
    const bool native = cpu.native_bf16();
    if (asked == "auto") return {native ? "bfloat16" : "float32", ""};
    if (asked == "bfloat16" && !native)
        return {asked, who + ": dtype = \"bfloat16\" on a CPU without native BF16 (" + cpu.model + "; it has " +
                           cpu.flags() +
                           "): LibTorch emulates bfloat16 there, typically tens of times slower than float32; "
                           "dtype = \"auto\" picks the fast one"};
    return {asked, ""};
}

// choose_dtype on this process's CPU; the warning, if any, goes to stderr once per process.
MSA_MODELS_API std::string resolve_dtype(const std::string& asked, const std::string& who);

} // namespace msa::models

// torch::nn::Linear with the same parameters ("weight", "bias"), whose inference runs
// through oneDNN's sgemm. Debian's LibTorch multiplies float32 through the system BLAS
// (OpenBLAS): its AVX2 kernels on CPUs it does not recognise and its own thread pool,
// which spins against LibTorch's OpenMP threads. oneDNN picks its kernels by CPU feature
// and shares LibTorch's OpenMP pool. Training (anything that needs gradients), other
// dtypes and other devices take torch::nn::Linear's path unchanged.
#pragma once

#include <msa/models/export.hpp>

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace msa::models {

class MSA_MODELS_API LinearImpl : public torch::nn::LinearImpl {
public:
    using torch::nn::LinearImpl::LinearImpl;
    // input [..., in_features] -> [..., out_features], as torch::nn::Linear.
    at::Tensor forward(const at::Tensor& input);
};
TORCH_MODULE(Linear);

// y = x W^T + b for float32 CPU tensors through oneDNN's sgemm (x [..., K], W [N, K],
// b [N] or undefined), without autograd; other inputs go to at::linear. Exposed for
// modules that keep their weights outside a Linear (fused projections).
MSA_MODELS_API at::Tensor linear(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias);

// Whether oneDNN's sgemm computes in this process, tried once on a small product. It does
// not where pip's LibTorch, loaded first, carries a oneDNN of its own: the function-local
// statics of oneDNN's GEMM templates are process-wide unique symbols, LibTorch's copies
// serve both, and the system oneDNN's kernels are never set up ("unimplemented"). Then
// linear layers and self-attention take LibTorch's path, and a warning says so once.
MSA_MODELS_API bool onednn_sgemm_works();

} // namespace msa::models

// Inference of fully connected layers through oneDNN's sgemm (see linear.hpp for why).
#include <msa/models/linear.hpp>

#include <msa/error.hpp>
#include <msa/models/autocast.hpp>

#include <dnnl.h>
#include <torch/torch.h>

#include <cstdio>
#include <string>

namespace msa::models {

namespace {

bool sgemm_applies(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias) {
    const auto float_cpu = [](const at::Tensor& t) {
        return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.layout() == at::kStrided;
    };
    if (!float_cpu(input) || !float_cpu(weight) || input.dim() < 1 || weight.dim() != 2) return false;
    if (bias.defined() && (!float_cpu(bias) || bias.dim() != 1 || bias.size(0) != weight.size(0))) return false;
    if (input.size(-1) != weight.size(1)) return false; // at::linear words the shape error
    // Gradients need autograd's graph, which only at::linear records.
    if (at::GradMode::is_enabled() &&
        (input.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad())))
        return false;
    // Under bfloat16 autocast at::linear computes in bfloat16, as the caller asked.
    if (cpu_autocast_enabled()) return false;
    return onednn_sgemm_works();
}

} // namespace

bool onednn_sgemm_works() {
    static const bool works = [] {
        const float a[4] = {1, 2, 3, 4}, identity[4] = {1, 0, 0, 1};
        float c[4] = {};
        const dnnl_status_t status = dnnl_sgemm('N', 'T', 2, 2, 2, 1.0F, a, 2, identity, 2, 0.0F, c, 2);
        const bool ok = status == dnnl_success && c[0] == 1 && c[1] == 2 && c[2] == 3 && c[3] == 4;
        if (!ok)
            std::fprintf(stderr,
                         "warning: oneDNN's sgemm does not compute in this process (status %d); float32 linear "
                         "layers and self-attention run through LibTorch instead\n",
                         static_cast<int>(status));
        return ok;
    }();
    return works;
}

at::Tensor linear(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias) {
    if (!sgemm_applies(input, weight, bias)) return at::linear(input, weight, bias);
    const auto in_features = weight.size(1);
    const auto out_features = weight.size(0);
    const auto x = input.reshape({-1, in_features}).contiguous();
    const auto w = weight.contiguous();
    const auto rows = x.size(0);
    auto out_sizes = input.sizes().vec();
    out_sizes.back() = out_features;
    if (rows == 0 || in_features == 0)
        return bias.defined() ? bias.expand(out_sizes).contiguous() : at::zeros(out_sizes, input.options());
    // The bias is written first and the product added to it (beta = 1): one pass less. clone,
    // not contiguous(): for a single row the expanded bias is already contiguous, and
    // contiguous() would hand back the bias itself for sgemm to accumulate into.
    at::Tensor y = bias.defined() ? bias.unsqueeze(0).expand({rows, out_features}).clone(at::MemoryFormat::Contiguous)
                                  : at::empty({rows, out_features}, input.options());
    const dnnl_status_t status =
        dnnl_sgemm('N', 'T', rows, out_features, in_features, 1.0F, x.data_ptr<float>(), in_features,
                   w.data_ptr<float>(), in_features, bias.defined() ? 1.0F : 0.0F, y.data_ptr<float>(), out_features);
    if (status != dnnl_success)
        throw Error("linear layer [" + std::to_string(out_features) + " x " + std::to_string(in_features) +
                    "]: oneDNN's sgemm failed with status " + std::to_string(static_cast<int>(status)));
    return y.view(out_sizes);
}

at::Tensor LinearImpl::forward(const at::Tensor& input) { return linear(input, weight, bias); }

} // namespace msa::models

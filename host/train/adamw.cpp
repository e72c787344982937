// AdamW in one pass a parameter (adamw.hpp).
#include "train/adamw.hpp"

#include <ATen/Parallel.h>
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>

namespace msa::train {

namespace {

struct Update {
    float scale;     // of the gradient: clipping's coefficient, or 1
    float decay;     // 1 - lr * weight_decay
    float beta1, beta2;
    float sqrt_bc2;  // sqrt(1 - beta2^step)
    float eps;
    float step_size; // lr / (1 - beta1^step)
};

// The element loop, built for the CPU's widest vectors and chosen when the program loads
// (target_clones); the file is compiled with -fno-math-errno so that sqrt vectorizes.
__attribute__((target_clones("avx512f", "avx2", "default"))) void update_range(float* p, const float* g, float* m,
                                                                              float* v, std::int64_t n,
                                                                              const Update u) {
    for (std::int64_t i = 0; i < n; ++i) {
        const float grad = g[i] * u.scale;
        const float param = p[i] * u.decay;
        const float avg = m[i] * u.beta1 + grad * (1.0f - u.beta1);
        const float avg_sq = v[i] * u.beta2 + grad * grad * (1.0f - u.beta2);
        m[i] = avg;
        v[i] = avg_sq;
        p[i] = param - u.step_size * (avg / (std::sqrt(avg_sq) / u.sqrt_bc2 + u.eps));
    }
}

// The sum of squares, in independent lanes (a single sum would be one long chain of
// dependent additions, which neither vectorizes nor pipelines).
__attribute__((target_clones("avx512f", "avx2", "default"))) double squares(const float* g, std::int64_t n) {
    constexpr std::int64_t kLanes = 16;
    double lanes[kLanes] = {};
    std::int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (std::int64_t k = 0; k < kLanes; ++k) lanes[k] += static_cast<double>(g[i + k]) * g[i + k];
    double sum = 0;
    for (; i < n; ++i) sum += static_cast<double>(g[i]) * g[i];
    for (double lane : lanes) sum += lane;
    return sum;
}

bool fused(const at::Tensor& p, const at::Tensor& g) {
    return p.device().is_cpu() && p.scalar_type() == at::kFloat && g.scalar_type() == at::kFloat &&
           p.is_contiguous() && g.is_contiguous() && !g.is_sparse() && g.sizes() == p.sizes();
}

} // namespace

AdamW::AdamW(std::vector<Group> groups, double beta1, double beta2, double eps)
    : groups_(std::move(groups)), beta1_(beta1), beta2_(beta2), eps_(eps) {
    for (const auto& group : groups_) state_.emplace_back(group.params.size());
}

void AdamW::zero_grad() {
    for (auto& group : groups_)
        for (auto& p : group.params)
            if (p.grad().defined()) p.mutable_grad().reset();
}

double AdamW::step(double max_grad_norm) {
    at::NoGradGuard no_grad;
    double norm = 0, scale = 1;
    if (max_grad_norm > 0) {
        for (const auto& group : groups_)
            for (const auto& p : group.params) {
                const at::Tensor& grad = p.grad();
                if (!grad.defined()) continue;
                norm += fused(p, grad) ? squares(grad.data_ptr<float>(), grad.numel())
                                       : grad.to(at::kDouble).pow(2).sum().item<double>();
            }
        norm = std::sqrt(norm);
        // As clip_grad_norm_: scaled only when over, by max / (norm + 1e-6).
        if (max_grad_norm / (norm + 1e-6) < 1) scale = max_grad_norm / (norm + 1e-6);
    }
    for (std::size_t g = 0; g < groups_.size(); ++g) {
        const Group& group = groups_[g];
        for (std::size_t i = 0; i < group.params.size(); ++i) {
            at::Tensor p = group.params[i];
            const at::Tensor& grad = p.grad();
            if (!grad.defined()) continue;
            State& s = state_[g][i];
            if (!s.exp_avg.defined()) {
                s.exp_avg = at::zeros_like(p, at::MemoryFormat::Contiguous);
                s.exp_avg_sq = at::zeros_like(p, at::MemoryFormat::Contiguous);
            }
            ++s.step;
            const double bc1 = 1 - std::pow(beta1_, static_cast<double>(s.step));
            const double bc2 = 1 - std::pow(beta2_, static_cast<double>(s.step));
            const double step_size = group.learning_rate / bc1;
            const double decay = 1 - group.learning_rate * group.weight_decay;
            if (fused(p, grad)) {
                const Update u{static_cast<float>(scale),  static_cast<float>(decay),
                               static_cast<float>(beta1_), static_cast<float>(beta2_),
                               static_cast<float>(std::sqrt(bc2)), static_cast<float>(eps_),
                               static_cast<float>(step_size)};
                float* pp = p.data_ptr<float>();
                const float* gp = grad.data_ptr<float>();
                float* mp = s.exp_avg.data_ptr<float>();
                float* vp = s.exp_avg_sq.data_ptr<float>();
                // Large parameters split over the intra-op threads; a head's stay on one.
                at::parallel_for(0, p.numel(), 1 << 16, [&](std::int64_t begin, std::int64_t end) {
                    update_range(pp + begin, gp + begin, mp + begin, vp + begin, end - begin, u);
                });
                continue;
            }
            const at::Tensor clipped = scale < 1 ? grad * scale : grad;
            p.mul_(decay);
            s.exp_avg.mul_(beta1_).add_(clipped, 1 - beta1_);
            s.exp_avg_sq.mul_(beta2_).addcmul_(clipped, clipped, 1 - beta2_);
            p.addcdiv_(s.exp_avg, (s.exp_avg_sq.sqrt() / std::sqrt(bc2)).add_(eps_), -step_size);
        }
    }
    return norm;
}

} // namespace msa::train

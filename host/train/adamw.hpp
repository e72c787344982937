// AdamW whose update of a parameter is one pass over its memory.
//
// LibTorch's AdamW (torch::optim::AdamW) updates each parameter with about eight tensor
// operations, each a pass over the parameter and some a temporary the size of it: on a
// head of frozen features that step cost as much as the forward and backward passes
// together. This one computes the same update (Loshchilov and Hutter's decoupled weight
// decay, as torch.optim.AdamW: p *= 1 - lr*wd; m, v moving averages; p -= lr/bc1 *
// m / (sqrt(v)/sqrt(bc2) + eps)) element by element, for float32 parameters in the CPU's
// memory; anything else (CUDA, other types) takes the same formula in tensor operations.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace msa::train {

class AdamW {
public:
    struct Group {
        std::vector<at::Tensor> params;
        double learning_rate = 1e-3;
        double weight_decay = 0.01;
    };

    explicit AdamW(std::vector<Group> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8);

    // The groups; a schedule sets each one's learning_rate before step().
    std::vector<Group>& groups() { return groups_; }
    // Every parameter's gradient dropped (backward then writes a fresh one, no pass to zero it).
    void zero_grad();
    // One update of every parameter with a gradient. With max_grad_norm > 0 the gradients
    // are first scaled so that their joint L2 norm is at most that (torch's
    // clip_grad_norm_, within the same pass); returns their norm before scaling (0 without).
    double step(double max_grad_norm = 0);

private:
    struct State {
        at::Tensor exp_avg, exp_avg_sq;
        std::int64_t step = 0;
    };
    std::vector<Group> groups_;
    std::vector<std::vector<State>> state_; // per group, per parameter
    double beta1_, beta2_, eps_;
};

} // namespace msa::train

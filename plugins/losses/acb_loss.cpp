// acb: adaptive class-balancing loss. Classes the model has found hard so far get a
// larger weight and a stronger focal exponent, and a boundary term pushes the top class
// away from the runner-up.
//
//   D_c  = running mean of (1 − p_t) over the training samples of class c seen so far (0 before any)
//   α_c  = 1 + ln(1 + D_c)                     γ_i = 1 + D[y_i]
//   ℓ_i  = α[y_i] · (1 − p_t,i)^γ_i · CE_i     b_i = exp(−(p_top1,i − p_top2,i))
//   loss = mean_i ℓ_i + lambda · mean_i b_i
//
// Order within a call: the loss of the batch is computed with the difficulties of the
// batches before it; then, in training mode only, the batch's detached (1 − p_t) are
// added to the per-class sums and counts. Evaluation calls never change them. The sums
// and counts are buffers, so they move with the module and are saved with the model.
//
// | parameter | type  | default | meaning                                        |
// | lambda    | float | 0.1     | weight of the boundary term, in [0, 10]        |
#include <msa/loss.hpp>
#include <msa/plugin.hpp>

#include <torch/torch.h>

#include <string>

namespace {

class AdaptiveClassBalancingLoss final : public msa::Loss {
public:
    AdaptiveClassBalancingLoss(const msa::Properties& props, const msa::LossContext& context)
        : lambda_(props.get_real("lambda")) {
        if (context.num_classes < 2)
            throw msa::Error("acb loss needs at least 2 classes for its boundary term; the study has " +
                             std::to_string(context.num_classes));
        difficulty_sum_ = register_buffer("difficulty_sum", torch::zeros({context.num_classes}, torch::kFloat64));
        difficulty_count_ =
            register_buffer("difficulty_count", torch::zeros({context.num_classes}, torch::kFloat64));
    }

    at::Tensor forward(const msa::LossInput& input) override {
        const auto& logits = input.logits;
        const auto targets = input.targets.to(logits.device(), torch::kLong);
        TORCH_CHECK(logits.dim() == 2 && targets.dim() == 1 && targets.size(0) == logits.size(0) &&
                        logits.size(1) == difficulty_sum_.size(0),
                    "acb loss: expected logits [N, ", difficulty_sum_.size(0), "] and targets [N], got ",
                    logits.sizes(), " and ", targets.sizes());
        const auto log_p = torch::log_softmax(logits, 1);
        const auto p = log_p.exp();
        const auto log_pt = log_p.gather(1, targets.unsqueeze(1)).squeeze(1);
        const auto hardness = 1 - log_pt.exp();

        const auto difficulty = class_difficulty().to(logits.device(), logits.scalar_type());
        const auto d = difficulty.index_select(0, targets);
        const auto alpha = 1 + torch::log1p(d);
        const auto gamma = 1 + d;
        // gamma >= 1, so the floor only guards pow's gradient at an exact 0.
        const auto focal = alpha * hardness.clamp_min(1e-12).pow(gamma) * -log_pt;

        const auto top2 = std::get<0>(p.topk(2, 1));
        const auto boundary = torch::exp(-(top2.select(1, 0) - top2.select(1, 1)));
        const auto loss = focal.mean() + lambda_ * boundary.mean();

        if (is_training()) {
            torch::NoGradGuard no_grad;
            const auto t = targets.to(difficulty_sum_.device());
            difficulty_sum_.index_add_(0, t, hardness.detach().to(difficulty_sum_.device(), torch::kFloat64));
            difficulty_count_.index_add_(0, t, torch::ones_like(t, difficulty_count_.options()));
        }
        return loss;
    }

private:
    // D_c; 0 for a class not seen yet.
    at::Tensor class_difficulty() const {
        return torch::where(difficulty_count_ > 0, difficulty_sum_ / difficulty_count_.clamp_min(1),
                            torch::zeros_like(difficulty_sum_));
    }

    double lambda_;
    at::Tensor difficulty_sum_;
    at::Tensor difficulty_count_;
};

void register_plugins(msa::Registry& registry) {
    registry.add_loss(
        {"acb",
         "Adaptive class-balancing loss: per-class weight and focal exponent from the running difficulty of "
         "each class, plus a top-1/top-2 margin term.",
         {msa::ParamSpec::real("lambda", 0.1, "Weight of the boundary term exp(-(p_top1 - p_top2))")
              .range(0.0, 10.0)}},
        [](const msa::Properties& props, const msa::LossContext& context) {
            return std::make_shared<AdaptiveClassBalancingLoss>(props, context);
        });
}

} // namespace

MSA_PLUGIN(register_plugins)

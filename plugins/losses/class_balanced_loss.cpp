// class-balanced: re-weights a loss by the inverse effective number of samples of each
// class (Cui et al., "Class-Balanced Loss Based on Effective Number of Samples", CVPR
// 2019), from the training-set class counts the host passes in the context.
//
//   E_c = (1 − beta^n_c) / (1 − beta)          effective number of class c (n_c samples)
//   w_c = (1/E_c) · C / Σ_k 1/E_k              normalised so that Σ_c w_c = C (number of classes)
//   loss = (1/N) Σ_i w[y_i] · (1 − p_t,i)^gamma · CE_i      gamma = 0 for base = "cross-entropy"
//
// The mean is over the N samples of the batch, not over their weights: the normalisation
// keeps the loss on the scale of plain cross-entropy, as in the paper. beta = 0 weighs all
// classes equally; beta → 1 approaches weights proportional to 1/n_c.
// A class with no training sample (n_c = 0, E_c = 0) gets weight 0: it is never a target,
// so its weight is never used, and the other classes' weights still sum to C.
//
// | parameter | type   | default         | meaning                                          |
// | beta      | float  | 0.999           | in [0, 1): how fast the effective number saturates |
// | base      | string | "cross-entropy" | "cross-entropy" or "focal"                        |
// | gamma     | float  | 2.0             | focal exponent in [0, 10]; only with base = "focal" |
#include <msa/loss.hpp>
#include <msa/plugin.hpp>

#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

namespace {

// The normalised weights w_c above; every problem with the counts is a clear error.
std::vector<double> class_balanced_weights(const msa::Properties& props, const msa::LossContext& context,
                                           double beta) {
    const auto& counts = context.class_counts;
    if (static_cast<std::int64_t>(counts.size()) != context.num_classes)
        throw msa::Error("class-balanced loss needs the training-set count of each of the " +
                         std::to_string(context.num_classes) + " classes; the host passed " +
                         std::to_string(counts.size()) + " counts");
    std::vector<double> weights(counts.size(), 0.0);
    double sum = 0.0;
    for (std::size_t c = 0; c < counts.size(); ++c) {
        if (counts[c] < 0)
            throw msa::Error("class-balanced loss: class " + std::to_string(c) + " has a negative count (" +
                             std::to_string(counts[c]) + ")");
        if (counts[c] == 0) continue;
        // (1 − beta) / (1 − beta^n) without cancellation: expm1/log1p stay exact for beta near 1.
        const double effective_number_times_one_minus_beta =
            beta == 0.0 ? 1.0 : -std::expm1(static_cast<double>(counts[c]) * std::log(beta));
        weights[c] = (1.0 - beta) / effective_number_times_one_minus_beta;
        sum += weights[c];
    }
    if (sum <= 0.0)
        throw msa::ConfigError(props.where("beta"),
                               "class-balanced loss: every class has a training count of 0, so there is "
                               "nothing to balance");
    for (auto& w : weights) w *= static_cast<double>(counts.size()) / sum;
    return weights;
}

class ClassBalancedLoss final : public msa::Loss {
public:
    ClassBalancedLoss(const msa::Properties& props, const msa::LossContext& context) {
        const double beta = props.get_real("beta");
        if (!(beta >= 0.0 && beta < 1.0))
            throw msa::ConfigError(props.where("beta"), "beta = " + msa::format_value(msa::Value{beta}) +
                                                            " is out of range; accepted: [0, 1) (beta = 1 "
                                                            "makes every effective number 0/0)");
        // gamma is read only for the focal base, so that setting it with cross-entropy is
        // reported as ignored by the host instead of silently doing nothing.
        gamma_ = props.get_string("base") == "focal" ? props.get_real("gamma") : 0.0;
        const auto weights = class_balanced_weights(props, context, beta);
        weights_ = register_buffer("class_weights",
                                   torch::tensor(std::vector<float>(weights.begin(), weights.end())));
    }

    at::Tensor forward(const msa::LossInput& input) override {
        const auto& logits = input.logits;
        const auto targets = input.targets.to(logits.device(), torch::kLong);
        TORCH_CHECK(logits.dim() == 2 && targets.dim() == 1 && targets.size(0) == logits.size(0),
                    "class-balanced loss: expected logits [N, C] and targets [N], got ", logits.sizes(), " and ",
                    targets.sizes());
        const auto log_pt = torch::log_softmax(logits, 1).gather(1, targets.unsqueeze(1)).squeeze(1);
        auto loss = -log_pt;
        if (gamma_ != 0.0) loss = (1 - log_pt.exp()).clamp_min(1e-12).pow(gamma_) * loss;
        return (weights_.to(logits.device()).index_select(0, targets) * loss).mean();
    }

private:
    double gamma_ = 0.0;
    at::Tensor weights_;
};

void register_plugins(msa::Registry& registry) {
    registry.add_loss(
        {"class-balanced",
         "Cross-entropy or focal loss weighted by the inverse effective number of samples per class (Cui et al. 2019).",
         {msa::ParamSpec::real("beta", 0.999, "In [0, 1): 0 weighs classes equally, near 1 weighs by 1/count")
              .range(0.0, 1.0 - 1e-9),
          msa::ParamSpec::choice("base", "cross-entropy", {"cross-entropy", "focal"},
                                 "The loss each sample's weight multiplies"),
          msa::ParamSpec::real("gamma", 2.0, "Focal exponent (only with base = \"focal\")").range(0.0, 10.0)}},
        [](const msa::Properties& props, const msa::LossContext& context) {
            return std::make_shared<ClassBalancedLoss>(props, context);
        });
}

} // namespace

MSA_PLUGIN(register_plugins)

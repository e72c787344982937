// focal: cross-entropy scaled down on easy samples (Lin et al., ICCV 2017), so that
// training concentrates on the samples the model still gets wrong.
//
//   loss_i = alpha[y_i] · (1 − p_t,i)^gamma · CE_i          p_t,i = softmax(logits_i)[y_i]
//   loss   = Σ_i w[y_i] · loss_i / Σ_i w[y_i]              w = class_weights (all 1 when [])
//
// With class_weights = [] this is the plain mean over the batch; class_weights weigh the
// mean as the cross-entropy plugin does (so gamma = 0 gives exactly cross-entropy with
// the same weights), while alpha is Lin et al.'s balancing factor, a plain multiplier.
//
// | parameter     | type       | default | meaning                                         |
// | gamma         | float      | 2.0     | focusing exponent, in [0, 10]; 0 is cross-entropy |
// | alpha         | float list | []      | per-class multiplier, in label order; [] = all 1 |
// | class_weights | float list | []      | per-class weights of the mean; [] = all 1        |
#include <msa/loss.hpp>
#include <msa/plugin.hpp>

#include <torch/torch.h>

#include <string>
#include <vector>

namespace {

// A per-class list read from the properties: empty, or exactly one entry per class.
at::Tensor per_class(const msa::Properties& props, const std::string& key, const msa::LossContext& context) {
    const auto values = props.get_reals(key);
    if (values.empty()) return {};
    if (static_cast<std::int64_t>(values.size()) != context.num_classes)
        throw msa::ConfigError(props.where(key), key + " has " + std::to_string(values.size()) +
                                                     " entries; the study has " +
                                                     std::to_string(context.num_classes) +
                                                     " classes (give one per class, in label order, or [])");
    return torch::tensor(values, torch::kFloat32);
}

class FocalLoss final : public msa::Loss {
public:
    FocalLoss(const msa::Properties& props, const msa::LossContext& context) : gamma_(props.get_real("gamma")) {
        if (auto alpha = per_class(props, "alpha", context); alpha.defined())
            alpha_ = register_buffer("alpha", alpha);
        if (auto weights = per_class(props, "class_weights", context); weights.defined()) {
            if (weights.sum().item<float>() <= 0.0f)
                throw msa::ConfigError(props.where("class_weights"),
                                       "class_weights are all 0, which leaves nothing to average; give at "
                                       "least one positive weight, or [] for all 1");
            weights_ = register_buffer("class_weights", weights);
        }
    }

    at::Tensor forward(const msa::LossInput& input) override {
        const auto& logits = input.logits;
        const auto targets = input.targets.to(logits.device(), torch::kLong);
        TORCH_CHECK(logits.dim() == 2 && targets.dim() == 1 && targets.size(0) == logits.size(0),
                    "focal loss: expected logits [N, C] and targets [N], got ", logits.sizes(), " and ",
                    targets.sizes());
        const auto log_pt = torch::log_softmax(logits, 1).gather(1, targets.unsqueeze(1)).squeeze(1);
        auto loss = -log_pt;
        if (gamma_ != 0.0) {
            // p_t can round to exactly 1; a floor keeps the gradient of x^gamma finite
            // for gamma < 1 (that sample's loss is ~0 either way).
            const auto hardness = (1 - log_pt.exp()).clamp_min(1e-12);
            loss = hardness.pow(gamma_) * loss;
        }
        if (alpha_.defined()) loss = alpha_.to(logits.device()).index_select(0, targets) * loss;
        if (!weights_.defined()) return loss.mean();
        const auto w = weights_.to(logits.device()).index_select(0, targets);
        return (w * loss).sum() / w.sum();
    }

private:
    double gamma_;
    at::Tensor alpha_;
    at::Tensor weights_;
};

void register_plugins(msa::Registry& registry) {
    registry.add_loss(
        {"focal",
         "Focal loss: (1 - p_t)^gamma times cross-entropy, with optional alpha balancing and class weights.",
         {msa::ParamSpec::real("gamma", 2.0, "Focusing exponent; 0 gives plain cross-entropy").range(0.0, 10.0),
          msa::ParamSpec::reals("alpha", {}, "Per-class multiplier of each sample's loss, in label order; [] = all 1")
              .range(0.0, 1000.0),
          msa::ParamSpec::reals("class_weights", {},
                                "Per-class weights of the batch mean, as in cross-entropy; [] weighs all equally")
              .range(0.0, 1000.0)}},
        [](const msa::Properties& props, const msa::LossContext& context) {
            return std::make_shared<FocalLoss>(props, context);
        });
}

} // namespace

MSA_PLUGIN(register_plugins)

// cross-entropy: the baseline loss, with optional class weights and label smoothing.
//
// | parameter       | type       | default | meaning                                  |
// | label_smoothing | float      | 0.0     | mass moved uniformly to the other classes |
// | class_weights   | float list | []      | one weight per class; [] means all 1     |
#include <msa/loss.hpp>
#include <msa/plugin.hpp>

#include <torch/nn/functional/loss.h>

#include <string>

namespace {

class CrossEntropyLoss final : public msa::Loss {
public:
    CrossEntropyLoss(const msa::Properties& props, const msa::LossContext& context)
        : label_smoothing_(props.get_real("label_smoothing")) {
        const auto weights = props.get_reals("class_weights");
        if (!weights.empty()) {
            if (static_cast<std::int64_t>(weights.size()) != context.num_classes)
                throw msa::ConfigError(props.where("class_weights"),
                                       "class_weights has " + std::to_string(weights.size()) +
                                           " entries; the study has " + std::to_string(context.num_classes) +
                                           " classes");
            weights_ = register_buffer("class_weights", torch::tensor(weights, torch::kFloat32));
        }
    }

    at::Tensor forward(const msa::LossInput& input) override {
        namespace F = torch::nn::functional;
        auto options = F::CrossEntropyFuncOptions().label_smoothing(label_smoothing_);
        if (weights_.defined()) options.weight(weights_.to(input.logits.device()));
        return F::cross_entropy(input.logits, input.targets, options);
    }

private:
    double label_smoothing_;
    at::Tensor weights_;
};

void register_plugins(msa::Registry& registry) {
    registry.add_loss(
        {"cross-entropy",
         "Softmax cross-entropy with optional per-class weights and label smoothing.",
         {msa::ParamSpec::real("label_smoothing", 0.0, "Probability mass spread uniformly over all classes")
              .range(0.0, 0.99),
          msa::ParamSpec::reals("class_weights", {}, "One weight per class, in label order; [] weighs all equally")
              .at_least(0.0)}},
        [](const msa::Properties& props, const msa::LossContext& context) {
            return std::make_shared<CrossEntropyLoss>(props, context);
        });
}

} // namespace

MSA_PLUGIN(register_plugins)

// image-only: the unimodal baseline of an ablation. Uses the pooled image features alone
// (the text features, when the study has them, are ignored) and, with hidden > 0,
// projects them as concat does: dropout(relu(W x_i + b)). Needs the image encoder.
// Output width: hidden, or the image features' width when hidden = 0.
//
// | parameter | type  | default | meaning                                         |
// | hidden    | int   | 256     | projection width; 0 passes the image features    |
// | dropout   | float | 0.1     | dropout after the projection                    |
#include "fusion_inputs.hpp"

#include <msa/fusion.hpp>
#include <msa/plugin.hpp>

#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

namespace {

using namespace msa::fusions;

class ImageOnlyFusion final : public msa::Fusion {
public:
    ImageOnlyFusion(const msa::Properties& props, const msa::FusionContext& context)
        : input_dim_(context.image_dim), hidden_(props.get_int("hidden")) {
        const double dropout = props.get_real("dropout");
        require_modality("image-only", msa::Modality::image, context);
        if (hidden_ > 0) {
            projection_ = register_module("projection", torch::nn::Linear(input_dim_, hidden_));
            dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
        }
    }

    std::int64_t output_dim() const override { return hidden_ > 0 ? hidden_ : input_dim_; }

    at::Tensor forward(const msa::Features& /*text*/, const msa::Features& image) override {
        const at::Tensor& x = pooled_input("image-only", image, msa::Modality::image, input_dim_);
        if (hidden_ == 0) return x;
        return dropout_(torch::relu(projection_(x)));
    }

private:
    std::int64_t input_dim_;
    std::int64_t hidden_;
    torch::nn::Linear projection_{nullptr};
    torch::nn::Dropout dropout_{nullptr};
};

void register_plugins(msa::Registry& registry) {
    registry.add_fusion(
        {"image-only",
         "Unimodal baseline: the pooled image features alone, then an optional Linear-ReLU-Dropout projection.",
         {msa::ParamSpec::integer("hidden", 256, "Projection width; 0 passes the image features through")
              .range(0, 65536),
          msa::ParamSpec::real("dropout", 0.1, "Dropout probability after the projection").range(0.0, 0.95)}},
        [](const msa::Properties& props, const msa::FusionContext& context) {
            return std::make_shared<ImageOnlyFusion>(props, context);
        });
}

} // namespace

MSA_PLUGIN(register_plugins)

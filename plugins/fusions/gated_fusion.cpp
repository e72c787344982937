// gated: the Gated Multimodal Unit (Arevalo et al. 2017). Each modality gets its own
// tanh projection, and a gate computed from both inputs mixes them per feature:
//   h_t = tanh(W_t x_t + b_t), h_i = tanh(W_i x_i + b_i),
//   z = sigmoid(W_z [x_t; x_i] + b_z), h = z * h_t + (1 - z) * h_i, then dropout.
// Every output feature is a convex combination of the two modalities' features.
// Needs both modalities. Output width: hidden.
//
// | parameter | type  | default | meaning                                      |
// | hidden    | int   | 256     | width of h_t, h_i, the gate and the output   |
// | dropout   | float | 0.1     | dropout on h                                 |

#include <msa/fusion.hpp>
#include <msa/fusion_inputs.hpp>
#include <msa/plugin.hpp>

#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

namespace {


class GatedFusion final : public msa::Fusion {
public:
    GatedFusion(const msa::Properties& props, const msa::FusionContext& context)
        : text_dim_(context.text_dim), image_dim_(context.image_dim), hidden_(props.get_int("hidden")) {
        const double dropout = props.get_real("dropout");
        msa::require_both_modalities("gated", context);
        text_ = register_module("text", torch::nn::Linear(text_dim_, hidden_));
        image_ = register_module("image", torch::nn::Linear(image_dim_, hidden_));
        gate_ = register_module("gate", torch::nn::Linear(text_dim_ + image_dim_, hidden_));
        dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
    }

    std::int64_t output_dim() const override { return hidden_; }

    at::Tensor forward(const msa::Features& text, const msa::Features& image) override {
        const at::Tensor& x_text = msa::pooled_input("gated", text, msa::Modality::text, text_dim_);
        const at::Tensor& x_image = msa::pooled_input("gated", image, msa::Modality::image, image_dim_);
        msa::require_same_batch("gated", x_text, x_image);
        const at::Tensor h_text = torch::tanh(text_(x_text));
        const at::Tensor h_image = torch::tanh(image_(x_image));
        const at::Tensor z = torch::sigmoid(gate_(torch::cat({x_text, x_image}, /*dim=*/1)));
        return dropout_(z * h_text + (1 - z) * h_image);
    }

private:
    std::int64_t text_dim_, image_dim_, hidden_;
    torch::nn::Linear text_{nullptr}, image_{nullptr}, gate_{nullptr};
    torch::nn::Dropout dropout_{nullptr};
};

void register_plugins(msa::Registry& registry) {
    registry.add_fusion(
        msa::PluginInfo{"gated",
         "Gated Multimodal Unit: a sigmoid gate from both inputs mixes tanh projections of text and image per feature.",
         {msa::ParamSpec::integer("hidden", 256, "Width of the modality projections, the gate and the output")
              .range(1, 65536),
          msa::ParamSpec::real("dropout", 0.1, "Dropout probability on the gated mixture").range(0.0, 0.95)}}
            .with_needs({/*text=*/true, /*image=*/true}),
        [](const msa::Properties& props, const msa::FusionContext& context) {
            return std::make_shared<GatedFusion>(props, context);
        });
}

} // namespace

MSA_PLUGIN(register_plugins)

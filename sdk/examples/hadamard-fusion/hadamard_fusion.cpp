// hadamard: an example third-party fusion. Projects text and image features to the
// same width and multiplies them element-wise, so the representation carries their
// interactions (a low-rank bilinear fusion).
//
// | parameter | type  | default | meaning                          |
// | hidden    | int   | 128     | width of both projections        |
// | dropout   | float | 0.1     | dropout on the product           |
#include <msa/fusion.hpp>
#include <msa/plugin.hpp>

#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

namespace {

class HadamardFusion final : public msa::Fusion {
public:
    HadamardFusion(const msa::Properties& props, const msa::FusionContext& context)
        : hidden_(props.get_int("hidden")) {
        if (context.text_dim <= 0 || context.image_dim <= 0)
            throw msa::Error("hadamard fusion needs both text and image features");
        text_ = register_module("text", torch::nn::Linear(context.text_dim, hidden_));
        image_ = register_module("image", torch::nn::Linear(context.image_dim, hidden_));
        dropout_ = register_module("dropout", torch::nn::Dropout(props.get_real("dropout")));
    }

    std::int64_t output_dim() const override { return hidden_; }

    at::Tensor forward(const msa::Features& text, const msa::Features& image) override {
        return dropout_(torch::tanh(text_(text.pooled)) * torch::tanh(image_(image.pooled)));
    }

private:
    std::int64_t hidden_;
    torch::nn::Linear text_{nullptr}, image_{nullptr};
    torch::nn::Dropout dropout_{nullptr};
};

void register_plugins(msa::Registry& registry) {
    registry.add_fusion(
        msa::PluginInfo{"hadamard",
         "Element-wise product of tanh-projected text and image features.",
         {msa::ParamSpec::integer("hidden", 128, "Width of both projections").range(1, 65536),
          msa::ParamSpec::real("dropout", 0.1, "Dropout probability on the product").range(0.0, 0.95)}}
            .with_needs({/*text=*/true, /*image=*/true}),
        [](const msa::Properties& props, const msa::FusionContext& context) {
            return std::make_shared<HadamardFusion>(props, context);
        });
}

} // namespace

MSA_PLUGIN(register_plugins)

// bilinear: low-rank bilinear pooling (MLB, Kim et al. 2017). Both modalities are
// projected to `rank` and squashed, their element-wise product approximates a bilinear
// form of rank `rank`, and P projects it to `hidden`:
//   f = P (dropout(tanh(U x_t + b_U) * tanh(V x_i + b_V))) + b_P
// With hidden = 0 the product itself is the output. Needs both modalities.
// Output width: hidden, or rank when hidden = 0.
//
// | parameter | type  | default | meaning                                          |
// | rank      | int   | 256     | width of U x_t and V x_i (the rank of the form)  |
// | hidden    | int   | 256     | width of the projection P; 0 passes the product  |
// | dropout   | float | 0.1     | dropout on the product, before P                 |

#include <msa/fusion.hpp>
#include <msa/fusion_inputs.hpp>
#include <msa/plugin.hpp>

#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

namespace {


class BilinearFusion final : public msa::Fusion {
public:
    BilinearFusion(const msa::Properties& props, const msa::FusionContext& context)
        : text_dim_(context.text_dim), image_dim_(context.image_dim), rank_(props.get_int("rank")),
          hidden_(props.get_int("hidden")) {
        const double dropout = props.get_real("dropout");
        msa::require_both_modalities("bilinear", context);
        text_ = register_module("text", torch::nn::Linear(text_dim_, rank_));
        image_ = register_module("image", torch::nn::Linear(image_dim_, rank_));
        dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
        if (hidden_ > 0) projection_ = register_module("projection", torch::nn::Linear(rank_, hidden_));
    }

    std::int64_t output_dim() const override { return hidden_ > 0 ? hidden_ : rank_; }

    at::Tensor forward(const msa::Features& text, const msa::Features& image) override {
        const at::Tensor& x_text = msa::pooled_input("bilinear", text, msa::Modality::text, text_dim_);
        const at::Tensor& x_image = msa::pooled_input("bilinear", image, msa::Modality::image, image_dim_);
        msa::require_same_batch("bilinear", x_text, x_image);
        const at::Tensor product = dropout_(torch::tanh(text_(x_text)) * torch::tanh(image_(x_image)));
        return hidden_ > 0 ? projection_(product) : product;
    }

private:
    std::int64_t text_dim_, image_dim_, rank_, hidden_;
    torch::nn::Linear text_{nullptr}, image_{nullptr}, projection_{nullptr};
    torch::nn::Dropout dropout_{nullptr};
};

void register_plugins(msa::Registry& registry) {
    registry.add_fusion(
        msa::PluginInfo{"bilinear",
         "Low-rank bilinear pooling (MLB): tanh(U x_text) * tanh(V x_image), then a projection to hidden.",
         {msa::ParamSpec::integer("rank", 256, "Rank of the bilinear form: width of both projections").range(1, 65536),
          msa::ParamSpec::integer("hidden", 256, "Width of the projection after the product; 0 passes the product")
              .range(0, 65536),
          msa::ParamSpec::real("dropout", 0.1, "Dropout probability on the product").range(0.0, 0.95)}}
            .with_needs({/*text=*/true, /*image=*/true}),
        [](const msa::Properties& props, const msa::FusionContext& context) {
            return std::make_shared<BilinearFusion>(props, context);
        });
}

} // namespace

MSA_PLUGIN(register_plugins)

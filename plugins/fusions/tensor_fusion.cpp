// tensor: Tensor Fusion Network (Zadeh et al. 2017). Each modality is projected to a
// small width d and extended by a constant 1, so their outer product holds the unimodal
// features and every bimodal product at once:
//   z_t = W_t x_t + b_t, z_i = W_i x_i + b_i (both d wide),
//   T = vec([z_t; 1] (outer) [z_i; 1])   ((d + 1)^2 wide),
//   f = dropout(relu(W_h T + b_h)).
// With hidden = 0 the flattened product T is the output. Needs both modalities.
// Output width: hidden, or (dim + 1)^2 when hidden = 0.
//
// | parameter | type  | default | meaning                                               |
// | dim       | int   | 32      | width d of each modality's projection                 |
// | hidden    | int   | 128     | width of the ReLU layer after the product; 0: none    |
// | dropout   | float | 0.1     | dropout after the ReLU layer                          |

#include <msa/fusion.hpp>
#include <msa/fusion_inputs.hpp>
#include <msa/plugin.hpp>

#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

namespace {


class TensorFusion final : public msa::Fusion {
public:
    TensorFusion(const msa::Properties& props, const msa::FusionContext& context)
        : text_dim_(context.text_dim), image_dim_(context.image_dim), dim_(props.get_int("dim")),
          hidden_(props.get_int("hidden")) {
        const double dropout = props.get_real("dropout");
        msa::require_both_modalities("tensor", context);
        text_ = register_module("text", torch::nn::Linear(text_dim_, dim_));
        image_ = register_module("image", torch::nn::Linear(image_dim_, dim_));
        if (hidden_ > 0) {
            projection_ = register_module("projection", torch::nn::Linear(product_dim(), hidden_));
            dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
        }
    }

    std::int64_t output_dim() const override { return hidden_ > 0 ? hidden_ : product_dim(); }

    at::Tensor forward(const msa::Features& text, const msa::Features& image) override {
        const at::Tensor& x_text = msa::pooled_input("tensor", text, msa::Modality::text, text_dim_);
        const at::Tensor& x_image = msa::pooled_input("tensor", image, msa::Modality::image, image_dim_);
        msa::require_same_batch("tensor", x_text, x_image);
        const auto n = x_text.size(0);
        const at::Tensor ones = torch::ones({n, 1}, x_text.options());
        const at::Tensor z_text = torch::cat({text_(x_text), ones}, /*dim=*/1);    // [N, d + 1]
        const at::Tensor z_image = torch::cat({image_(x_image), ones}, /*dim=*/1); // [N, d + 1]
        // Row-major flattening: element (j, k) of the outer product lands at j * (d + 1) + k.
        const at::Tensor product = (z_text.unsqueeze(2) * z_image.unsqueeze(1)).reshape({n, product_dim()});
        if (hidden_ == 0) return product;
        return dropout_(torch::relu(projection_(product)));
    }

private:
    std::int64_t product_dim() const { return (dim_ + 1) * (dim_ + 1); }

    std::int64_t text_dim_, image_dim_, dim_, hidden_;
    torch::nn::Linear text_{nullptr}, image_{nullptr}, projection_{nullptr};
    torch::nn::Dropout dropout_{nullptr};
};

void register_plugins(msa::Registry& registry) {
    registry.add_fusion(
        msa::PluginInfo{"tensor",
         "Tensor Fusion Network: outer product of [text; 1] and [image; 1] projections, then Linear-ReLU-Dropout.",
         {msa::ParamSpec::integer("dim", 32, "Width each modality is projected to before the outer product "
                                             "(the product is (dim + 1)^2 wide)")
              .range(1, 256),
          msa::ParamSpec::integer("hidden", 128, "Width of the Linear-ReLU layer after the product; 0 passes "
                                                 "the flattened product")
              .range(0, 65536),
          msa::ParamSpec::real("dropout", 0.1, "Dropout probability after the Linear-ReLU layer").range(0.0, 0.95)}}
            .with_needs({/*text=*/true, /*image=*/true}),
        [](const msa::Properties& props, const msa::FusionContext& context) {
            return std::make_shared<TensorFusion>(props, context);
        });
}

} // namespace

MSA_PLUGIN(register_plugins)

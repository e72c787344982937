// itc: image-text contrastive loss (CLIP-style symmetric InfoNCE over the batch). Each
// text should be closest to its own image among the batch's images, and the reverse; an
// auxiliary loss that aligns the two modalities. Logits and targets are not used.
//
//   t̂ = normalize(W_t · text)     î = normalize(W_i · image)      (linear, no bias, to `dim`)
//   S  = t̂ · îᵀ / temperature     [N, N]
//   loss = (CE(S, diag) + CE(Sᵀ, diag)) / 2       targets: sample k matches sample k
//
// With learn_temperature the scale 1/temperature is a trained parameter (kept as its log,
// as CLIP does), never above max(100, 1/temperature) (CLIP clamps its scale at 100). A
// batch of one has a single candidate per row, so its loss is 0.
//
// | parameter         | type  | default | meaning                                       |
// | dim               | int   | 128     | width of the shared space, in [1, 65536]      |
// | temperature       | float | 0.07    | softmax temperature, in [0.001, 100]           |
// | learn_temperature | bool  | false   | train the temperature with the model           |
#include <msa/loss.hpp>
#include <msa/plugin.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace {

class ImageTextContrastiveLoss final : public msa::Loss {
public:
    ImageTextContrastiveLoss(const msa::Properties& props, const msa::LossContext& context)
        : text_projection_(nullptr), image_projection_(nullptr) {
        if (context.text_dim <= 0 || context.image_dim <= 0)
            throw msa::Error("itc loss contrasts text with images, but was built without " +
                             std::string(context.text_dim <= 0 ? "text" : "image") + " features (text_dim = " +
                             std::to_string(context.text_dim) + ", image_dim = " + std::to_string(context.image_dim) +
                             ")");
        const std::int64_t dim = props.get_int("dim");
        text_projection_ = register_module(
            "text_projection", torch::nn::Linear(torch::nn::LinearOptions(context.text_dim, dim).bias(false)));
        image_projection_ = register_module(
            "image_projection", torch::nn::Linear(torch::nn::LinearOptions(context.image_dim, dim).bias(false)));
        const double temperature = props.get_real("temperature");
        max_log_scale_ = std::log(std::max(100.0, 1.0 / temperature));
        auto log_scale = torch::tensor(std::log(1.0 / temperature), torch::kFloat32);
        if (props.get_bool("learn_temperature"))
            log_scale_ = register_parameter("logit_scale", log_scale);
        else
            log_scale_ = register_buffer("logit_scale", log_scale);
    }

    at::Tensor forward(const msa::LossInput& input) override {
        TORCH_CHECK(input.text.defined() && input.image.defined(),
                    "itc loss needs the pooled text and image features of the batch; the host passed ",
                    input.text.defined() ? "no image features" : "no text features");
        TORCH_CHECK(input.text.dim() == 2 && input.image.dim() == 2 && input.text.size(0) == input.image.size(0) &&
                        input.text.size(1) == text_projection_->options.in_features() &&
                        input.image.size(1) == image_projection_->options.in_features(),
                    "itc loss: expected text [N, ", text_projection_->options.in_features(), "] and image [N, ",
                    image_projection_->options.in_features(), "], got ", input.text.sizes(), " and ",
                    input.image.sizes());
        namespace F = torch::nn::functional;
        const auto normalize = F::NormalizeFuncOptions().p(2).dim(1).eps(1e-12);
        const auto text = F::normalize(text_projection_(input.text), normalize);
        const auto image = F::normalize(image_projection_(input.image), normalize);
        const auto scale = log_scale_.clamp_max(max_log_scale_).exp();
        const auto similarity = scale * text.matmul(image.t());
        const auto diagonal = torch::arange(similarity.size(0), torch::TensorOptions(torch::kLong).device(similarity.device()));
        return (F::cross_entropy(similarity, diagonal) + F::cross_entropy(similarity.t(), diagonal)) / 2;
    }

private:
    torch::nn::Linear text_projection_;
    torch::nn::Linear image_projection_;
    at::Tensor log_scale_;
    double max_log_scale_ = 0.0;
};

void register_plugins(msa::Registry& registry) {
    registry.add_loss(
        msa::PluginInfo{"itc",
         "Image-text contrastive loss (CLIP-style symmetric InfoNCE over the batch) on projected pooled features.",
         {msa::ParamSpec::integer("dim", 128, "Width of the shared text-image space").range(1, 65536),
          msa::ParamSpec::real("temperature", 0.07, "Softmax temperature of the similarities").range(0.001, 100.0),
          msa::ParamSpec::boolean("learn_temperature", false, "Train the temperature (as a log-scale) with the model")}}
            .with_needs({/*text=*/true, /*image=*/true}),
        [](const msa::Properties& props, const msa::LossContext& context) {
            return std::make_shared<ImageTextContrastiveLoss>(props, context);
        });
}

} // namespace

MSA_PLUGIN(register_plugins)

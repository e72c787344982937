// text-only and image-only: the unimodal baselines of an ablation, one library. Each uses
// the pooled features of its modality alone (the other modality, when the study has it,
// is ignored) and, with hidden > 0, projects them as concat does: dropout(relu(W x + b)).
// Each needs its own encoder. Output width: hidden, or the features' width when hidden = 0.
//
// | parameter | type  | default | meaning                                              |
// | hidden    | int   | 256     | projection width; 0 passes the modality's features   |
// | dropout   | float | 0.1     | dropout after the projection                         |

#include <msa/fusion.hpp>
#include <msa/fusion_inputs.hpp>
#include <msa/plugin.hpp>

#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include <string>

namespace {


class UnimodalFusion final : public msa::Fusion {
public:
    UnimodalFusion(msa::Modality modality, const msa::Properties& props, const msa::FusionContext& context)
        : modality_(modality), name_(std::string(msa::to_string(modality)) + "-only"),
          input_dim_(modality == msa::Modality::text ? context.text_dim : context.image_dim),
          hidden_(props.get_int("hidden")) {
        const double dropout = props.get_real("dropout");
        msa::require_modality(name_, modality_, context);
        if (hidden_ > 0) {
            projection_ = register_module("projection", torch::nn::Linear(input_dim_, hidden_));
            dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
        }
    }

    std::int64_t output_dim() const override { return hidden_ > 0 ? hidden_ : input_dim_; }

    at::Tensor forward(const msa::Features& text, const msa::Features& image) override {
        const at::Tensor& x =
            msa::pooled_input(name_, modality_ == msa::Modality::text ? text : image, modality_, input_dim_);
        if (hidden_ == 0) return x;
        return dropout_(torch::relu(projection_(x)));
    }

private:
    msa::Modality modality_;
    std::string name_;
    std::int64_t input_dim_;
    std::int64_t hidden_;
    torch::nn::Linear projection_{nullptr};
    torch::nn::Dropout dropout_{nullptr};
};

void register_plugins(msa::Registry& registry) {
    for (const auto modality : {msa::Modality::text, msa::Modality::image}) {
        const std::string what = msa::to_string(modality);
        registry.add_fusion(
            msa::PluginInfo{what + "-only",
             "Unimodal baseline: the pooled " + what + " features alone, then an optional Linear-ReLU-Dropout "
                                                      "projection.",
             {msa::ParamSpec::integer("hidden", 256, "Projection width; 0 passes the " + what + " features through")
                  .range(0, 65536),
              msa::ParamSpec::real("dropout", 0.1, "Dropout probability after the projection").range(0.0, 0.95)}}
                .with_needs({/*text=*/modality == msa::Modality::text, /*image=*/modality == msa::Modality::image}),
            [modality](const msa::Properties& props, const msa::FusionContext& context) {
                return std::make_shared<UnimodalFusion>(modality, props, context);
            });
    }
}

} // namespace

MSA_PLUGIN(register_plugins)

// late: late fusion. A classifier per modality turns its features into class logits
// and the output is their average, so no classifier follows (outputs_logits()):
//   hidden = 0: l_m = W_m x_m + b_m
//   hidden > 0: l_m = W_m2 dropout(relu(W_m1 x_m + b_m1)) + b_m2
//   output = (l_text + l_image) / 2
// Needs both modalities. Output width: the number of classes.
//
// | parameter | type  | default | meaning                                                 |
// | hidden    | int   | 0       | width of each classifier's hidden layer; 0: plain Linear |
// | dropout   | float | 0.1     | dropout after the hidden layer (unused when hidden = 0) |

#include <msa/fusion.hpp>
#include <msa/fusion_inputs.hpp>
#include <msa/plugin.hpp>

#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace {


// One modality's classifier.
class UnimodalClassifierImpl : public torch::nn::Module {
public:
    UnimodalClassifierImpl(std::int64_t input_dim, std::int64_t hidden, double dropout, std::int64_t classes) {
        if (hidden > 0) {
            hidden_ = register_module("hidden", torch::nn::Linear(input_dim, hidden));
            dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
        }
        output_ = register_module("output", torch::nn::Linear(hidden > 0 ? hidden : input_dim, classes));
    }

    at::Tensor forward(const at::Tensor& x) {
        return output_(hidden_ ? dropout_(torch::relu(hidden_(x))) : x);
    }

private:
    torch::nn::Linear hidden_{nullptr}, output_{nullptr};
    torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(UnimodalClassifier);

class LateFusion final : public msa::Fusion {
public:
    LateFusion(const msa::Properties& props, const msa::FusionContext& context)
        : text_dim_(context.text_dim), image_dim_(context.image_dim), classes_(context.num_classes) {
        const std::int64_t hidden = props.get_int("hidden");
        const double dropout = props.get_real("dropout");
        msa::require_both_modalities("late", context);
        if (classes_ < 2)
            throw msa::Error("late fusion outputs class logits, so it needs at least 2 classes; the study gives " +
                             std::to_string(classes_) + " (check [dataset] labels)");
        text_ = register_module("text", UnimodalClassifier(text_dim_, hidden, dropout, classes_));
        image_ = register_module("image", UnimodalClassifier(image_dim_, hidden, dropout, classes_));
    }

    std::int64_t output_dim() const override { return classes_; }
    bool outputs_logits() const override { return true; }

    at::Tensor forward(const msa::Features& text, const msa::Features& image) override {
        const at::Tensor& x_text = msa::pooled_input("late", text, msa::Modality::text, text_dim_);
        const at::Tensor& x_image = msa::pooled_input("late", image, msa::Modality::image, image_dim_);
        msa::require_same_batch("late", x_text, x_image);
        return (text_(x_text) + image_(x_image)) / 2;
    }

private:
    std::int64_t text_dim_, image_dim_, classes_;
    UnimodalClassifier text_{nullptr}, image_{nullptr};
};

void register_plugins(msa::Registry& registry) {
    registry.add_fusion(
        msa::PluginInfo{"late",
         "Late fusion: one classifier per modality; the output is the average of their class logits.",
         {msa::ParamSpec::integer("hidden", 0, "Width of each modality classifier's ReLU hidden layer; 0: a "
                                               "single Linear layer")
              .range(0, 65536),
          msa::ParamSpec::real("dropout", 0.1, "Dropout probability after the hidden layer (unused when hidden = 0)")
              .range(0.0, 0.95)}}
            .with_needs({/*text=*/true, /*image=*/true}),
        [](const msa::Properties& props, const msa::FusionContext& context) {
            return std::make_shared<LateFusion>(props, context);
        });
}

} // namespace

MSA_PLUGIN(register_plugins)

// attention and attention-combine: learned modality weights (one library, one class).
// Each modality is projected and squashed, h_m = tanh(W_m x_m + b_m); a learned vector v
// scores it, s_m = v . h_m; a = sum_m softmax(s)_m h_m over the two modalities.
//   attention:         the output is a, then dropout. Output width: hidden.
//   attention-combine: the output is [a; h_text; h_image], then dropout, so the classifier
//                      sees the weighted sum and each modality on its own. Width: 3 * hidden.
// Both need both modalities.
//
// | parameter | type  | default | meaning                                                    |
// | hidden    | int   | 256     | width of the projections (attention-combine: output 3x it) |
// | dropout   | float | 0.1     | dropout on the output                                      |

#include <msa/fusion.hpp>
#include <msa/fusion_inputs.hpp>
#include <msa/plugin.hpp>

#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include <string>
#include <utility>
#include <vector>

namespace {


class AttentionFusion final : public msa::Fusion {
public:
    // `combine`: output [weighted sum; h_text; h_image] instead of the weighted sum alone.
    AttentionFusion(std::string name, const msa::Properties& props, const msa::FusionContext& context, bool combine)
        : name_(std::move(name)), text_dim_(context.text_dim), image_dim_(context.image_dim),
          hidden_(props.get_int("hidden")), combine_(combine) {
        const double dropout = props.get_real("dropout");
        msa::require_both_modalities(name_, context);
        text_ = register_module("text", torch::nn::Linear(text_dim_, hidden_));
        image_ = register_module("image", torch::nn::Linear(image_dim_, hidden_));
        // No bias: a constant added to both scores cancels in the softmax and would never train.
        score_ = register_module("score", torch::nn::Linear(torch::nn::LinearOptions(hidden_, 1).bias(false)));
        dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
    }

    std::int64_t output_dim() const override { return combine_ ? 3 * hidden_ : hidden_; }

    at::Tensor forward(const msa::Features& text, const msa::Features& image) override {
        const at::Tensor& x_text = msa::pooled_input(name_, text, msa::Modality::text, text_dim_);
        const at::Tensor& x_image = msa::pooled_input(name_, image, msa::Modality::image, image_dim_);
        msa::require_same_batch(name_, x_text, x_image);
        const at::Tensor h_text = torch::tanh(text_(x_text));
        const at::Tensor h_image = torch::tanh(image_(x_image));
        const at::Tensor stacked = torch::stack({h_text, h_image}, /*dim=*/1);            // [N, 2, hidden]
        const at::Tensor weights = torch::softmax(score_(stacked).squeeze(-1), /*dim=*/1); // [N, 2]
        const at::Tensor fused = (weights.unsqueeze(-1) * stacked).sum(/*dim=*/1);
        return dropout_(combine_ ? torch::cat({fused, h_text, h_image}, /*dim=*/1) : fused);
    }

private:
    std::string name_;
    std::int64_t text_dim_, image_dim_, hidden_;
    bool combine_;
    torch::nn::Linear text_{nullptr}, image_{nullptr}, score_{nullptr};
    torch::nn::Dropout dropout_{nullptr};
};

void register_plugins(msa::Registry& registry) {
    const std::vector<msa::ParamSpec> params{
        msa::ParamSpec::integer("hidden", 256, "Width each modality is projected to (tanh) before weighting")
            .range(1, 65536),
        msa::ParamSpec::real("dropout", 0.1, "Dropout probability on the output").range(0.0, 0.95)};
    const std::vector<std::pair<std::string, std::string>> kinds{
        {"attention",
         "Softmax-weighted sum of the tanh-projected text and image features, weights scored by a learned vector."},
        {"attention-combine",
         "The attention fusion's weighted sum concatenated with both tanh-projected modalities (3 * hidden wide)."}};
    for (const auto& [name, summary] : kinds) {
        const bool combine = name == "attention-combine";
        registry.add_fusion(msa::PluginInfo{name, summary, params}.with_needs({/*text=*/true, /*image=*/true}),
                            [name = name, combine](const msa::Properties& props, const msa::FusionContext& context) {
                                return std::make_shared<AttentionFusion>(name, props, context, combine);
                            });
    }
}

} // namespace

MSA_PLUGIN(register_plugins)

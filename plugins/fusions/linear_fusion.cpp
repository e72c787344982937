// linear: the linear probe. The pooled text and image features, concatenated and passed on
// unchanged, so that the model is the classifier alone: a multinomial logistic regression
// on the (standardized, [train] standardize) features. Having no parameters of its own, it
// is fitted by L-BFGS with the L2 strength chosen on validation ([train] solver = "auto",
// l2), the baseline every fusion with parameters has to beat.
#include <msa/fusion.hpp>
#include <msa/fusion_inputs.hpp>
#include <msa/plugin.hpp>

#include <ATen/ATen.h>

namespace {

class LinearFusion final : public msa::Fusion {
public:
    explicit LinearFusion(const msa::FusionContext& context) : context_(context) {
        msa::require_both_modalities("linear", context);
    }

    std::int64_t output_dim() const override { return context_.text_dim + context_.image_dim; }

    at::Tensor forward(const msa::Features& text, const msa::Features& image) override {
        return at::cat({msa::pooled_input("linear", text, msa::Modality::text, context_.text_dim),
                           msa::pooled_input("linear", image, msa::Modality::image, context_.image_dim)},
                          1);
    }

private:
    msa::FusionContext context_;
};

void register_plugins(msa::Registry& registry) {
    registry.add_fusion(
        msa::PluginInfo{"linear",
                        "Linear probe: the pooled text and image features concatenated, no parameters of its own; "
                        "the classifier on them is fitted as a logistic regression by L-BFGS ([train] solver, l2)",
                        {}}
            .with_needs({/*text=*/true, /*image=*/true}),
        [](const msa::Properties&, const msa::FusionContext& context) { return std::make_shared<LinearFusion>(context); });
}

} // namespace

MSA_PLUGIN(register_plugins)

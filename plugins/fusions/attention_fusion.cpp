// attention: learned modality weights. Each modality is projected and squashed,
// h_m = tanh(W_m x_m + b_m); a learned vector v scores it, s_m = v . h_m; the output is
// the softmax-weighted sum over the two modalities, sum_m softmax(s)_m h_m, then dropout.
// Needs both modalities. Output width: hidden.
//
// | parameter | type  | default | meaning                                         |
// | hidden    | int   | 256     | width of the projections and of the output      |
// | dropout   | float | 0.1     | dropout on the output                           |
#include "attention_fusion.hpp"

#include <msa/plugin.hpp>

namespace {

void register_plugins(msa::Registry& registry) {
    registry.add_fusion(
        msa::PluginInfo{"attention",
         "Softmax-weighted sum of the tanh-projected text and image features, weights scored by a learned vector.",
         msa::fusions::attention_params()}
            .with_needs({/*text=*/true, /*image=*/true}),
        [](const msa::Properties& props, const msa::FusionContext& context) {
            return std::make_shared<msa::fusions::AttentionFusion>("attention", props, context, /*combine=*/false);
        });
}

} // namespace

MSA_PLUGIN(register_plugins)

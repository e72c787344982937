// attention-combine: attention-weighted plus concatenated. As `attention`,
// h_m = tanh(W_m x_m + b_m), s_m = v . h_m, a = sum_m softmax(s)_m h_m; the output is
// [a; h_text; h_image], then dropout, so the classifier sees the weighted sum and each
// modality on its own. Needs both modalities. Output width: 3 * hidden.
//
// | parameter | type  | default | meaning                                         |
// | hidden    | int   | 256     | width of the projections (output is 3 * hidden) |
// | dropout   | float | 0.1     | dropout on the output                           |
#include "attention_fusion.hpp"

#include <msa/plugin.hpp>

namespace {

void register_plugins(msa::Registry& registry) {
    registry.add_fusion(
        msa::PluginInfo{"attention-combine",
         "The attention fusion's weighted sum concatenated with both tanh-projected modalities (3 * hidden wide).",
         msa::fusions::attention_params()}
            .with_needs({/*text=*/true, /*image=*/true}),
        [](const msa::Properties& props, const msa::FusionContext& context) {
            return std::make_shared<msa::fusions::AttentionFusion>("attention-combine", props, context,
                                                                   /*combine=*/true);
        });
}

} // namespace

MSA_PLUGIN(register_plugins)

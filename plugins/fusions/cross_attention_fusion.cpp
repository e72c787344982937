// cross-attention: token-level fusion. Text tokens attend to image patches and image
// patches attend to text tokens, each through its own multi-head attention, with a
// residual connection; each attended sequence is mean-pooled over its real tokens:
//   t = W_t T_text + b_t [N, T, hidden],  v = W_i T_image + b_i [N, P, hidden]
//   t' = t + MHA_text(query t, keys/values v, image padding masked)
//   v' = v + MHA_image(query v, keys/values t, text padding masked)
//   output = dropout([masked_mean(t', text mask); masked_mean(v', image mask)])
// A mask of 1 marks a real token; an undefined mask means every token is real (image
// encoders give none). Needs both modalities with their token sequences: set
// `tokens = true` on both encoders. Output width: 2 * hidden.
//
// | parameter       | type  | default | meaning                                                    |
// | heads           | int   | 4       | attention heads; must divide hidden                        |
// | hidden          | int   | 256     | width tokens are projected to; output is 2 * hidden        |
// | dropout         | float | 0.1     | dropout on the attention weights and on the output         |
// | text_token_dim  | int   | 0       | width of the text tokens; 0: the text encoder's width      |
// | image_token_dim | int   | 0       | width of the image patches; 0: the image encoder's width   |

#include <msa/fusion.hpp>
#include <msa/fusion_inputs.hpp>
#include <msa/plugin.hpp>

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include <utility>

namespace {


class CrossAttentionFusion final : public msa::Fusion {
public:
    CrossAttentionFusion(const msa::Properties& props, const msa::FusionContext& context)
        : heads_(props.get_int("heads")), hidden_(props.get_int("hidden")) {
        const double dropout = props.get_real("dropout");
        text_dim_ = token_dim(props, "text_token_dim", context.text_dim);
        image_dim_ = token_dim(props, "image_token_dim", context.image_dim);
        msa::require_both_modalities("cross-attention", context);
        if (hidden_ % heads_ != 0) {
            const std::string key = props.set_by_user("heads") || !props.set_by_user("hidden") ? "heads" : "hidden";
            const auto below = hidden_ / heads_ * heads_;
            throw msa::ConfigError(props.where(key),
                                   "cross-attention: hidden (" + std::to_string(hidden_) +
                                       ") must be a multiple of heads (" + std::to_string(heads_) +
                                       "), since each head gets hidden / heads features; e.g. hidden = " +
                                       (below > 0 ? std::to_string(below) + " or " : std::string()) +
                                       std::to_string(below + heads_));
        }
        text_ = register_module("text", torch::nn::Linear(text_dim_, hidden_));
        image_ = register_module("image", torch::nn::Linear(image_dim_, hidden_));
        const auto attention = torch::nn::MultiheadAttentionOptions(hidden_, heads_).dropout(dropout);
        text_to_image_ = register_module("text_to_image", torch::nn::MultiheadAttention(attention));
        image_to_text_ = register_module("image_to_text", torch::nn::MultiheadAttention(attention));
        dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
    }

    std::int64_t output_dim() const override { return 2 * hidden_; }

    at::Tensor forward(const msa::Features& text, const msa::Features& image) override {
        auto [text_tokens, text_real] = tokens_of(text, msa::Modality::text, text_dim_, "text_token_dim");
        auto [image_tokens, image_real] = tokens_of(image, msa::Modality::image, image_dim_, "image_token_dim");
        msa::require_same_batch("cross-attention", text_tokens, image_tokens);

        // MultiheadAttention wants [sequence, batch, features].
        const at::Tensor t = text_(text_tokens).transpose(0, 1);
        const at::Tensor v = image_(image_tokens).transpose(0, 1);
        const at::Tensor t_attended =
            t + std::get<0>(text_to_image_(t, v, v, image_real.logical_not(), /*need_weights=*/false));
        const at::Tensor v_attended =
            v + std::get<0>(image_to_text_(v, t, t, text_real.logical_not(), /*need_weights=*/false));
        return dropout_(torch::cat({masked_mean(t_attended.transpose(0, 1), text_real),
                                    masked_mean(v_attended.transpose(0, 1), image_real)},
                                   /*dim=*/1));
    }

private:
    static std::int64_t token_dim(const msa::Properties& props, const std::string& key, std::int64_t pooled_dim) {
        const std::int64_t dim = props.get_int(key);
        return dim > 0 ? dim : pooled_dim;
    }

    // [N, T, D] tokens and their [N, T] bool mask (true: a real token).
    std::pair<at::Tensor, at::Tensor> tokens_of(const msa::Features& features, msa::Modality modality,
                                                std::int64_t dim, const std::string& dim_key) const {
        const std::string name = msa::to_string(modality);
        const at::Tensor& tokens = features.tokens;
        if (!tokens.defined())
            throw msa::Error("cross-attention fusion needs the token sequences of both modalities, but the " + name +
                             " features came without tokens" +
                             (features.pooled.defined() ? std::string() : " (and without pooled features)") +
                             "; set `tokens = true` on both encoders, [encoders.text] and [encoders.image]");
        if (tokens.dim() != 3)
            throw msa::Error("cross-attention fusion received " + name + " tokens of shape " + msa::shape_of(tokens) +
                             "; expected [N, T, " + std::to_string(dim) + "]");
        if (tokens.size(2) != dim)
            throw msa::Error("cross-attention fusion received " + name + " tokens " + std::to_string(tokens.size(2)) +
                             " wide but was built for " + std::to_string(dim) + " (by default the width of the " +
                             name + " encoder's pooled features, which can differ from its tokens', e.g. CLIP's "
                             "projected embedding); set `" + dim_key + " = " + std::to_string(tokens.size(2)) +
                             "` in [fusion]");
        at::Tensor real;
        if (!features.mask.defined()) {
            real = torch::ones({tokens.size(0), tokens.size(1)}, tokens.options().dtype(torch::kBool));
        } else {
            if (features.mask.sizes() != tokens.sizes().slice(0, 2))
                throw msa::Error("cross-attention fusion received a " + name + " mask of shape " +
                                 msa::shape_of(features.mask) + " for tokens of shape " + msa::shape_of(tokens) +
                                 "; expected [N, T]");
            real = features.mask.to(torch::kBool);
            // A sample without a single real token would turn the attention into NaN.
            if (real.any(/*dim=*/1).logical_not().any().item<bool>())
                throw msa::Error("cross-attention fusion received a " + name +
                                 " sample whose mask marks no real token; every sample needs at least one");
        }
        return {tokens, real};
    }

    static at::Tensor masked_mean(const at::Tensor& sequence, const at::Tensor& real) {
        const at::Tensor weights = real.to(sequence.scalar_type()).unsqueeze(-1); // [N, T, 1]
        return (sequence * weights).sum(/*dim=*/1) / weights.sum(/*dim=*/1).clamp_min(1);
    }

    std::int64_t heads_, hidden_, text_dim_ = 0, image_dim_ = 0;
    torch::nn::Linear text_{nullptr}, image_{nullptr};
    torch::nn::MultiheadAttention text_to_image_{nullptr}, image_to_text_{nullptr};
    torch::nn::Dropout dropout_{nullptr};
};

void register_plugins(msa::Registry& registry) {
    registry.add_fusion(
        msa::PluginInfo{"cross-attention",
         "Token-level fusion: text tokens attend to image patches and back (multi-head, residual), each side "
         "mean-pooled over its real tokens and concatenated. Needs `tokens = true` on both encoders.",
         {msa::ParamSpec::integer("heads", 4, "Attention heads; must divide hidden").range(1, 64),
          msa::ParamSpec::integer("hidden", 256, "Width the tokens of both modalities are projected to; the output "
                                                 "is 2 * hidden")
              .range(1, 65536),
          msa::ParamSpec::real("dropout", 0.1, "Dropout probability on the attention weights and on the output")
              .range(0.0, 0.95),
          msa::ParamSpec::integer("text_token_dim", 0, "Width of the text tokens when it differs from the text "
                                                       "encoder's pooled width; 0: the same")
              .range(0, 65536),
          msa::ParamSpec::integer("image_token_dim", 0, "Width of the image patches when it differs from the image "
                                                        "encoder's pooled width (CLIP's projected embedding); 0: "
                                                        "the same")
              .range(0, 65536)}}
            .with_needs({/*text=*/true, /*image=*/true, /*tokens=*/true}),
        [](const msa::Properties& props, const msa::FusionContext& context) {
            return std::make_shared<CrossAttentionFusion>(props, context);
        });
}

} // namespace

MSA_PLUGIN(register_plugins)

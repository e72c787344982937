// hf-vit: image encoder from a Hugging Face ViT model folder (google/vit-*, DINO, ...):
// the checkpoint's own preprocessing (preprocessor_config.json), then ViTModel.
//
// | parameter | type   | default | meaning                                                  |
// | pooling   | string | cls     | cls: final [CLS] state; mean: mean of all tokens; pooler: the checkpoint's pooler |
// | (common)  |        |         | checkpoint, dtype, batch_size, threads, layer, tokens, trainable_layers, cached_prefix |
#include <msa/models/encoder_support.hpp>
#include <msa/models/vit.hpp>
#include <msa/plugin.hpp>

#include <torch/torch.h>

namespace {

using namespace msa::models;

const char* const hint = "e.g. a google/vit-base-patch16-224-in21k snapshot";

std::shared_ptr<msa::Encoder> make_encoder(const msa::Properties& props) {
    EncoderSettings settings = EncoderSettings::read(props, "hf-vit", hint);
    // The lambdas below share the module; a ModuleHolder captured by value would be const.
    const std::shared_ptr<ViTModelImpl> model = vit_from_checkpoint(settings.checkpoint).ptr();
    model->to(settings.dtype);
    const std::string pooling = props.get_string("pooling");
    if (pooling == "pooler" && !model->has_pooler())
        throw msa::ConfigError(props.where("pooling"), "hf-vit: pooling = \"pooler\" but " +
                                                           settings.checkpoint.folder.string() +
                                                           " has no pooler weights; use cls or mean");
    if (pooling == "pooler" && settings.layer != -1)
        throw msa::ConfigError(props.where("pooling"), "hf-vit: the pooler works on the last layer only (layer = -1)");
    const auto processor = image_processor_for(settings.checkpoint, "ViTImageProcessor", model->config().image_height,
                                                 model->config().image_width);
    const bool tokens = settings.tokens;
    const auto to_features = [pooling, tokens](const at::Tensor& hidden, at::Tensor pooled) {
        return msa::Features{pooled.defined() ? pooled : pool_tokens(hidden, {}, pooling), tokens ? hidden : at::Tensor(),
                             {}};
    };

    StackEncoderSpec spec;
    spec.modality = msa::Modality::image;
    spec.dim = pooling == "pooler" ? model->config().pooler_output_size : model->config().hidden_size;
    spec.extra_cache_key = "pooling=" + pooling + ";" + image_processor_key(processor);
    spec.embed = [model, processor, threads = settings.threads, dtype = settings.dtype](const msa::EncoderBatch& batch) {
        return std::make_pair(model->embed(load_image_batch(batch, processor, threads).to(dtype)), at::Tensor());
    };
    spec.stack.num_layers = model->num_layers();
    spec.stack.takes_mask = false;
    spec.stack.run_layers = [model](const at::Tensor& h, const at::Tensor& m, std::int64_t b, std::int64_t e) {
        return model->run_layers(h, m, b, e);
    };
    // The last layer: final layernorm, then pooling (transformers' last_hidden_state).
    spec.stack.finish = [model, pooling, to_features](const at::Tensor& h, const at::Tensor&) {
        const at::Tensor hidden = model->final_norm(h);
        return to_features(hidden, pooling == "pooler" ? model->pool(hidden) : at::Tensor());
    };
    spec.stack.top_modules = [model](std::int64_t k) {
        std::vector<std::shared_ptr<torch::nn::Module>> modules;
        for (auto i = model->num_layers() - k; i < model->num_layers(); ++i) modules.push_back(model->layer(i));
        for (auto& m : model->final_step_modules()) modules.push_back(m);
        return modules;
    };
    // An inner layer: transformers' hidden_states[layer], without the final norm.
    spec.inner = [to_features](const at::Tensor& h, const at::Tensor&) { return to_features(h, {}); };
    return std::make_shared<StackEncoder>(std::move(settings), std::move(spec));
}

void register_plugins(msa::Registry& registry) {
    auto params = checkpoint_encoder_params(hint);
    params.insert(params.begin() + 1,
                  msa::ParamSpec::choice("pooling", "cls", {"cls", "mean", "pooler"},
                                         "cls: the final [CLS] state; mean: mean of all tokens; pooler: the "
                                         "checkpoint's tanh pooler (last layer only)"));
    registry.add_encoder({"hf-vit", "Image encoder: a Hugging Face ViT checkpoint (ViTModel) in LibTorch.", params},
                         make_encoder);
}

} // namespace

MSA_PLUGIN(register_plugins)

// clip-image: CLIP's vision tower from a Hugging Face CLIP model folder (CLIPModel or
// CLIPVisionModelWithProjection): CLIP preprocessing, then the tower; pooled features are
// the projected image embeddings (the space CLIP shares with text) or the tower's pooler.
//
// | parameter | type   | default   | meaning                                                 |
// | embedding | string | projected | projected: visual_projection(pooler); pooled: post_layernorm(CLS) |
// | (common)  |        |           | checkpoint, dtype, batch_size, threads, layer, tokens, trainable_layers, cached_prefix |
#include <msa/models/clip.hpp>
#include <msa/models/encoder_support.hpp>
#include <msa/plugin.hpp>

#include <torch/torch.h>

namespace {

using namespace msa::models;

const char* const hint = "e.g. an openai/clip-vit-base-patch32 snapshot";

std::shared_ptr<msa::Encoder> make_encoder(const msa::Properties& props) {
    EncoderSettings settings = EncoderSettings::read(props, "clip-image", hint);
    const std::shared_ptr<ClipVisionModelImpl> model = load_clip_vision_model(settings.checkpoint).ptr();
    model->to(settings.dtype);
    const bool projected = props.get_string("embedding") == "projected";
    const auto& config = model->config();
    if (projected && !config.with_projection)
        throw msa::ConfigError(props.where("embedding"),
                               "clip-image: embedding = \"projected\" but " + settings.checkpoint.folder.string() +
                                   " has no visual_projection (a bare CLIPVisionModel); use \"pooled\"");
    const auto processor = image_processor_for(settings.checkpoint, "CLIPImageProcessor", config.image_size,
                                                 config.image_size);
    const bool tokens = settings.tokens;

    StackEncoderSpec spec;
    spec.modality = msa::Modality::image;
    const bool last = settings.resolve_layer(model->num_layers()) == model->num_layers();
    spec.dim = projected && last ? config.projection_dim : config.hidden_size;
    spec.extra_cache_key = std::string("embedding=") + (projected ? "projected" : "pooled") + ";" +
                           image_processor_key(processor);
    spec.embed = [model, processor, threads = settings.threads, dtype = settings.dtype](const msa::EncoderBatch& batch) {
        return std::make_pair(model->embed(load_image_batch(batch, processor, threads).to(dtype)), at::Tensor());
    };
    spec.stack.num_layers = model->num_layers();
    spec.stack.takes_mask = false;
    spec.stack.run_layers = [model](const at::Tensor& h, const at::Tensor& m, std::int64_t b, std::int64_t e) {
        return model->run_layers(h, m, b, e);
    };
    spec.stack.finish = [model, projected, tokens](const at::Tensor& h, const at::Tensor&) {
        ClipVisionOutput out = model->head(h);
        return msa::Features{projected ? out.projected : out.pooled, tokens ? out.last_hidden_state : at::Tensor(), {}};
    };
    spec.stack.top_modules = [model](std::int64_t k) {
        std::vector<std::shared_ptr<torch::nn::Module>> modules;
        for (auto i = model->num_layers() - k; i < model->num_layers(); ++i) modules.push_back(model->layer(i).ptr());
        for (auto& m : model->head_modules()) modules.push_back(m);
        return modules;
    };
    // An inner layer: its CLS state, as transformers' hidden_states[layer][:, 0].
    spec.inner = [tokens](const at::Tensor& h, const at::Tensor&) {
        return msa::Features{h.select(1, 0), tokens ? h : at::Tensor(), {}};
    };
    return std::make_shared<StackEncoder>(std::move(settings), std::move(spec));
}

void register_plugins(msa::Registry& registry) {
    auto params = checkpoint_encoder_params(hint);
    params.insert(params.begin() + 1,
                  msa::ParamSpec::choice("embedding", "projected", {"projected", "pooled"},
                                         "projected: CLIP's image embedding (visual_projection, the space shared "
                                         "with text); pooled: post_layernorm of the CLS state"));
    registry.add_encoder(
        msa::PluginInfo{"clip-image", "Image encoder: CLIP's vision tower from a Hugging Face CLIP checkpoint.", params}
            .with_joint_space("clip"),
        make_encoder);
}

} // namespace

MSA_PLUGIN(register_plugins)

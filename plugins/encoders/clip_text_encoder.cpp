// clip-text: CLIP's text tower from a Hugging Face CLIP model folder (CLIPModel or
// CLIPTextModelWithProjection): our CLIP BPE tokenizer, then the tower; pooled features are
// the projected text embeddings (the space CLIP shares with images) or the tower's pooler.
//
// | parameter  | type   | default   | meaning                                                |
// | max_length | int    | 0         | ids per text, start and end tokens included; longer texts are truncated; 0: the checkpoint's positions (77 in OpenAI's models) |
// | embedding  | string | projected | projected: text_projection(pooler); pooled: final_layer_norm at the end token |
// | (common)   |        |           | checkpoint, dtype, batch_size, threads, layer, tokens, trainable_layers, cached_prefix |
#include <msa/models/clip.hpp>
#include <msa/models/encoder_support.hpp>
#include <msa/models/tokenizer.hpp>
#include <msa/plugin.hpp>

#include <torch/torch.h>

namespace {

using namespace msa::models;

const char* const hint = "e.g. an openai/clip-vit-base-patch32 snapshot";

std::shared_ptr<msa::Encoder> make_encoder(const msa::Properties& props) {
    EncoderSettings settings = EncoderSettings::read(props, "clip-text", hint);
    const std::shared_ptr<ClipTextModelImpl> model = load_clip_text_model(settings.checkpoint).ptr();
    model->to(settings.dtype);
    std::shared_ptr<Tokenizer> tokenizer;
    try {
        tokenizer = load_tokenizer(settings.checkpoint.folder, "clip-bpe");
    } catch (const CheckpointError& e) {
        throw msa::ConfigError(props.where("checkpoint"), std::string("clip-text: ") + e.what());
    }
    const auto& config = model->config();
    const std::int64_t asked = props.get_int("max_length");
    const std::int64_t max_length = asked == 0 ? config.max_position_embeddings : asked;
    if (max_length < 2 || max_length > config.max_position_embeddings)
        throw msa::ConfigError(props.where("max_length"),
                               "clip-text: max_length = " + std::to_string(asked) + " but the checkpoint has " +
                                   std::to_string(config.max_position_embeddings) + " positions; accepted: 0 (all " +
                                   "of them) or [2, " + std::to_string(config.max_position_embeddings) + "]");
    const bool projected = props.get_string("embedding") == "projected";
    if (projected && !config.with_projection)
        throw msa::ConfigError(props.where("embedding"),
                               "clip-text: embedding = \"projected\" but " + settings.checkpoint.folder.string() +
                                   " has no text_projection (a bare CLIPTextModel); use \"pooled\"");
    const bool tokens = settings.tokens;

    StackEncoderSpec spec;
    spec.modality = msa::Modality::text;
    const bool last = settings.resolve_layer(model->num_layers()) == model->num_layers();
    spec.dim = projected && last ? config.projection_dim : config.hidden_size;
    spec.extra_cache_key = "max_length=" + std::to_string(max_length) + ";embedding=" +
                           (projected ? "projected" : "pooled") + ";" + tokenizer->cache_key();
    spec.embed = [model, tokenizer, max_length](const msa::EncoderBatch& batch) {
        std::vector<std::string> texts;
        for (const auto* sample : batch.samples) texts.push_back(sample->text);
        const TokenBatch tokens = tokenize_batch(*tokenizer, texts, max_length);
        return std::make_pair(model->embed(tokens.ids), tokens.mask);
    };
    spec.stack.num_layers = model->num_layers();
    spec.stack.run_layers = [model](const at::Tensor& h, const at::Tensor& m, std::int64_t b, std::int64_t e) {
        return model->run_layers(h, m, b, e);
    };
    // CLIP pools at the end token. Our tokenizer ends every text with it (truncation keeps
    // it) and never emits it inside, so it is the last real position: the mask finds it,
    // also for prefix features read back from the store, which carry no ids.
    spec.stack.finish = [model, projected, tokens](const at::Tensor& h, const at::Tensor& mask) {
        const at::Tensor positions = mask.sum(1).to(at::kLong) - 1;
        ClipTextOutput out = model->head(h, positions);
        return msa::Features{projected ? out.projected : out.pooled, tokens ? out.last_hidden_state : at::Tensor(),
                             tokens ? mask : at::Tensor()};
    };
    spec.stack.top_modules = [model](std::int64_t k) {
        std::vector<std::shared_ptr<torch::nn::Module>> modules;
        for (auto i = model->num_layers() - k; i < model->num_layers(); ++i) modules.push_back(model->layer(i).ptr());
        for (auto& m : model->head_modules()) modules.push_back(m);
        return modules;
    };
    // An inner layer: its state at the end token.
    spec.inner = [tokens](const at::Tensor& h, const at::Tensor& mask) {
        const at::Tensor positions = mask.sum(1).to(at::kLong) - 1;
        const at::Tensor pooled = h.index({at::arange(h.size(0)), positions});
        return msa::Features{pooled, tokens ? h : at::Tensor(), tokens ? mask : at::Tensor()};
    };
    return std::make_shared<StackEncoder>(std::move(settings), std::move(spec));
}

void register_plugins(msa::Registry& registry) {
    auto params = checkpoint_encoder_params(hint);
    params.insert(params.begin() + 1,
                  {msa::ParamSpec::integer("max_length", 0,
                                           "Ids per text, start and end tokens included; longer texts are truncated; "
                                           "0: as many as the checkpoint has positions (77 in OpenAI's models)")
                       .at_least(0),
                   msa::ParamSpec::choice("embedding", "projected", {"projected", "pooled"},
                                          "projected: CLIP's text embedding (text_projection, the space shared with "
                                          "images); pooled: final_layer_norm at the end token")});
    registry.add_encoder(
        msa::PluginInfo{"clip-text", "Text encoder: CLIP's text tower from a Hugging Face CLIP checkpoint.", params}
            .with_joint_space("clip"),
        make_encoder);
}

} // namespace

MSA_PLUGIN(register_plugins)

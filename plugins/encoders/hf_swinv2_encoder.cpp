// hf-swinv2: image encoder from a Hugging Face Swin Transformer V2 model folder
// (microsoft/swinv2-*): the checkpoint's preprocessing, then Swinv2Model; its layers are
// the stages. Pooled features are the mean over the final tokens (transformers' pooler_output).
//
// | parameter | type | default | meaning                                                       |
// | (common)  |      |         | checkpoint, dtype, batch_size, threads, layer, tokens, trainable_layers, cached_prefix |
#include <msa/models/encoder_support.hpp>
#include <msa/models/swinv2.hpp>
#include <msa/models/transformer_blocks.hpp>
#include <msa/plugin.hpp>

#include <torch/torch.h>

namespace {

using namespace msa::models;

const char* const hint = "e.g. a microsoft/swinv2-tiny-patch4-window8-256 snapshot";

std::shared_ptr<Swinv2ModelImpl> load_model(const Checkpoint& checkpoint) {
    const std::string source = (checkpoint.folder / "config.json").string();
    auto model = std::make_shared<Swinv2ModelImpl>(Swinv2Config::from_json(ModelConfig(checkpoint.config, source)));
    // Swinv2ForImageClassification checkpoints prefix the names and add a classifier.
    LoadOptions options;
    options.prefix = find_name_prefix(checkpoint.weights, "embeddings.patch_embeddings.projection.weight",
                                      checkpoint.folder.string(), "Swin V2");
    if (!options.prefix.empty()) options.may_ignore = {"classifier."};
    load_state_dict(*model, checkpoint.weights, checkpoint.folder.string(), options);
    model->eval();
    return model;
}

std::shared_ptr<msa::Encoder> make_encoder(const msa::Properties& props) {
    EncoderSettings settings = EncoderSettings::read(props, "hf-swinv2", hint);
    const auto model = load_model(settings.checkpoint);
    model->to(settings.dtype);
    const auto& config = model->config();
    auto processor = image_processor_for(settings.checkpoint, "ViTImageProcessor", config.image_height, config.image_width);
    if (!std::filesystem::exists(settings.checkpoint.folder / "preprocessor_config.json")) {
        // Swin V2 was trained with ImageNet's statistics (transformers' IMAGENET_DEFAULT_*).
        processor.image_mean = {0.485f, 0.456f, 0.406f};
        processor.image_std = {0.229f, 0.224f, 0.225f};
    }
    const bool tokens = settings.tokens;
    const auto to_features = [tokens](const at::Tensor& hidden) {
        return msa::Features{Swinv2ModelImpl::pool(hidden), tokens ? hidden : at::Tensor(), {}};
    };

    StackEncoderSpec spec;
    spec.modality = msa::Modality::image;
    const std::int64_t layer = settings.resolve_layer(model->num_layers());
    // hidden_states[i] has stage i's width (after the previous stage's patch merging);
    // the last stage keeps its own.
    spec.dim = config.stage_dim(std::min(layer, model->num_layers() - 1));
    spec.extra_cache_key = image_processor_key(processor);
    spec.embed = [model, processor, threads = settings.threads, dtype = settings.dtype](const msa::EncoderBatch& batch) {
        return std::make_pair(model->embed(load_image_batch(batch, processor, threads).to(dtype)), at::Tensor());
    };
    spec.stack.num_layers = model->num_layers();
    spec.stack.takes_mask = false;
    spec.stack.run_layers = [model](const at::Tensor& h, const at::Tensor& m, std::int64_t b, std::int64_t e) {
        return model->run_layers(h, m, b, e);
    };
    spec.stack.finish = [model, to_features](const at::Tensor& h, const at::Tensor&) {
        return to_features(model->final_norm(h));
    };
    spec.stack.top_modules = [model](std::int64_t k) {
        std::vector<std::shared_ptr<torch::nn::Module>> modules;
        for (auto i = model->num_layers() - k; i < model->num_layers(); ++i) modules.push_back(model->layer(i));
        modules.push_back(model->layernorm().ptr());
        return modules;
    };
    spec.inner = [to_features](const at::Tensor& h, const at::Tensor&) { return to_features(h); };
    return std::make_shared<StackEncoder>(std::move(settings), std::move(spec));
}

void register_plugins(msa::Registry& registry) {
    registry.add_encoder({"hf-swinv2", "Image encoder: a Hugging Face Swin Transformer V2 checkpoint in LibTorch.",
                          checkpoint_encoder_params(hint)},
                         make_encoder);
}

} // namespace

MSA_PLUGIN(register_plugins)

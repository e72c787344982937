// Shared parts of the checkpoint encoder plugins: parameters, checkpoint folder, dtype,
// threads, pooling, parallel image loading, and the generic top-k fine-tuning.
#include <msa/models/encoder_support.hpp>

#include <msa/models/autocast.hpp>
#include <msa/models/cpu_features.hpp>

#include <msa/media/image.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

namespace msa::models {

std::vector<ParamSpec> checkpoint_encoder_params(const std::string& checkpoint_hint) {
    return {
        // A model folder: a study whose trial names an absent one skips that trial with the reason.
        ParamSpec::path("checkpoint", "", "Hugging Face model folder (config.json + weights); " + checkpoint_hint)
            .required()
            .model_folder(),
        ParamSpec::choice("dtype", "auto", {"auto", "float32", "bfloat16"},
                          "Compute type; auto = bfloat16 where the CPU has native BF16 (AVX512_BF16 or AMX), else "
                          "float32 (bfloat16 elsewhere is emulated, tens of times slower); an encoder that fine-tunes "
                          "keeps float32 weights, and under auto its frozen bottom computes the cached prefix in "
                          "bfloat16 autocast where that is native; features are stored as float32"),
        ParamSpec::integer("batch_size", 32, "Samples per forward pass").range(1, 4096),
        ParamSpec::integer("threads", 0, "Intra-op threads for LibTorch and image decoding while this encoder encodes; 0 = the "
                           "host's (all usable cores; a worker's share under msa run)")
            .range(0, 1024),
        ParamSpec::integer("layer", -1,
                           "Hidden layer whose output is pooled: -1 = last (with the final norm), 0 = embeddings, "
                           "i = after layer i")
            .at_least(-1),
        ParamSpec::boolean("tokens", false,
                           "Also return the token or patch sequence [N, T, D] with its mask (token-level fusions "
                           "need it; it takes T times the store space)"),
        ParamSpec::integer("trainable_layers", 0, "Fine-tune the top k layers (0 = frozen encoder)").at_least(0),
        ParamSpec::boolean("cached_prefix", false,
                           "Keep the hidden states below the trainable layers in the feature store, so fine-tuning "
                           "never re-runs the frozen bottom (no effect with trainable_layers = 0)"),
    };
}

EncoderSettings EncoderSettings::read(const Properties& props, const std::string& plugin,
                                      const std::string& checkpoint_hint) {
    EncoderSettings s;
    s.plugin = plugin;
    const std::string folder = props.get_string("checkpoint");
    const std::string where = props.where("checkpoint");
    if (!std::filesystem::is_directory(folder))
        throw ConfigError(where, plugin + ": checkpoint folder '" + folder + "' does not exist. Point `checkpoint` at " +
                                     "a Hugging Face model folder you already have (models are never downloaded at " +
                                     "run time); " + checkpoint_hint);
    try {
        s.checkpoint = load_checkpoint(folder);
    } catch (const CheckpointError& e) {
        throw ConfigError(where, plugin + ": " + e.what());
    }
    s.batch_size = props.get_int("batch_size");
    s.threads = props.get_int("threads");
    s.layer = props.get_int("layer");
    s.where_layer = props.where("layer");
    s.tokens = props.get_bool("tokens");
    s.trainable_layers = props.get_int("trainable_layers");
    s.where_trainable_layers = props.where("trainable_layers");
    s.cached_prefix = props.get_bool("cached_prefix");
    // "auto" picks float32 weights for an encoder that fine-tunes: AdamW's small updates
    // vanish in bfloat16 weights. The frozen bottom below them still computes in bfloat16
    // where that is fast (autocast: float32 weights, bfloat16 matmuls), as a frozen
    // encoder would. Asked for explicitly, bfloat16 is honoured.
    const std::string asked = props.get_string("dtype");
    const std::string resolved = resolve_dtype(asked, plugin);
    const bool auto_fine_tunes = asked == "auto" && s.trainable_layers > 0;
    s.dtype = resolved == "bfloat16" && !auto_fine_tunes ? at::kBFloat16 : at::kFloat;
    s.prefix_autocast = auto_fine_tunes && resolved == "bfloat16";
    // cached_prefix with trainable_layers = 0 is accepted and changes nothing (a frozen
    // encoder has no prefix to cache), so a study can sweep trainable_layers over 0, 1, 2.
    if (s.trainable_layers > 0 && s.layer != -1)
        throw ConfigError(s.where_layer, plugin + ": fine-tuning (trainable_layers = " +
                                             std::to_string(s.trainable_layers) +
                                             ") trains the top layers, so `layer` must be -1 (the last)");
    return s;
}

std::string EncoderSettings::cache_key() const {
    return "checkpoint=" + checkpoint.digest + ";dtype=" + (dtype == at::kBFloat16 ? "bfloat16" : "float32") +
           ";layer=" + std::to_string(layer) + ";tokens=" + (tokens ? "1" : "0");
}

std::int64_t EncoderSettings::resolve_layer(std::int64_t num_layers) const {
    if (layer > num_layers)
        throw ConfigError(where_layer, plugin + ": layer = " + std::to_string(layer) + " but " +
                                           checkpoint.folder.string() + " has " + std::to_string(num_layers) +
                                           " layers; accepted: -1 (last), 0 (embeddings) .. " +
                                           std::to_string(num_layers));
    if (trainable_layers > num_layers)
        throw ConfigError(where_trainable_layers, plugin + ": trainable_layers = " + std::to_string(trainable_layers) +
                                                      " but " + checkpoint.folder.string() + " has " +
                                                      std::to_string(num_layers) + " layers");
    return layer < 0 ? num_layers : layer;
}

at::Tensor masked_mean(const at::Tensor& tokens, const at::Tensor& mask) {
    if (!mask.defined()) return tokens.mean(1);
    const auto weights = mask.to(tokens.scalar_type()).unsqueeze(-1);
    // clamp: a row without tokens gives zeros, not NaN (sentence-transformers does the same).
    return (tokens * weights).sum(1) / weights.sum(1).clamp_min(1e-9);
}

at::Tensor pool_tokens(const at::Tensor& tokens, const at::Tensor& mask, const std::string& pooling) {
    if (pooling == "cls") return tokens.select(1, 0);
    if (pooling == "mean") return masked_mean(tokens, mask);
    throw Error("unknown pooling '" + pooling + "'; accepted: cls, mean");
}

at::Tensor load_image_batch(const EncoderBatch& batch, const media::ImageProcessorOptions& options,
                            std::int64_t threads) {
    const auto n = static_cast<std::int64_t>(batch.samples.size());
    // Every image of a batch has the same preprocessed size when the processor crops or
    // resizes to a fixed size; the first decides, and a different one is an error.
    std::vector<media::FloatImage> images(static_cast<std::size_t>(n));
    std::vector<std::string> errors(static_cast<std::size_t>(n));
    std::atomic<std::int64_t> next{0};
    auto work = [&] {
        for (std::int64_t i; (i = next++) < n;) {
            const Sample& sample = *batch.samples[static_cast<std::size_t>(i)];
            try {
                images[static_cast<std::size_t>(i)] = media::preprocess(media::decode_image(sample.image_path), options);
            } catch (const std::exception& e) {
                errors[static_cast<std::size_t>(i)] = "sample " + sample.id + " (" + sample.image_path + "): " + e.what();
            }
        }
    };
    const std::int64_t workers = std::max<std::int64_t>(
        1, std::min<std::int64_t>(n, threads > 0 ? threads : at::get_num_threads()));
    std::vector<std::thread> pool;
    for (std::int64_t t = 1; t < workers; ++t) pool.emplace_back(work);
    work();
    for (auto& thread : pool) thread.join();
    for (const auto& error : errors)
        if (!error.empty()) throw Error("cannot read image of " + error);
    if (n == 0) return at::empty({0, 3, options.crop_size.height, options.crop_size.width});
    const int height = images[0].height, width = images[0].width;
    at::Tensor out = at::empty({n, 3, height, width}, at::kFloat);
    for (std::int64_t i = 0; i < n; ++i) {
        const auto& image = images[static_cast<std::size_t>(i)];
        if (image.height != height || image.width != width)
            throw Error("sample " + batch.samples[static_cast<std::size_t>(i)]->id + ": preprocessed to " +
                        std::to_string(image.width) + "x" + std::to_string(image.height) + " but the batch is " +
                        std::to_string(width) + "x" + std::to_string(height) +
                        "; the image processor must crop or resize to a fixed size");
        std::copy(image.data.begin(), image.data.end(), out[i].data_ptr<float>());
    }
    return out;
}

media::ImageProcessorOptions image_processor_for(const Checkpoint& checkpoint, const std::string& processor_type,
                                                 std::int64_t height, std::int64_t width) {
    const auto config = checkpoint.folder / "preprocessor_config.json";
    if (std::filesystem::exists(config)) return media::read_preprocessor_config(config.string());
    auto options = media::image_processor_defaults(processor_type);
    const media::ImageSize size{static_cast<int>(height), static_cast<int>(width)};
    if (options.shortest_edge > 0) options.shortest_edge = std::min(size.height, size.width);
    else options.size = size;
    if (options.do_center_crop) options.crop_size = size;
    return options;
}

std::string image_processor_key(const media::ImageProcessorOptions& o) {
    std::string key = "resize=" + std::to_string(o.do_resize) + ":" + std::to_string(o.size.height) + "x" +
                      std::to_string(o.size.width) + ":" + std::to_string(o.shortest_edge) + ":" +
                      media::to_string(o.resample) + ":" + std::to_string(static_cast<int>(o.pass_order)) +
                      ";crop=" + std::to_string(o.do_center_crop) + ":" + std::to_string(o.crop_size.height) + "x" +
                      std::to_string(o.crop_size.width) + ";rescale=" + std::to_string(o.do_rescale) + ":" +
                      std::to_string(o.rescale_factor) + ":" + std::to_string(o.rescale_offset) +
                      ";normalize=" + std::to_string(o.do_normalize);
    for (float v : o.image_mean) key += ":" + std::to_string(v);
    for (float v : o.image_std) key += ":" + std::to_string(v);
    return key + ";include_top=" + std::to_string(o.include_top);
}

namespace {

// The trainable part as one module, so the trainer sees one parameter list.
struct TopModule : torch::nn::Module {
    explicit TopModule(const std::vector<std::shared_ptr<torch::nn::Module>>& modules) {
        for (std::size_t i = 0; i < modules.size(); ++i) register_module(std::to_string(i), modules[i]);
    }
};

at::Tensor identity(const at::Tensor& t) { return t; }

} // namespace

StackTrainableTop::StackTrainableTop(LayerStack stack, Embed embed, std::int64_t k, bool cached_prefix,
                                     bool prefix_autocast, std::string prefix_cache_key)
    : stack_(std::move(stack)), embed_(std::move(embed)), k_(k), cached_prefix_(cached_prefix),
      prefix_autocast_(prefix_autocast), prefix_cache_key_(std::move(prefix_cache_key)) {
    if (!stack_.to_tokens) stack_.to_tokens = identity;
    if (!stack_.from_tokens) stack_.from_tokens = identity;
    module_ = std::make_shared<TopModule>(stack_.top_modules(k_));
}

Features StackTrainableTop::encode_prefix(const EncoderBatch& batch) {
    torch::NoGradGuard no_grad;
    const CpuBFloat16Autocast autocast(prefix_autocast_);
    auto [hidden, mask] = embed_(batch);
    hidden = stack_.run_layers(hidden, mask, 0, stack_.num_layers - k_);
    Features out;
    out.tokens = stack_.to_tokens(hidden).to(at::kFloat);
    out.mask = mask.defined() ? mask.to(at::kFloat)
                              : at::ones({out.tokens.size(0), out.tokens.size(1)}, at::kFloat);
    out.pooled = masked_mean(out.tokens, out.mask);
    return out;
}

Features StackTrainableTop::forward(const Features& prefix) {
    // Compute in the module's dtype (bfloat16 when so configured).
    const auto parameters = module_->parameters();
    const auto dtype = parameters.empty() ? prefix.tokens.scalar_type() : parameters.front().scalar_type();
    const auto device = parameters.empty() ? prefix.tokens.device() : parameters.front().device();
    at::Tensor hidden = stack_.from_tokens(prefix.tokens.to(device, dtype));
    // Text models get the stored mask (0 at padding); image models take none.
    at::Tensor mask = stack_.takes_mask && prefix.mask.defined() ? prefix.mask.to(device) : at::Tensor();
    hidden = stack_.run_layers(hidden, mask, stack_.num_layers - k_, stack_.num_layers);
    // The head trains in float32, whatever the top computes in (as encode() returns).
    Features out = stack_.finish(hidden, mask);
    out.pooled = out.pooled.to(at::kFloat);
    if (out.tokens.defined()) out.tokens = out.tokens.to(at::kFloat);
    if (out.mask.defined()) out.mask = out.mask.to(at::kFloat);
    return out;
}

StackEncoder::StackEncoder(EncoderSettings settings, StackEncoderSpec spec)
    : settings_(std::move(settings)), spec_(std::move(spec)),
      layer_(settings_.resolve_layer(spec_.stack.num_layers)) {
    if (settings_.trainable_layers > 0)
        top_ = std::make_unique<StackTrainableTop>(
            spec_.stack, spec_.embed, settings_.trainable_layers, settings_.cached_prefix, settings_.prefix_autocast,
            cache_key() + ";prefix_below=" + std::to_string(spec_.stack.num_layers - settings_.trainable_layers) +
                (settings_.prefix_autocast ? ";prefix_autocast=bfloat16" : ""));
}

std::string StackEncoder::cache_key() const { return settings_.cache_key() + ";" + spec_.extra_cache_key; }

Features StackEncoder::encode(const EncoderBatch& batch) {
    torch::NoGradGuard no_grad;
    auto [hidden, mask] = spec_.embed(batch);
    hidden = spec_.stack.run_layers(hidden, mask, 0, layer_);
    Features out = layer_ == spec_.stack.num_layers ? spec_.stack.finish(hidden, mask) : spec_.inner(hidden, mask);
    out.pooled = out.pooled.to(at::kFloat);
    if (out.tokens.defined()) {
        out.tokens = out.tokens.to(at::kFloat);
        out.mask = out.mask.defined() ? out.mask.to(at::kFloat)
                                      : at::ones({out.tokens.size(0), out.tokens.size(1)}, at::kFloat);
    }
    return out;
}

} // namespace msa::models

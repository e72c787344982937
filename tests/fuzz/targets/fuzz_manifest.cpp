// TOML manifest -> validated Study: ManifestDocument::load, plugin_paths and to_study on
// a manifest split by "\n----\n" lines into main.toml, base.toml and sweep.toml (so
// `include` has files to merge), in a folder that also holds an empty dataset root
// `data/`. The catalog holds stand-ins that declare the parameters of the built-in
// plugins the seeds name (docs/plugins.md) with every parameter type; no plugin library
// is loaded, and nothing is built from them. An accepted study's resolved manifest must
// read back to the same study (the same resolved text).
#include "fuzz_target.hpp"

#include "manifest/manifest_reader.hpp"
#include "manifest/resolved_manifest.hpp"
#include "plugin/plugin_catalog.hpp"

#include <msa/error.hpp>

namespace {

using msa::ParamSpec;
using msa::PluginInfo;

std::vector<ParamSpec> encoder_params(bool text) {
    std::vector<ParamSpec> p{
        ParamSpec::path("checkpoint", "models/x", "model folder").model_folder(),
        ParamSpec::choice("dtype", "auto", {"auto", "float32", "bfloat16"}, "precision"),
        ParamSpec::integer("batch_size", 32, "batch").at_least(1),
        ParamSpec::integer("threads", 0, "threads").at_least(0),
        ParamSpec::integer("layer", -1, "layer"),
        ParamSpec::boolean("tokens", false, "token sequences"),
        ParamSpec::integer("trainable_layers", 0, "trainable top").range(0, 48),
        ParamSpec::boolean("cached_prefix", true, "prefix in the store"),
    };
    if (text) {
        p.push_back(ParamSpec::integer("max_length", 128, "tokens").range(1, 4096));
        p.push_back(ParamSpec::choice("pooling", "mean", {"mean", "cls"}, "pooling"));
        p.push_back(ParamSpec::boolean("normalize", false, "normalize"));
    } else {
        p.push_back(ParamSpec::choice("output", "pooled", {"pooled", "logits"}, "output"));
    }
    return p;
}

std::vector<ParamSpec> fusion_params() {
    return {ParamSpec::integer("hidden", 256, "hidden").at_least(1), ParamSpec::real("dropout", 0.1, "dropout").range(0, 1)};
}

const msa::PluginCatalog& stand_in_catalog() {
    static const msa::PluginCatalog catalog = [] {
        msa::PluginCatalog c;
        c.begin_library("fuzz-stand-ins");
        const auto encoder = [](const msa::Properties&) { return std::shared_ptr<msa::Encoder>(); };
        c.add_encoder(PluginInfo{"hf-text", "text encoder", encoder_params(true)}, encoder);
        c.add_encoder(PluginInfo{"hf-vit", "image encoder", encoder_params(false)}, encoder);
        c.add_encoder(PluginInfo{"efficientnet-lite", "image encoder", encoder_params(false)}, encoder);
        c.add_encoder(PluginInfo{"clip-text", "CLIP text", encoder_params(true)}.with_joint_space("clip"), encoder);
        c.add_encoder(PluginInfo{"clip-image", "CLIP image", encoder_params(false)}.with_joint_space("clip"), encoder);
        c.add_encoder(PluginInfo{"hashed-ngram", "n-grams",
                                 {ParamSpec::integer("dim", 1024, "dim").range(1, 1 << 20),
                                  ParamSpec::choice("analyzer", "word", {"word", "char"}, "analyzer"),
                                  ParamSpec::integer("ngram_min", 1, "min").at_least(1),
                                  ParamSpec::integer("ngram_max", 2, "max").at_least(1),
                                  ParamSpec::boolean("lowercase", true, "lower")}},
                      encoder);
        const auto fusion = [](const msa::Properties&, const msa::FusionContext&) { return std::shared_ptr<msa::Fusion>(); };
        for (const char* name : {"concat", "attention", "attention-combine", "gated", "late", "bilinear", "tensor"})
            c.add_fusion(PluginInfo{name, "fusion", fusion_params()}.with_needs({true, true, false}), fusion);
        c.add_fusion(PluginInfo{"text-only", "fusion", fusion_params()}.with_needs({true, false, false}), fusion);
        c.add_fusion(PluginInfo{"image-only", "fusion", fusion_params()}.with_needs({false, true, false}), fusion);
        auto cross = fusion_params();
        cross.push_back(ParamSpec::integer("heads", 4, "heads").range(1, 64));
        c.add_fusion(PluginInfo{"cross-attention", "fusion", cross}.with_needs({true, true, true}), fusion);
        const auto loss = [](const msa::Properties&, const msa::LossContext&) { return std::shared_ptr<msa::Loss>(); };
        c.add_loss(PluginInfo{"cross-entropy", "loss",
                              {ParamSpec::real("label_smoothing", 0, "smoothing").range(0, 1),
                               ParamSpec::reals("class_weights", {}, "weights").at_least(0)}},
                   loss);
        c.add_loss(PluginInfo{"focal", "loss",
                              {ParamSpec::real("gamma", 2, "gamma").at_least(0), ParamSpec::reals("alpha", {}, "alpha")}},
                   loss);
        c.add_loss(PluginInfo{"itc", "loss", {ParamSpec::integer("dim", 128, "dim").at_least(1)}}.with_needs({true, true, false}),
                   loss);
        const auto sampler = [](const msa::Properties&) { return std::shared_ptr<msa::Sampler>(); };
        c.add_sampler(PluginInfo{"all", "sampler", {}}, sampler);
        c.add_sampler(PluginInfo{"k-shot", "sampler",
                                 {ParamSpec::integer("k", 16, "k").at_least(1), ParamSpec::integer("set", 0, "set"),
                                  ParamSpec::integer("sets", 1, "sets").at_least(1)}},
                      sampler);
        c.add_sampler(PluginInfo{"hard-mining", "sampler",
                                 {ParamSpec::path("predictions", "", "file"), ParamSpec::strings("keep", {}, "keep"),
                                  ParamSpec::integers("limits", {}, "limits")}},
                      sampler);
        const auto augmenter = [](const msa::Properties&) { return std::shared_ptr<msa::Augmenter>(); };
        c.add_augmenter(PluginInfo{"identity", "augmenter", {}}, augmenter);
        c.add_augmenter(PluginInfo{"vlm", "augmenter",
                                   {ParamSpec::string("url", "http://localhost:8000/v1", "url"),
                                    ParamSpec::string("api_key_env", "", "key variable"),
                                    ParamSpec::real("temperature", 0, "t").range(0, 2)}},
                        augmenter);
        const auto prompt = [](const msa::Properties&, const msa::PromptContext&) {
            return std::shared_ptr<msa::PromptModel>();
        };
        c.add_prompt(PluginInfo{"mlm-prompt", "prompt",
                                {ParamSpec::path("checkpoint", "models/x", "folder").model_folder(),
                                 ParamSpec::string("template", "{text} It was [MASK].", "template"),
                                 ParamSpec::integer("trainable_layers", 1, "top").at_least(0)}},
                     prompt);
        // Named in sweeps of the seeds; their parameters do not matter here.
        for (const char* name : {"class-balanced", "acb", "itm"}) c.add_loss(PluginInfo{name, "loss", {}}, loss);
        for (const char* name : {"stratified", "consistent", "weighted-random"}) c.add_sampler(PluginInfo{name, "sampler", {}}, sampler);
        for (const char* name : {"captions-file", "clip-tags"}) c.add_augmenter(PluginInfo{name, "augmenter", {}}, augmenter);
        c.add_encoder(PluginInfo{"hf-swinv2", "image encoder", encoder_params(false)}, encoder);
        const auto refused = c.end_library();
        if (!refused.empty()) msa::fuzz::fail("manifest: a stand-in plugin was refused: " + refused.front());
        return c;
    }();
    return catalog;
}

} // namespace

MSA_FUZZ_TARGET(manifest) {
    static const auto folder = [] {
        const auto f = msa::fuzz::fresh_folder("study");
        std::filesystem::create_directories(f / "data");
        return f;
    }();
    const auto parts = msa::fuzz::split_parts({reinterpret_cast<const char*>(data), size}, 3);
    const char* names[] = {"main.toml", "base.toml", "sweep.toml"};
    for (std::size_t i = 0; i < 3; ++i) {
        std::error_code ec;
        std::filesystem::remove(folder / names[i], ec);
        if (i < parts.size()) msa::fuzz::write_scratch(std::filesystem::path("study") / names[i], parts[i]);
    }
    const auto document = msa::ManifestDocument::load(folder / "main.toml");
    (void)document.plugin_paths();
    const msa::Study study = document.to_study(stand_in_catalog());
    // Round trip: the resolved manifest (a run folder's config.toml) of an accepted study
    // is itself accepted, and resolves to the same text.
    const std::string resolved = msa::resolved_manifest(study);
    const auto file = msa::fuzz::write_scratch("study/resolved.toml", resolved);
    std::string again;
    try {
        again = msa::resolved_manifest(msa::ManifestDocument::load(file).to_study(stand_in_catalog()));
    } catch (const msa::Error& e) {
        msa::fuzz::fail("manifest: the resolved manifest of an accepted study is refused: " + std::string(e.what()) +
                        "\n--- resolved:\n" + resolved);
    }
    if (again != resolved)
        msa::fuzz::fail("manifest: the resolved manifest does not round-trip\n--- first:\n" + resolved +
                        "\n--- second:\n" + again);
}

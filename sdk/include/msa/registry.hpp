// The registry a plugin library fills in its registration function: one entry per
// plugin, each with its declared parameters and a factory.
#pragma once

#include <msa/modality.hpp>
#include <msa/properties.hpp>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace msa {

class Encoder;
class Fusion;
class Loss;
class Sampler;
class Augmenter;
class PromptModel;
struct FusionContext;
struct LossContext;
struct PromptContext;

enum class PluginKind { encoder, fusion, loss, sampler, augmenter, prompt };

inline const char* to_string(PluginKind kind) {
    switch (kind) {
    case PluginKind::encoder: return "encoder";
    case PluginKind::fusion: return "fusion";
    case PluginKind::loss: return "loss";
    case PluginKind::sampler: return "sampler";
    case PluginKind::augmenter: return "augmenter";
    case PluginKind::prompt: return "prompt";
    }
    return "?";
}

// What a fusion or loss reads of the study's features. The host checks it before building
// the plugin (a study without an image encoder cannot use a fusion that reads images, and
// the error says which fusions would do, from their declarations, not from names).
// SDK 3.0.
struct PluginNeeds {
    bool text = false;   // the text features
    bool image = false;  // the image features
    bool tokens = false; // the token sequences as well as the pooled features

    bool reads(Modality m) const { return m == Modality::text ? text : image; }
};

// What a plugin says about itself. `version` is part of the feature-store key of an
// encoder: bump it whenever the plugin's output changes.
struct PluginInfo {
    std::string name;
    std::string summary;
    std::vector<ParamSpec> params;
    std::string version = "1";
    PluginNeeds needs;
    // An encoder whose pooled features (with its default parameters) lie in an image-text
    // embedding space shared with an encoder of the other modality names that space, e.g.
    // "clip" for CLIP's projections; the two encoders of a pair declare the same name. A
    // [clip] trial pairs its encoders by it (zero-shot compares texts with images). SDK 4.0.
    std::string joint_space;

    // `PluginInfo{"gated", "...", {...}}.with_needs({/*text=*/true, /*image=*/true})`
    PluginInfo with_needs(PluginNeeds n) && {
        needs = n;
        return std::move(*this);
    }
    // `PluginInfo{"clip-text", "...", {...}}.with_joint_space("clip")`
    PluginInfo with_joint_space(std::string space) && {
        joint_space = std::move(space);
        return std::move(*this);
    }
};

using EncoderFactory = std::function<std::shared_ptr<Encoder>(const Properties&)>;
using FusionFactory =
    std::function<std::shared_ptr<Fusion>(const Properties&, const FusionContext&)>;
using LossFactory = std::function<std::shared_ptr<Loss>(const Properties&, const LossContext&)>;
using SamplerFactory = std::function<std::shared_ptr<Sampler>(const Properties&)>;
using AugmenterFactory = std::function<std::shared_ptr<Augmenter>(const Properties&)>;
using PromptFactory =
    std::function<std::shared_ptr<PromptModel>(const Properties&, const PromptContext&)>;

// Implemented by the host. Registration is explicit, never through static
// constructors; the host records which library every entry came from.
class __attribute__((visibility("default"))) Registry {
public:
    virtual ~Registry() = default;
    virtual void add_encoder(PluginInfo info, EncoderFactory factory) = 0;
    virtual void add_fusion(PluginInfo info, FusionFactory factory) = 0;
    virtual void add_loss(PluginInfo info, LossFactory factory) = 0;
    virtual void add_sampler(PluginInfo info, SamplerFactory factory) = 0;
    virtual void add_augmenter(PluginInfo info, AugmenterFactory factory) = 0;
    // Last in the vtable, so that plugins built against SDK 4.2 still load. SDK 4.3.
    virtual void add_prompt(PluginInfo info, PromptFactory factory) = 0;
};

} // namespace msa

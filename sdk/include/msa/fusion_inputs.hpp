// Checks a fusion makes of its inputs, worded the same way for every fusion: the widths it
// was built for (at construction) and what reached forward() (at training time). The host
// has already checked the study against the fusion's declared needs (PluginInfo::needs)
// and said what to change in the manifest, so these only guard a fusion built otherwise
// (by a test, or by another program) and speak of the fusion alone. Header-only.
#pragma once

#include <msa/encoder.hpp>
#include <msa/error.hpp>
#include <msa/fusion.hpp>

#include <ATen/ATen.h>

#include <cstdint>
#include <sstream>
#include <string>

namespace msa {

inline std::string shape_of(const at::Tensor& tensor) {
    std::ostringstream os;
    os << tensor.sizes();
    return os.str();
}

// A fusion that combines the two modalities needs both widths.
inline void require_both_modalities(const std::string& fusion, const FusionContext& context) {
    const bool text = context.text_dim > 0, image = context.image_dim > 0;
    if (text && image) return;
    throw Error(fusion + " fusion combines text and image features, but was built without " +
                (!text && !image ? std::string("either") : !text ? "text features" : "image features") +
                " (text_dim = " + std::to_string(context.text_dim) + ", image_dim = " +
                std::to_string(context.image_dim) + ")");
}

// A fusion that reads one modality needs its width.
inline void require_modality(const std::string& fusion, Modality modality, const FusionContext& context) {
    const std::int64_t dim = modality == Modality::text ? context.text_dim : context.image_dim;
    if (dim > 0) return;
    const std::string name = to_string(modality);
    throw Error(fusion + " fusion uses the " + name + " features, but was built without them (" + name +
                "_dim = 0)");
}

// The pooled [N, dim] features of one modality as forward() received them.
inline const at::Tensor& pooled_input(const std::string& fusion, const Features& features, Modality modality,
                                      std::int64_t dim) {
    const at::Tensor& pooled = features.pooled;
    const std::string name = to_string(modality);
    if (!pooled.defined())
        throw Error(fusion + " fusion received no " + name + " features (the pooled tensor is undefined); it was " +
                    "built for " + name + " features of width " + std::to_string(dim) +
                    ", so the " + name + " encoder must run in this study");
    if (pooled.dim() != 2 || pooled.size(1) != dim)
        throw Error(fusion + " fusion received " + name + " features of shape " + shape_of(pooled) +
                    "; expected [N, " + std::to_string(dim) + "] (the " + name +
                    " encoder's width when the fusion was built)");
    return pooled;
}

// Text and image rows of one batch must describe the same samples.
inline void require_same_batch(const std::string& fusion, const at::Tensor& text, const at::Tensor& image) {
    if (text.size(0) != image.size(0))
        throw Error(fusion + " fusion received " + std::to_string(text.size(0)) + " text rows but " +
                    std::to_string(image.size(0)) + " image rows; both must hold the same samples");
}

} // namespace msa

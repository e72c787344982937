// What the built-in fusions check about their inputs, so that every one of them words
// its errors the same way: which modalities the study has (at construction) and what
// reached forward() (at training time), each time saying what would work instead.
// Header-only and included by several plugin libraries; each keeps its own copy.
#pragma once

#include <msa/encoder.hpp>
#include <msa/error.hpp>
#include <msa/fusion.hpp>

#include <ATen/ATen.h>

#include <cstdint>
#include <sstream>
#include <string>

namespace msa::fusions {

inline std::string shape_of(const at::Tensor& tensor) {
    std::ostringstream os;
    os << tensor.sizes();
    return os.str();
}

// Fusions that combine the two modalities cannot run in a study that lacks one of them.
inline void require_both_modalities(const std::string& fusion, const FusionContext& context) {
    const bool text = context.text_dim > 0, image = context.image_dim > 0;
    if (text && image) return;
    std::string message = fusion + " fusion combines text and image features, but this study has ";
    if (!text && !image)
        message += "neither a text nor an image encoder; add [encoders.text] and [encoders.image]";
    else if (!text)
        message += "no text encoder; add an [encoders.text] table, or use fusion 'image-only' (or 'concat'), "
                   "which work with image features alone";
    else
        message += "no image encoder; add an [encoders.image] table, or use fusion 'text-only' (or 'concat'), "
                   "which work with text features alone";
    throw Error(message);
}

// A fusion that reads one modality cannot run without that modality's encoder.
inline void require_modality(const std::string& fusion, Modality modality, const FusionContext& context) {
    const std::int64_t dim = modality == Modality::text ? context.text_dim : context.image_dim;
    if (dim > 0) return;
    const std::string name = to_string(modality);
    const std::string other = modality == Modality::text ? "image-only" : "text-only";
    throw Error(fusion + " fusion uses the " + name + " features, but this study has no " + name +
                " encoder; add an [encoders." + name + "] table, or use fusion '" + other +
                "' or 'concat' for the modality the study has");
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

} // namespace msa::fusions

// The built-in plugins msa falls back on, in one table: what a manifest gets when it names
// none, and what an ablation phase retrains with. Every other part of the host asks the
// plugins' declarations, never a name.
#pragma once

namespace msa::builtin_defaults {

inline constexpr const char* fusion = "concat";
inline constexpr const char* loss = "cross-entropy";
inline constexpr const char* sampler = "all";
// An ablation phase's retrained unimodal models (phase keys text_fusion, image_fusion).
inline constexpr const char* text_only_fusion = "text-only";
inline constexpr const char* image_only_fusion = "image-only";
// A [clip] trial's encoders; they must declare one joint_space (PluginInfo).
inline constexpr const char* clip_text_encoder = "clip-text";
inline constexpr const char* clip_image_encoder = "clip-image";

} // namespace msa::builtin_defaults

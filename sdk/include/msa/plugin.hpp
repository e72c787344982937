// The one exported entry point of a plugin library and its version descriptor.
//
//   static void register_plugins(msa::Registry& registry) {
//       registry.add_fusion({"hadamard", "...", {...}}, [](auto& props, auto& ctx) {...});
//   }
//   MSA_PLUGIN(register_plugins)
#pragma once

#include <msa/registry.hpp>

#include <torch/version.h>

#include <cstdint>

// Major: the host refuses a plugin whose major differs. Minor: the host refuses a plugin
// built against a newer minor than its own (it may use what the host lacks).
// 2.0: Encoder::trainable_top() (fine-tuning of top layers) changed the Encoder vtable.
// 2.1: LossContext gained text_dim and image_dim, SamplerContext the class names.
// 3.0: Encoder::threads() (the host owns LibTorch's threads), ParamSpec::is_model_folder,
//      PluginInfo::needs; libmsa-models and libmsa-media take this version as theirs
//      (SOVERSION = major), so the descriptor check covers them too.
// 4.0: PluginInfo::joint_space (encoders of one image-text embedding space, e.g. CLIP's);
//      Encoder::precision() (the compute type after dtype = "auto");
//      msa/caption_augmenter.hpp and msa/media/digest.hpp installed with the SDK.
// 4.1: libmsa-models gained MPNet (msa/models/mpnet.hpp), check_token_ids and
//      MultiHeadSelfAttention's ProjectionNames; 4.0 plugins still load.
// 4.2: SamplerContext::shots (few-shot phases), at the end of the struct; 4.1 plugins
//      still load.
// 4.3: the prompt kind (msa/prompt.hpp: PromptModel, PromptContext), registered with
//      Registry::add_prompt at the end of the vtable; libmsa-models gained MaskedLmHead
//      and masked_lm_from_checkpoint. 4.2 plugins still load.
// 4.4: TrainableTop::prefix_precision() at the end of its vtable, which the host asks
//      only of 4.4 libraries; libmsa-models gained msa/models/autocast.hpp (CPU bfloat16
//      autocast, which StackTrainableTop's prefix uses under dtype = "auto"). 4.3 plugins
//      still load.
#define MSA_SDK_ABI_MAJOR 4
#define MSA_SDK_ABI_MINOR 4

#ifndef _GLIBCXX_USE_CXX11_ABI
#define MSA_CXX11_ABI -1
#else
#define MSA_CXX11_ABI _GLIBCXX_USE_CXX11_ABI
#endif

extern "C" {
// Plain data only, so that any host can read it before trusting anything else in the
// library. New fields go at the end; struct_size tells the host which ones exist.
struct msa_plugin_descriptor {
    std::uint32_t struct_size;
    std::uint32_t abi_major;
    std::uint32_t abi_minor;
    const char* torch_version; // TORCH_VERSION the library was compiled against
    std::int32_t cxx11_abi;    // _GLIBCXX_USE_CXX11_ABI, -1 when not libstdc++
    void (*register_plugins)(msa::Registry&);
};
}

#define MSA_PLUGIN_ENTRY_SYMBOL "msa_plugin_entry"

#define MSA_PLUGIN(register_function)                                                       \
    extern "C" __attribute__((visibility("default"))) const msa_plugin_descriptor*          \
    msa_plugin_entry() {                                                                    \
        static const msa_plugin_descriptor descriptor{                                      \
            sizeof(msa_plugin_descriptor), MSA_SDK_ABI_MAJOR, MSA_SDK_ABI_MINOR,            \
            TORCH_VERSION, MSA_CXX11_ABI, &(register_function)};                            \
        return &descriptor;                                                                 \
    }

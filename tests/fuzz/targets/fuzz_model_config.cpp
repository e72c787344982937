// config.json as the encoders read it: a model folder (the fuzzed config.json beside a
// small committed safetensors file), then every architecture's Config::from_json.
#include "fuzz_target.hpp"

#include <msa/models/bert.hpp>
#include <msa/models/checkpoint.hpp>
#include <msa/models/clip.hpp>
#include <msa/models/efficientnet_lite.hpp>
#include <msa/models/model_config.hpp>
#include <msa/models/mpnet.hpp>
#include <msa/models/swinv2.hpp>
#include <msa/models/vit.hpp>

#include <filesystem>

namespace fs = std::filesystem;

namespace {
// Each reader on its own: one refusing the config must not hide another's crash.
template <class F> void each(F&& f) {
    try {
        f();
    } catch (const msa::Error& e) {
        if (!*e.what()) msa::fuzz::fail("model_config: an msa::Error with an empty message");
    }
}
} // namespace

MSA_FUZZ_TARGET(model_config) {
    static const fs::path folder = [] {
        const fs::path f = msa::fuzz::fresh_folder("model");
        fs::copy_file(fs::path(MSA_FIXTURE_DIR) / "checkpoints/expected.safetensors", f / "model.safetensors");
        return f;
    }();
    msa::fuzz::write_scratch("model/config.json", {reinterpret_cast<const char*>(data), size});
    const msa::models::Checkpoint checkpoint = msa::models::load_checkpoint(folder);
    const msa::models::ModelConfig config(checkpoint.config, (folder / "config.json").string());
    using namespace msa::models;
    each([&] { BertConfig::from_json(config); });
    each([&] { MPNetConfig::from_json(config); });
    each([&] { ViTConfig::from_json(config); });
    each([&] { Swinv2Config::from_json(config); });
    each([&] { EfficientNetLiteConfig::from_json(config); });
    each([&] { ClipTextConfig::from_json(config.child("text_config")); });
    each([&] { ClipVisionConfig::from_json(config.child("vision_config")); });
}

// The real EfficientNet-Lite0 and Lite2 ImageNet checkpoints (legacy torch.save,
// models/efficientnet-lite0 and models/efficientnet-lite2) on 20 mvsa-ecnu photos: our
// preprocessing and module against efficientnet_lite_pytorch's pooled features and logits
// (tests/fixtures/real/efficientnet-lite{0,2}-mvsa20.*, scripts/make-real-fixtures-efficientnet.py),
// both as the module and through the efficientnet-lite encoder plugin.
#include "test_helpers.hpp"
#include "test_skip.hpp"

#include <msa/encoder.hpp>
#include <msa/media/image.hpp>
#include <msa/media/image_processor.hpp>
#include <msa/models/checkpoint.hpp>
#include <msa/models/efficientnet_lite.hpp>

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

using namespace msa;
using namespace msa::models;
namespace fs = std::filesystem;

namespace {

// float32 through 16 (lite0) or 21 (lite2) blocks and a 1000-way head: the two
// implementations sum in different orders (oneDNN convolutions here, PyTorch 2's there), so
// logits agree to rounding, not bits.
constexpr double kLogitTolerance = 1e-4;

std::string pixels_checksum(const float* data, std::size_t count) {
    std::vector<unsigned char> bytes(count * sizeof(float));
    std::memcpy(bytes.data(), data, bytes.size());
    return msa::test::fnv1a64(bytes);
}

// What differs between the checkpoints beyond config.json: the published block count
// (16 for lite0; lite2's depth 1.2 gives 21) and the side of the head's feature map
// (image_size halved five times, rounding up: 224 -> 7, 260 -> 9).
struct RealCheckpoint {
    std::string variant; // the folder in models/ and config.json's "variant"
    std::string title;   // for messages
    std::int64_t blocks;
    std::int64_t map_side;
};

void check_against_reference(const RealCheckpoint& real) {
    const fs::path folder = msa::test::models_dir() / real.variant;
    const fs::path data = msa::test::mvsa_ecnu_dir() / "data";
    if (!fs::exists(folder / "config.json"))
        MSA_SKIP(folder.string() << " absent (scripts/fetch-models puts " << real.title << " there)");
    if (!fs::is_directory(data)) MSA_SKIP(data.string() << " absent (set MSA_SHARED_DIR to the shared folder)");
    const fs::path fixtures = fs::path(MSA_FIXTURE_DIR) / "real";
    std::ifstream in(fixtures / (real.variant + "-mvsa20.json"));
    REQUIRE(in);
    const auto doc = nlohmann::json::parse(in);
    const StateDict expected = read_safetensors(fixtures / (real.variant + "-mvsa20.safetensors"));

    const Checkpoint checkpoint = load_checkpoint(folder);
    {
        INFO("the expected values were made from " << doc["weights"].get<std::string>() << "; " << folder.string()
                                                   << " holds other weights: rerun scripts/make-real-fixtures-efficientnet.py");
        REQUIRE(checkpoint.digest == doc["weights_sha256"].get<std::string>());
    }
    const auto config = EfficientNetLiteConfig::from_json(ModelConfig(checkpoint.config, (folder / "config.json").string()));
    REQUIRE(config.variant == real.variant);
    EfficientNetLite model(config);
    load_state_dict(*model, checkpoint.weights, folder.string());
    model->eval();

    // The fixture's preprocessing is the one the encoder plugin uses.
    const media::ImageProcessorOptions options = efficientnet_lite_image_options(config);
    const auto& pre = doc["preprocessing"];
    CHECK(options.shortest_edge == pre["size"]["shortest_edge"].get<int>());
    CHECK(options.crop_size.height == pre["crop_size"]["height"].get<int>());
    CHECK(options.crop_size.width == pre["crop_size"]["width"].get<int>());
    CHECK(static_cast<int>(options.resample) == pre["resample"].get<int>());
    for (int c = 0; c < 3; ++c) {
        CHECK(options.image_mean[c] == static_cast<float>(pre["image_mean"][c].get<double>()));
        CHECK(options.image_std[c] == static_cast<float>(pre["image_std"][c].get<double>()));
    }

    const auto& images = doc["images"];
    const auto n = static_cast<std::int64_t>(images.size());
    REQUIRE(n == 20);
    const std::int64_t size = config.image_size;
    at::Tensor batch = at::empty({n, 3, size, size}, at::kFloat);
    const std::size_t per_image = static_cast<std::size_t>(3 * size * size);
    for (std::int64_t i = 0; i < n; ++i) {
        const std::string name = images[i]["image"];
        INFO(name);
        float* slot = batch.data_ptr<float>() + i * static_cast<std::int64_t>(per_image);
        media::preprocess_into(media::decode_image((data / name).string()), options, slot);
        CHECK(pixels_checksum(slot, per_image) == images[i]["pixels_fnv1a64"].get<std::string>());
    }

    torch::NoGradGuard no_grad;
    const EfficientNetLiteOutput out = model->forward(batch);
    const at::Tensor& logits = expected.at("logits");
    REQUIRE(out.logits.sizes() == logits.sizes());
    REQUIRE(out.pooled.sizes() == expected.at("pooled").sizes());
    const double logit_diff = (out.logits - logits).abs().max().item<double>();
    const double logit_range = logits.abs().max().item<double>();
    const double pooled_diff = (out.pooled - expected.at("pooled")).abs().max().item<double>();
    WARN(real.variant << ", 20 mvsa-ecnu images: max abs diff logits " << logit_diff << " (largest |logit| "
                      << logit_range << "), pooled " << pooled_diff);
    CHECK(logit_diff <= kLogitTolerance);
    CHECK(pooled_diff <= kLogitTolerance);
    const at::Tensor ours_top1 = out.logits.argmax(1);
    for (std::int64_t i = 0; i < n; ++i) {
        INFO(images[i]["image"].get<std::string>());
        CHECK(ours_top1[i].item<std::int64_t>() == images[i]["top5"][0].get<std::int64_t>());
    }
    CHECK(out.last_hidden_state.sizes() ==
          at::IntArrayRef({n, real.map_side * real.map_side, EfficientNetLiteConfig::head_channels}));
    CHECK(model->num_layers() == real.blocks);
    CHECK(out.hidden_states.size() == static_cast<std::size_t>(real.blocks + 1)); // stem + blocks

    // The same through the efficientnet-lite plugin, as msa encode runs it: its own decoding
    // and preprocessing at the variant's resolution, float32.
    std::vector<Sample> samples(static_cast<std::size_t>(n));
    EncoderBatch encoder_batch;
    for (std::int64_t i = 0; i < n; ++i) {
        auto& sample = samples[static_cast<std::size_t>(i)];
        sample.id = images[i]["image"].get<std::string>();
        sample.image_path = (data / sample.id).string();
        encoder_batch.samples.push_back(&sample);
    }
    for (const std::string output : {"pooled", "logits"}) {
        INFO("efficientnet-lite plugin, output = " << output);
        const auto encoder = msa::test::builtin_catalog().create_encoder(
            "efficientnet-lite",
            msa::test::properties(PluginKind::encoder, "efficientnet-lite",
                                  {{"checkpoint", folder.string()}, {"output", output}, {"dtype", std::string("float32")}}));
        const at::Tensor& want = expected.at(output);
        CHECK(encoder->dim() == want.size(1));
        const at::Tensor got = encoder->encode(encoder_batch).pooled;
        REQUIRE(got.sizes() == want.sizes());
        CHECK((got - want).abs().max().item<double>() <= kLogitTolerance);
    }
}

} // namespace

TEST_CASE("EfficientNet-Lite0 ImageNet checkpoint matches efficientnet_lite_pytorch on 20 mvsa-ecnu images", "[real]") {
    check_against_reference({"efficientnet-lite0", "EfficientNet-Lite0", /*blocks=*/16, /*map_side=*/7});
}

TEST_CASE("EfficientNet-Lite2 ImageNet checkpoint matches efficientnet_lite_pytorch on 20 mvsa-ecnu images", "[real]") {
    check_against_reference({"efficientnet-lite2", "EfficientNet-Lite2", /*blocks=*/21, /*map_side=*/9});
}

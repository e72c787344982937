// preprocess and read_preprocessor_config: transformers' pixel_values on the fixture
// cases (made by scripts/make-image-fixtures.py), sizes, option checks, config errors.
#include "test_helpers.hpp"
#include "test_skip.hpp"

#include <msa/error.hpp>
#include <msa/media/image.hpp>
#include <msa/media/image_processor.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace msa::media;

const fs::path fixtures = fs::path(MSA_FIXTURE_DIR) / "images";

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Deterministic test pixels with hard edges, so that rounding differences would show.
Image pattern(int width, int height) {
    Image image;
    image.width = width;
    image.height = height;
    image.rgb.resize(std::size_t(width) * height * 3);
    unsigned state = 12345;
    for (auto& v : image.rgb) {
        state = state * 1103515245u + 12345u;
        v = static_cast<unsigned char>((state >> 16) & 0x80 ? 255 : (state >> 8) & 0x3f);
    }
    return image;
}

std::string message_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const msa::Error& e) {
        return e.what();
    }
    return "(no error)";
}


} // namespace

TEST_CASE("preprocess matches transformers on every fixture case") {
    const auto manifest = nlohmann::json::parse(read_bytes(fixtures / "manifest.json"));
    REQUIRE(manifest["preprocess"].size() >= 10);
    for (const auto& c : manifest["preprocess"]) {
        const std::string name = c["name"];
        SECTION(name) {
            const ImageProcessorOptions options = read_preprocessor_config((fixtures / c["config"].get<std::string>()).string());
            const Image image = decode_image((fixtures / c["image"].get<std::string>()).string());
            const FloatImage out = preprocess(image, options);
            const auto shape = c["shape"].get<std::vector<int>>();
            REQUIRE(out.channels == shape[0]);
            REQUIRE(out.height == shape[1]);
            REQUIRE(out.width == shape[2]);
            const std::size_t plane = std::size_t(out.height) * out.width;

            // Expected values and one uint8 step in the output's units, per channel: the
            // comparison is made in steps of the input, whatever the normalization.
            std::vector<float> expected(3 * plane);
            float step[3] = {1, 1, 1};
            if (c["dtype"] == "uint8") {
                const Image png = decode_image((fixtures / c["expected"].get<std::string>()).string());
                for (std::size_t i = 0; i < plane; ++i)
                    for (int ch = 0; ch < 3; ++ch) expected[ch * plane + i] = png.rgb[i * 3 + ch];
            } else {
                const std::string raw = read_bytes(fixtures / c["expected"].get<std::string>());
                REQUIRE(raw.size() == expected.size() * sizeof(float));
                std::memcpy(expected.data(), raw.data(), raw.size()); // little-endian, as x86 and ARM
                for (int ch = 0; ch < 3; ++ch) {
                    const double std_dev = c["image_std"][ch].get<double>();
                    step[ch] = static_cast<float>(c["rescale_factor"].get<double>() / std_dev /
                                                  (c["divided_by_std_twice"].get<bool>() ? std_dev : 1.0));
                }
            }
            double worst_steps = 0;
            for (int ch = 0; ch < 3; ++ch)
                for (std::size_t i = 0; i < plane; ++i)
                    worst_steps = std::max(worst_steps, std::abs(double(out.data[ch * plane + i]) -
                                                                 double(expected[ch * plane + i])) / step[ch]);
            INFO(name << ": largest difference from transformers, in uint8 steps: " << worst_steps);
            CHECK(worst_steps <= 1.0 + 1e-4);
        }
    }
}

TEST_CASE("preprocessed_size follows transformers' shortest_edge rule") {
    ImageProcessorOptions clip = image_processor_defaults("CLIPImageProcessor");
    clip.do_center_crop = false;
    // The short side becomes 224; the long side is truncated, not rounded.
    CHECK(preprocessed_size(clip, 500, 400).height == 224);
    CHECK(preprocessed_size(clip, 500, 400).width == 280);
    CHECK(preprocessed_size(clip, 400, 500).height == 280);
    CHECK(preprocessed_size(clip, 400, 500).width == 224);
    CHECK(preprocessed_size(clip, 333, 250).width == 298); // 298.37
    CHECK(preprocessed_size(clip, 97, 61).width == 356);   // 356.19...
    CHECK(preprocessed_size(clip, 300, 300).width == 224);
    clip.do_center_crop = true;
    CHECK(preprocessed_size(clip, 500, 400).height == 224);
    CHECK(preprocessed_size(clip, 500, 400).width == 224);

    ImageProcessorOptions vit;
    vit.size = {256, 192};
    CHECK(preprocessed_size(vit, 500, 400).height == 256);
    CHECK(preprocessed_size(vit, 500, 400).width == 192);
    vit.do_resize = false;
    CHECK(preprocessed_size(vit, 500, 400).height == 400);
}

TEST_CASE("preprocess_into writes what preprocess returns") {
    const Image image = pattern(61, 47);
    for (const char* type : {"ViTImageProcessor", "CLIPImageProcessor", "EfficientNetImageProcessor"}) {
        INFO(type);
        ImageProcessorOptions options = image_processor_defaults(type);
        const FloatImage out = preprocess(image, options);
        const ImageSize size = preprocessed_size(options, image.width, image.height);
        REQUIRE(out.height == size.height);
        REQUIRE(out.width == size.width);
        std::vector<float> slot(out.data.size() + 1, -99.0f);
        preprocess_into(image, options, slot.data());
        CHECK(std::equal(out.data.begin(), out.data.end(), slot.begin()));
        CHECK(slot.back() == -99.0f);
    }
}

TEST_CASE("resize_image reproduces either Pillow pass order") {
    // The height shrinks by more than twice what the width does: Pillow 13 resamples
    // columns first. Single-axis resizes have one pass only, so chaining them gives each
    // order exactly.
    const Image image = pattern(40, 90);
    const ImageSize target{30, 33};
    for (Resample r : {Resample::bilinear, Resample::bicubic, Resample::lanczos}) {
        INFO(to_string(r));
        const Image rows_first = resize_image(resize_image(image, {90, 33}, r), target, r);
        const Image columns_first = resize_image(resize_image(image, {30, 40}, r), target, r);
        CHECK(resize_image(image, target, r, PillowPassOrder::before_pillow13).rgb == rows_first.rgb);
        CHECK(resize_image(image, target, r, PillowPassOrder::pillow13).rgb == columns_first.rgb);
        CHECK(rows_first.rgb != columns_first.rgb);
    }
    // Width shrinking more: both Pillows go rows first.
    const Image wide = pattern(90, 40);
    CHECK(resize_image(wide, {33, 30}, Resample::bicubic, PillowPassOrder::pillow13).rgb ==
          resize_image(wide, {33, 30}, Resample::bicubic, PillowPassOrder::before_pillow13).rgb);
    // The same size is a copy, whatever the filter.
    CHECK(resize_image(image, {90, 40}, Resample::lanczos).rgb == image.rgb);
}

TEST_CASE("preprocess rejects empty images and options out of range") {
    const Image image = pattern(8, 8);
    ImageProcessorOptions options;
    CHECK(message_of([&] { preprocess(Image{}, options); }).find("input image is empty") != std::string::npos);

    ImageProcessorOptions bad = options;
    bad.size = {0, 224};
    CHECK(message_of([&] { preprocess(image, bad); }).find("resize size 0x224") != std::string::npos);
    bad = options;
    bad.do_center_crop = true;
    bad.crop_size = {224, -1};
    CHECK(message_of([&] { preprocess(image, bad); }).find("crop_size 224x-1") != std::string::npos);
    bad = options;
    bad.image_std[1] = 0.0f;
    CHECK(message_of([&] { preprocess(image, bad); }).find("image_std[1]") != std::string::npos);
    bad = options;
    bad.shortest_edge = -3;
    CHECK(message_of([&] { preprocess(image, bad); }).find("shortest_edge -3") != std::string::npos);
    CHECK(message_of([&] { resize_image(image, {5, 0}, Resample::bilinear); }).find("5x0") != std::string::npos);
}

TEST_CASE("image_processor_defaults knows the transformers processor types") {
    const auto vit = image_processor_defaults("ViTImageProcessor");
    CHECK(vit.size.height == 224);
    CHECK(vit.resample == Resample::bilinear);
    CHECK_FALSE(vit.do_center_crop);
    CHECK(vit.image_mean[0] == 0.5f);

    const auto clip = image_processor_defaults("CLIPImageProcessorFast");
    CHECK(clip.shortest_edge == 224);
    CHECK(clip.resample == Resample::bicubic);
    CHECK(clip.do_center_crop);
    CHECK(clip.image_std[2] == 0.27577711f);
    CHECK(image_processor_defaults("CLIPFeatureExtractor").shortest_edge == 224);
    CHECK(image_processor_defaults("BitImageProcessor").shortest_edge == 224);
    CHECK(image_processor_defaults("EfficientNetImageProcessor").include_top);

    const std::string message = message_of([] { image_processor_defaults("SamImageProcessor"); });
    CHECK(message.find("'SamImageProcessor'") != std::string::npos);
    CHECK(message.find("accepted: ViTImageProcessor, CLIPImageProcessor") != std::string::npos);
}

TEST_CASE("read_preprocessor_config reads checkpoint configs") {
    msa::test::TempDir dir;
    SECTION("ViT base: an integer size is a square") {
        const auto path = dir.write("vit/preprocessor_config.json", R"({
          "do_normalize": true, "do_resize": true, "feature_extractor_type": "ViTFeatureExtractor",
          "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "resample": 2, "size": 224})");
        // The checkpoint folder will do as well as the file.
        const auto o = read_preprocessor_config((dir.path() / "vit").string());
        CHECK(o.size.height == 224);
        CHECK(o.size.width == 224);
        CHECK(o.shortest_edge == 0);
        CHECK(o.resample == Resample::bilinear);
        CHECK(o.do_rescale);
        CHECK(o.rescale_factor == Approx(1.0 / 255));
        CHECK_FALSE(o.do_center_crop);
        CHECK(read_preprocessor_config(path.string()).size.width == 224);
    }
    SECTION("CLIP: an integer size is the shortest edge, an integer crop a square") {
        const auto path = dir.write("clip.json", R"({
          "crop_size": 224, "do_center_crop": true, "do_normalize": true, "do_resize": true,
          "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": [0.48145466, 0.4578275, 0.40821073],
          "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3, "size": 224})");
        const auto o = read_preprocessor_config(path.string());
        CHECK(o.shortest_edge == 224);
        CHECK(o.crop_size.height == 224);
        CHECK(o.crop_size.width == 224);
        CHECK(o.resample == Resample::bicubic);
        CHECK(o.image_mean[1] == 0.4578275f);
    }
    SECTION("Swin V2 uses the ViT processor with ImageNet statistics") {
        const auto path = dir.write("swin.json", R"({
          "do_normalize": true, "do_rescale": true, "do_resize": true, "image_mean": [0.485, 0.456, 0.406],
          "image_processor_type": "ViTImageProcessor", "image_std": [0.229, 0.224, 0.225], "resample": 3,
          "rescale_factor": 0.00392156862745098, "size": {"height": 256, "width": 256}})");
        const auto o = read_preprocessor_config(path.string());
        CHECK(o.size.height == 256);
        CHECK(o.resample == Resample::bicubic);
        CHECK(o.image_std[0] == 0.229f);
    }
    SECTION("EfficientNet: nearest, include_top, and null keeps the default") {
        const auto path = dir.write("effnet.json", R"({
          "crop_size": {"height": 289, "width": 289}, "do_center_crop": false, "do_normalize": true,
          "do_rescale": true, "do_resize": true, "image_mean": [0.485, 0.456, 0.406],
          "image_processor_type": "EfficientNetImageProcessor", "image_std": [0.47853944, 0.4732864, 0.47434163],
          "include_top": true, "resample": 0, "rescale_factor": 0.00392156862745098, "rescale_offset": false,
          "size": {"height": 224, "width": 224}, "do_convert_rgb": null, "processor_class": "ignored"})");
        const auto o = read_preprocessor_config(path.string());
        CHECK(o.resample == Resample::nearest);
        CHECK(o.include_top);
        CHECK_FALSE(o.rescale_offset);
        CHECK(o.size.width == 224);
        CHECK(o.crop_size.width == 289);
    }
    SECTION("a [height, width] list and a single mean") {
        const auto path = dir.write("list.json", R"({"image_processor_type": "ViTImageProcessor",
          "size": [120, 80], "image_mean": 0.25})");
        const auto o = read_preprocessor_config(path.string());
        CHECK(o.size.height == 120);
        CHECK(o.size.width == 80);
        CHECK(o.image_mean[2] == 0.25f);
    }
}

TEST_CASE("read_preprocessor_config errors name the file and the key") {
    msa::test::TempDir dir;
    auto error_for = [&](const std::string& json) {
        const auto path = dir.write("preprocessor_config.json", json);
        const std::string message = message_of([&] { read_preprocessor_config(path.string()); });
        CHECK(message.find(path.string()) != std::string::npos);
        return message;
    };
    auto contains = [](const std::string& message, const std::string& part) {
        INFO(message);
        CHECK(message.find(part) != std::string::npos);
    };
    const std::string vit = R"("image_processor_type": "ViTImageProcessor")";

    SECTION("missing file") {
        const auto path = (dir.path() / "nowhere.json").string();
        const std::string message = message_of([&] { read_preprocessor_config(path); });
        contains(message, path);
        contains(message, "no such file");
    }
    SECTION("not JSON") { contains(error_for("{\"size\": 224,"), "not valid JSON"); }
    SECTION("not an object") { contains(error_for("[1, 2]"), "expected a JSON object"); }
    SECTION("no processor type") { contains(error_for(R"({"size": 224})"), "'image_processor_type'"); }
    SECTION("unknown processor type") {
        const std::string message = error_for(R"({"image_processor_type": "DetrImageProcessor"})");
        contains(message, "key 'image_processor_type'");
        contains(message, "accepted: ViTImageProcessor");
    }
    SECTION("a boolean given as a string") {
        const std::string message = error_for("{" + vit + R"(, "do_resize": "yes"})");
        contains(message, "key 'do_resize'");
        contains(message, "expected true or false");
        contains(message, "\"yes\"");
    }
    SECTION("a size of the wrong shape") {
        contains(error_for("{" + vit + R"(, "size": {"longest_edge": 300}})"), "key 'size': unsupported keys");
        contains(error_for("{" + vit + R"(, "size": "224"})"), "key 'size': expected an integer");
        contains(error_for("{" + vit + R"(, "size": {"height": 0, "width": 5}})"), "key 'size.height'");
        contains(error_for("{" + vit + R"(, "crop_size": {"shortest_edge": 5}})"), "key 'crop_size'");
    }
    SECTION("an unknown resample filter") {
        contains(error_for("{" + vit + R"(, "resample": 9})"), "key 'resample'");
        contains(error_for("{" + vit + R"(, "resample": 9})"), "3 bicubic");
    }
    SECTION("a mean with two channels") {
        contains(error_for("{" + vit + R"(, "image_mean": [0.5, 0.5]})"), "key 'image_mean': expected a number or a list of 3");
    }
    SECTION("a rescale factor given as text") {
        contains(error_for("{" + vit + R"(, "rescale_factor": "1/255"})"), "key 'rescale_factor': expected a number");
    }
}

// Real photographs (a wide, a tall and a small one among them) compared through checksums
// of the uint8 pixel values transformers gives (fixtures/images/dataset-checksums.json).
TEST_CASE("preprocess matches transformers on dataset images when the dataset is present") {
    const fs::path data = msa::test::mvsa_ecnu_dir() / "data";
    if (!fs::is_directory(data)) MSA_SKIP(data.string() << " absent (set MSA_SHARED_DIR to the shared folder)");
    const auto doc = nlohmann::json::parse(read_bytes(fixtures / "dataset-checksums.json"));
    for (const auto& entry : doc["images"]) {
        const Image image = decode_image((data / entry["image"].get<std::string>()).string());
        for (const char* config : {"vit-224-raw", "clip-224-raw"}) {
            INFO(entry["image"].get<std::string>() << " with " << config);
            const auto options = read_preprocessor_config((fixtures / "configs" / (std::string(config) + ".json")).string());
            const FloatImage out = preprocess(image, options);
            std::vector<unsigned char> bytes(out.data.size());
            std::transform(out.data.begin(), out.data.end(), bytes.begin(),
                           [](float v) { return static_cast<unsigned char>(v); });
            CHECK(msa::test::fnv1a64(bytes) == entry[config].get<std::string>());
        }
    }
}

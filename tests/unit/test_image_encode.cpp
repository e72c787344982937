// encode_jpeg / write_jpeg: a round trip through decode_image keeps the size and, within
// JPEG's loss, the pixels; the same image gives the same bytes; bad input is refused.
#include "test_helpers.hpp"

#include <msa/error.hpp>
#include <msa/media/image.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

namespace {

using msa::media::Image;

// Smooth colour ramps with a flat square: what JPEG keeps well.
Image test_pattern(int width, int height) {
    Image image{width, height, std::vector<std::uint8_t>(static_cast<std::size_t>(width) * height * 3)};
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            auto* p = &image.rgb[(static_cast<std::size_t>(y) * width + x) * 3];
            const bool square = x >= width / 4 && x < width / 2 && y >= height / 4 && y < height / 2;
            p[0] = square ? 230 : static_cast<std::uint8_t>(255 * x / (width - 1));
            p[1] = square ? 40 : static_cast<std::uint8_t>(255 * y / (height - 1));
            p[2] = square ? 40 : 128;
        }
    return image;
}

} // namespace

TEST_CASE("encode_jpeg round-trips through decode_image") {
    msa::test::TempDir dir;
    const Image original = test_pattern(96, 64); // not a multiple of 16 in height: partial MCU rows
    const auto path = (dir.path() / "pattern.jpg").string();
    msa::media::write_jpeg(original, path, 95);

    const auto info = msa::media::probe_image(path);
    CHECK(info.format == msa::media::ImageFormat::jpeg);
    const Image decoded = msa::media::decode_image(path);
    REQUIRE(decoded.width == original.width);
    REQUIRE(decoded.height == original.height);
    REQUIRE(decoded.rgb.size() == original.rgb.size());
    double total = 0;
    int worst = 0;
    for (std::size_t i = 0; i < original.rgb.size(); ++i) {
        const int diff = std::abs(int(decoded.rgb[i]) - int(original.rgb[i]));
        total += diff;
        worst = std::max(worst, diff);
    }
    const double mean = total / static_cast<double>(original.rgb.size());
    INFO("mean abs difference " << mean << ", worst " << worst);
    CHECK(mean < 3.0);
    CHECK(worst < 80); // chroma subsampling blurs the square's red edge, nothing more
    // Inside the square, far from its edges, the colour is kept.
    const auto* centre = &decoded.rgb[(static_cast<std::size_t>(24) * 96 + 36) * 3];
    CHECK(std::abs(int(centre[0]) - 230) < 8);
    CHECK(std::abs(int(centre[1]) - 40) < 8);
}

TEST_CASE("encode_jpeg gives the same bytes for the same image, fewer at lower quality") {
    const Image image = test_pattern(48, 48);
    const auto a = msa::media::encode_jpeg(image, 90);
    CHECK(a == msa::media::encode_jpeg(image, 90));
    REQUIRE(a.size() > 4);
    CHECK(a[0] == 0xFF);
    CHECK(a[1] == 0xD8);
    CHECK(a[a.size() - 2] == 0xFF);
    CHECK(a[a.size() - 1] == 0xD9);
    CHECK(msa::media::encode_jpeg(image, 20).size() < a.size());
}

TEST_CASE("encode_jpeg refuses empty images, wrong buffers and bad qualities") {
    auto message = [](const Image& image, int quality) {
        try {
            msa::media::encode_jpeg(image, quality);
        } catch (const msa::Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(message(Image{}, 90).find("empty image") != std::string::npos);
    CHECK(message(Image{4, 4, std::vector<std::uint8_t>(10)}, 90).find("needs 48 bytes, got 10") != std::string::npos);
    CHECK(message(test_pattern(8, 8), 0).find("quality 0 is outside 1-100") != std::string::npos);
    msa::test::TempDir dir;
    CHECK_THROWS_WITH(msa::media::write_jpeg(test_pattern(8, 8), (dir.path() / "no" / "such" / "x.jpg").string()),
                      Catch::Contains("cannot write"));
}

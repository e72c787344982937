// decode_image: pixels equal to Pillow's convert("RGB") on every fixture, and an error
// naming the file and the reason for every kind of bad file.
#include "test_helpers.hpp"
#include "test_skip.hpp"

#include <msa/error.hpp>
#include <msa/media/image.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using msa::media::decode_image;
using msa::media::Image;

const fs::path fixtures = fs::path(MSA_FIXTURE_DIR) / "images";

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}


// Catch2 v2 has no matcher for "throws msa::Error whose message contains all of these".
void require_error(const std::string& path, const std::vector<std::string>& parts) {
    try {
        decode_image(path);
        FAIL("no error for " << path);
    } catch (const msa::Error& e) {
        const std::string message = e.what();
        INFO(message);
        CHECK(message.find("image " + path + ": ") == 0);
        for (const auto& part : parts) CHECK(message.find(part) != std::string::npos);
    }
}

} // namespace

TEST_CASE("decode_image matches Pillow on every fixture image") {
    const auto manifest = nlohmann::json::parse(read_bytes(fixtures / "manifest.json"));
    REQUIRE(manifest["decode"].size() >= 10);
    for (const auto& entry : manifest["decode"]) {
        const std::string name = entry["image"];
        SECTION(name) {
            const Image image = decode_image((fixtures / name).string());
            REQUIRE(image.width == entry["width"].get<int>());
            REQUIRE(image.height == entry["height"].get<int>());
            const std::string expected = read_bytes(fixtures / entry["expected"].get<std::string>()); // raw RGB
            REQUIRE(image.rgb.size() == expected.size());
            int worst = 0;
            for (std::size_t i = 0; i < expected.size(); ++i)
                worst = std::max(worst, std::abs(int(image.rgb[i]) - int(static_cast<unsigned char>(expected[i]))));
            INFO(name << ": largest difference from Pillow " << worst);
            CHECK(worst <= 1);
        }
    }
}

TEST_CASE("decode_image detects the format from the content not the name") {
    msa::test::TempDir dir;
    const auto png_named_jpg = dir.write("really-a-png.jpg", read_bytes(fixtures / "alpha.png"));
    const auto jpg_named_png = dir.write("really-a-jpeg.png", read_bytes(fixtures / "grey.jpg"));
    CHECK(decode_image(png_named_jpg.string()).rgb == decode_image((fixtures / "alpha.png").string()).rgb);
    CHECK(decode_image(jpg_named_png.string()).rgb == decode_image((fixtures / "grey.jpg").string()).rgb);
}

TEST_CASE("decode_image rejects truncated and corrupt JPEG files") {
    msa::test::TempDir dir;
    const std::string jpeg = read_bytes(fixtures / "photo.jpg");
    const std::size_t scan = jpeg.find("\xFF\xDA");
    REQUIRE(scan != std::string::npos);

    SECTION("cut in half") {
        require_error(dir.write("half.jpg", jpeg.substr(0, jpeg.size() / 2)).string(),
                      {"corrupt JPEG data", "Premature end of JPEG file"});
    }
    SECTION("only the end-of-image marker missing") {
        require_error(dir.write("no-eoi.jpg", jpeg.substr(0, jpeg.size() - 2)).string(), {"corrupt JPEG data"});
    }
    SECTION("headers without image data") {
        require_error(dir.write("headers.jpg", jpeg.substr(0, scan)).string(), {"corrupt JPEG data", "SOS"});
    }
    SECTION("garbage inside the entropy-coded data") {
        std::string bad = jpeg;
        const std::size_t middle = (scan + jpeg.size()) / 2;
        for (std::size_t i = middle; i < middle + 40; ++i) bad[i] = '\xFF';
        require_error(dir.write("garbage.jpg", bad).string(), {"corrupt JPEG data"});
    }
    SECTION("a bad marker length") {
        std::string bad = jpeg;
        const std::size_t sof = jpeg.find("\xFF\xC0");
        REQUIRE(sof != std::string::npos);
        bad[sof + 2] = '\0';
        bad[sof + 3] = '\1';
        require_error(dir.write("marker.jpg", bad).string(), {"corrupt JPEG data"});
    }
    SECTION("the JPEG signature followed by junk") {
        require_error(dir.write("junk.jpg", std::string("\xFF\xD8\xFF") + "not a jpeg at all").string(),
                      {"corrupt JPEG data"});
    }
}

// The decoder is reused per thread; a failure must not poison it.
TEST_CASE("decode_image decodes normally right after a corrupt file") {
    msa::test::TempDir dir;
    std::string bad = read_bytes(fixtures / "photo.jpg");
    const std::size_t sof = bad.find("\xFF\xC0");
    REQUIRE(sof != std::string::npos);
    bad[sof + 2] = '\0';
    bad[sof + 3] = '\1';
    const auto path = dir.write("bad.jpg", bad).string();
    const auto cut = dir.write("cut.jpg", read_bytes(fixtures / "grey.jpg").substr(0, 300)).string();
    const std::vector<unsigned char> good = decode_image((fixtures / "photo.jpg").string()).rgb;
    for (int i = 0; i < 2; ++i) {
        CHECK_THROWS_AS(decode_image(path), msa::Error);
        CHECK(decode_image((fixtures / "photo.jpg").string()).rgb == good);
        CHECK_THROWS_AS(decode_image(cut), msa::Error);
        CHECK(decode_image((fixtures / "photo.jpg").string()).rgb == good);
    }
}

TEST_CASE("decode_image rejects truncated and corrupt PNG files") {
    msa::test::TempDir dir;
    const std::string png = read_bytes(fixtures / "alpha.png");
    SECTION("cut in half") {
        require_error(dir.write("half.png", png.substr(0, png.size() / 2)).string(), {"corrupt PNG data", "truncated"});
    }
    SECTION("the signature alone") {
        require_error(dir.write("signature.png", png.substr(0, 8)).string(), {"corrupt PNG data"});
    }
    SECTION("a header checksum that does not match") {
        std::string bad = png;
        bad[29] ^= 0x55; // IHDR's CRC: 8 signature + 8 chunk head + 13 data bytes
        require_error(dir.write("crc.png", bad).string(), {"corrupt PNG data", "CRC"});
    }
    SECTION("damaged compressed data") {
        std::string bad = png;
        const std::size_t idat = png.find("IDAT");
        REQUIRE(idat != std::string::npos);
        for (std::size_t i = idat + 10; i < idat + 30; ++i) bad[i] = static_cast<char>(bad[i] ^ 0xA5);
        require_error(dir.write("idat.png", bad).string(), {"corrupt PNG data"});
    }
}

TEST_CASE("decode_image names unsupported and unknown image formats") {
    msa::test::TempDir dir;
    SECTION("GIF") {
        require_error(dir.write("a.gif", std::string("GIF89a\x01\x00\x01\x00\x80\x00\x00", 13)).string(),
                      {"unsupported format GIF", "accepted: JPEG, PNG"});
    }
    SECTION("WebP") {
        require_error(dir.write("a.webp", std::string("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00", 20)).string(),
                      {"unsupported format WebP", "accepted: JPEG, PNG"});
    }
    SECTION("BMP") {
        require_error(dir.write("a.bmp", std::string("BM\x3a\x00\x00\x00\x00\x00", 8)).string(),
                      {"unsupported format BMP", "accepted: JPEG, PNG"});
    }
    SECTION("text") {
        require_error(dir.write("a.jpg", "<html>not an image</html>").string(),
                      {"unknown format", "3c 68 74 6d", "accepted: JPEG, PNG"});
    }
}

TEST_CASE("decode_image reports empty, missing and unreadable paths") {
    msa::test::TempDir dir;
    SECTION("empty file") { require_error(dir.write("empty.jpg", "").string(), {"empty file"}); }
    SECTION("missing file") { require_error((dir.path() / "missing.jpg").string(), {"no such file"}); }
    SECTION("a folder") { require_error(dir.path().string(), {"folder"}); }
}

// Real photographs from the shared dataset, compared through checksums of Pillow's pixels
// (fixtures/images/dataset-checksums.json): nothing else from the dataset is committed.
TEST_CASE("decode_image matches Pillow on dataset images when the dataset is present") {
    const fs::path data = msa::test::mvsa_ecnu_dir() / "data";
    if (!fs::is_directory(data)) MSA_SKIP(data.string() << " absent (set MSA_SHARED_DIR to the shared folder)");
    const auto doc = nlohmann::json::parse(read_bytes(fixtures / "dataset-checksums.json"));
    REQUIRE(!doc["images"].empty());
    for (const auto& entry : doc["images"]) {
        const std::string name = entry["image"];
        INFO(name);
        const Image image = decode_image((data / name).string());
        CHECK(image.width == entry["width"].get<int>());
        CHECK(image.height == entry["height"].get<int>());
        CHECK(msa::test::fnv1a64(image.rgb) == entry["rgb"].get<std::string>());
    }
}

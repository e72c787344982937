// probe_image: format by content, size from the header, truncation and corruption caught.
#include "test_helpers.hpp"
#include "test_skip.hpp"

#include <msa/error.hpp>
#include <msa/media/image.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>

namespace msa::test {

// A valid 16x8 baseline JPEG (libjpeg, quality 50, optimised Huffman tables, no JFIF
// segment): SOI, two DQT, SOF0 at byte 140 (height at 145, width at 147), four DHT,
// SOS, scan data, EOI. Also used by test_dataset_readers.cpp.
std::string tiny_jpeg() {
    static const unsigned char bytes[] = {
        0xff, 0xd8, 0xff, 0xdb, 0x00, 0x43, 0x00, 0x10, 0x0b, 0x0c, 0x0e, 0x0c, 0x0a, 0x10, 0x0e, 0x0d, 0x0e, 0x12,
        0x11, 0x10, 0x13, 0x18, 0x28, 0x1a, 0x18, 0x16, 0x16, 0x18, 0x31, 0x23, 0x25, 0x1d, 0x28, 0x3a, 0x33, 0x3d,
        0x3c, 0x39, 0x33, 0x38, 0x37, 0x40, 0x48, 0x5c, 0x4e, 0x40, 0x44, 0x57, 0x45, 0x37, 0x38, 0x50, 0x6d, 0x51,
        0x57, 0x5f, 0x62, 0x67, 0x68, 0x67, 0x3e, 0x4d, 0x71, 0x79, 0x70, 0x64, 0x78, 0x5c, 0x65, 0x67, 0x63, 0xff,
        0xdb, 0x00, 0x43, 0x01, 0x11, 0x12, 0x12, 0x18, 0x15, 0x18, 0x2f, 0x1a, 0x1a, 0x2f, 0x63, 0x42, 0x38, 0x42,
        0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63,
        0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63,
        0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63, 0xff, 0xc0, 0x00, 0x11,
        0x08, 0x00, 0x08, 0x00, 0x10, 0x03, 0x01, 0x11, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xff, 0xc4, 0x00,
        0x15, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x04, 0x05, 0xff, 0xc4, 0x00, 0x18, 0x10, 0x00, 0x02, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x05, 0x22, 0x31, 0xff, 0xc4, 0x00, 0x15, 0x01, 0x01, 0x01, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x04, 0xff, 0xc4, 0x00,
        0x17, 0x11, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x04, 0x00, 0x02, 0x61, 0xff, 0xda, 0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3f, 0x00,
        0x22, 0xf0, 0x59, 0x41, 0x9d, 0xae, 0x38, 0xee, 0xed, 0x4d, 0x78, 0x2c, 0xa1, 0x2e, 0xd7, 0x3e, 0x77, 0x76,
        0xff, 0xd9};
    return std::string(reinterpret_cast<const char*>(bytes), sizeof bytes);
}

// A valid 3x2 RGB PNG (libpng): signature, IHDR, IDAT, IEND.
std::string tiny_png() {
    static const unsigned char bytes[] = {
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
        0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0x12, 0x16, 0xf1,
        0x4d, 0x00, 0x00, 0x00, 0x16, 0x49, 0x44, 0x41, 0x54, 0x08, 0x99, 0x63, 0xf8, 0xcf, 0xc0, 0xc0,
        0xf0, 0x9f, 0x81, 0x81, 0xe1, 0x3f, 0x13, 0x03, 0x0c, 0x00, 0x00, 0x2c, 0xfb, 0x03, 0x00, 0xfa,
        0xd9, 0xa4, 0xba, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
    return std::string(reinterpret_cast<const char*>(bytes), sizeof bytes);
}

// The header of a 5x7 GIF; enough for probing, not for decoding.
std::string tiny_gif() { return std::string("GIF89a\x05\x00\x07\x00\x80\x00\x00", 13) + std::string(20, '\0'); }

// A lossless WebP header of a 9x4 image (VP8L: 14 bits width-1, 14 bits height-1).
std::string tiny_webp() {
    std::string s = "RIFF" + std::string("\x1a\x00\x00\x00", 4) + "WEBPVP8L" + std::string("\x0e\x00\x00\x00", 4);
    const std::uint32_t bits = (9 - 1) | (4 - 1) << 14;
    s += '\x2f';
    for (int i = 0; i < 4; ++i) s += char((bits >> (8 * i)) & 0xFF);
    return s + std::string(10, '\0');
}

// A 2x3 24-bit BMP header (BITMAPINFOHEADER, bottom-up).
std::string tiny_bmp() {
    std::string s = "BM" + std::string(12, '\0');
    const auto le32 = [&](std::uint32_t v) {
        for (int i = 0; i < 4; ++i) s += char((v >> (8 * i)) & 0xFF);
    };
    le32(40);
    le32(2);
    le32(3);
    return s + std::string(30, '\0');
}

} // namespace msa::test

namespace {

using msa::media::ImageFormat;
using msa::media::probe_image;
using msa::test::TempDir;

std::string probe_error(const std::filesystem::path& file) {
    try {
        probe_image(file.string());
    } catch (const msa::Error& e) {
        return e.what();
    }
    return "(no error)";
}

std::string with_byte(const std::string& bytes, std::size_t at, char value) {
    std::string changed(bytes);
    changed.at(at) = value;
    return changed;
}

} // namespace

TEST_CASE("probe_image reads a JPEG's size from its SOF segment", "[image_probe]") {
    TempDir dir;
    const auto info = probe_image(dir.write("a.jpg", msa::test::tiny_jpeg()).string());
    CHECK(info.format == ImageFormat::jpeg);
    CHECK(info.width == 16);
    CHECK(info.height == 8);
}

TEST_CASE("probe_image accepts a JPEG padded with zero bytes after EOI", "[image_probe]") {
    TempDir dir;
    const auto info = probe_image(dir.write("a.jpg", msa::test::tiny_jpeg() + std::string(5000, '\0')).string());
    CHECK(info.format == ImageFormat::jpeg);
    CHECK(info.width == 16);
}

TEST_CASE("probe_image calls a JPEG without EOI truncated", "[image_probe]") {
    TempDir dir;
    const auto file = dir.write("cut.jpg", msa::test::tiny_jpeg().substr(0, 250));
    const std::string message = probe_error(file);
    CHECK_THAT(message, Catch::Contains(file.string()));
    CHECK_THAT(message, Catch::Contains("truncated"));
    CHECK_THAT(message, Catch::Contains("FF D9"));
}

TEST_CASE("probe_image calls a JPEG cut before its frame header truncated", "[image_probe]") {
    TempDir dir;
    const std::string message = probe_error(dir.write("cut.jpg", msa::test::tiny_jpeg().substr(0, 100)));
    CHECK_THAT(message, Catch::Contains("truncated"));
    CHECK_THAT(message, Catch::Contains("SOF"));
}

TEST_CASE("probe_image calls a JPEG of size 0 corrupt", "[image_probe]") {
    TempDir dir;
    std::string jpeg = msa::test::tiny_jpeg();
    jpeg[145] = jpeg[146] = 0; // height
    const std::string message = probe_error(dir.write("zero.jpg", jpeg));
    CHECK_THAT(message, Catch::Contains("corrupt"));
    CHECK_THAT(message, Catch::Contains("16x0"));
}

TEST_CASE("probe_image calls a JPEG with a broken marker corrupt", "[image_probe]") {
    TempDir dir;
    const std::string message = probe_error(dir.write("bad.jpg", with_byte(msa::test::tiny_jpeg(), 71, '\x12')));
    CHECK_THAT(message, Catch::Contains("corrupt"));
    CHECK_THAT(message, Catch::Contains("byte 71"));
}

TEST_CASE("probe_image calls an empty file corrupt", "[image_probe]") {
    TempDir dir;
    const std::string message = probe_error(dir.write("empty.jpg", ""));
    CHECK_THAT(message, Catch::Contains("corrupt"));
    CHECK_THAT(message, Catch::Contains("empty"));
}

TEST_CASE("probe_image names a missing file", "[image_probe]") {
    TempDir dir;
    const std::string message = probe_error(dir.path() / "nothing.jpg");
    CHECK_THAT(message, Catch::Contains("nothing.jpg"));
    CHECK_THAT(message, Catch::Contains("not found"));
}

TEST_CASE("probe_image reads a PNG's size from IHDR", "[image_probe]") {
    TempDir dir;
    const auto info = probe_image(dir.write("a.png", msa::test::tiny_png()).string());
    CHECK(info.format == ImageFormat::png);
    CHECK(info.width == 3);
    CHECK(info.height == 2);
}

TEST_CASE("probe_image calls a PNG without IEND truncated", "[image_probe]") {
    TempDir dir;
    const std::string png = msa::test::tiny_png();
    const std::string message = probe_error(dir.write("cut.png", png.substr(0, png.size() - 12)));
    CHECK_THAT(message, Catch::Contains("truncated"));
    CHECK_THAT(message, Catch::Contains("IEND"));
}

TEST_CASE("probe_image calls a PNG of width 0 corrupt", "[image_probe]") {
    TempDir dir;
    const std::string message = probe_error(dir.write("zero.png", with_byte(msa::test::tiny_png(), 19, '\0')));
    CHECK_THAT(message, Catch::Contains("corrupt"));
    CHECK_THAT(message, Catch::Contains("0x2"));
}

TEST_CASE("probe_image goes by content, not by the file name", "[image_probe]") {
    TempDir dir;
    const auto info = probe_image(dir.write("really-a-png.jpg", msa::test::tiny_png()).string());
    CHECK(info.format == ImageFormat::png);
}

TEST_CASE("probe_image recognises GIF, WebP and BMP", "[image_probe]") {
    TempDir dir;
    const auto gif = probe_image(dir.write("a.gif", msa::test::tiny_gif()).string());
    CHECK(gif.format == ImageFormat::gif);
    CHECK((gif.width == 5 && gif.height == 7));
    const auto webp = probe_image(dir.write("a.webp", msa::test::tiny_webp()).string());
    CHECK(webp.format == ImageFormat::webp);
    CHECK((webp.width == 9 && webp.height == 4));
    const auto bmp = probe_image(dir.write("a.bmp", msa::test::tiny_bmp()).string());
    CHECK(bmp.format == ImageFormat::bmp);
    CHECK((bmp.width == 2 && bmp.height == 3));
}

TEST_CASE("probe_image says a text file is not an image and what is accepted", "[image_probe]") {
    TempDir dir;
    const std::string message = probe_error(dir.write("page.jpg", "<html><body>404</body></html>"));
    CHECK_THAT(message, Catch::Contains("not an image"));
    CHECK_THAT(message, Catch::Contains("JPEG and PNG are accepted"));
}

TEST_CASE("probe_image reads every mvsa-ecnu image header", "[image_probe][mvsa-ecnu]") {
    namespace fs = std::filesystem;
    const fs::path root = msa::test::mvsa_ecnu_dir();
    if (!fs::exists(root / "data")) MSA_SKIP("mvsa-ecnu not found at " << root.string() << " (set MSA_SHARED_DIR)");
    std::size_t images = 0;
    int min_w = 1 << 30, max_w = 0, min_h = 1 << 30, max_h = 0;
    for (const auto& entry : fs::directory_iterator(root / "data")) {
        if (entry.path().extension() != ".jpg") continue;
        const auto info = probe_image(entry.path().string());
        REQUIRE(info.format == ImageFormat::jpeg);
        min_w = std::min(min_w, info.width), max_w = std::max(max_w, info.width);
        min_h = std::min(min_h, info.height), max_h = std::max(max_h, info.height);
        ++images;
    }
    CHECK(images == 4869);
    // The ranges the dataset's README states.
    CHECK((min_w == 48 && max_w == 600));
    CHECK((min_h == 48 && max_h == 1199));
}

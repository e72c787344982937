// is_valid_utf8 and decode_text: UTF-8 checks, GB18030 and named encodings, the real texts.
#include "test_helpers.hpp"
#include "test_skip.hpp"

#include <msa/error.hpp>
#include <msa/media/text.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace {

using msa::media::decode_text;
using msa::media::is_valid_utf8;

std::string decode_error(const std::string& bytes, const std::string& encoding) {
    try {
        decode_text(bytes, encoding);
    } catch (const msa::Error& e) {
        return e.what();
    }
    return "(no error)";
}

std::filesystem::path mvsa_ecnu_root() { return msa::test::mvsa_ecnu_dir(); }

std::string read_bytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

const std::string kGbkChinese = "\xD6\xD0\xCE\xC4"; // 中文 in GBK / GB18030
const std::string kUtf8Chinese = "\xE4\xB8\xAD\xE6\x96\x87";

} // namespace

TEST_CASE("is_valid_utf8 accepts ASCII and well-formed multibyte text", "[text]") {
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("RT @user: #gym"));
    CHECK(is_valid_utf8(kUtf8Chinese));
    CHECK(is_valid_utf8("\xF0\x9F\x98\x80")); // U+1F600
    CHECK(is_valid_utf8("\xF4\x8F\xBF\xBF")); // U+10FFFF
}

TEST_CASE("is_valid_utf8 rejects overlong forms, surrogates and out-of-range code points", "[text]") {
    CHECK_FALSE(is_valid_utf8("\xC0\xAF"));         // overlong '/'
    CHECK_FALSE(is_valid_utf8("\xE0\x80\xAF"));     // overlong '/'
    CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));     // U+D800, a surrogate
    CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80")); // above U+10FFFF
    CHECK_FALSE(is_valid_utf8("\xF5\x80\x80\x80"));
}

TEST_CASE("is_valid_utf8 rejects cut and stray bytes", "[text]") {
    CHECK_FALSE(is_valid_utf8("abc\xE4\xB8"));
    CHECK_FALSE(is_valid_utf8("\x80"));
    CHECK_FALSE(is_valid_utf8(kGbkChinese));
}

TEST_CASE("decode_text passes UTF-8 through and drops a byte order mark", "[text]") {
    CHECK(decode_text(kUtf8Chinese, "utf-8") == kUtf8Chinese);
    CHECK(decode_text("\xEF\xBB\xBFhi", "UTF-8") == "hi");
    CHECK(decode_text("\xEF\xBB\xBFhi", "auto") == "hi");
}

TEST_CASE("decode_text auto reads valid UTF-8 as UTF-8 and anything else as GB18030", "[text]") {
    CHECK(decode_text(kUtf8Chinese, "auto") == kUtf8Chinese);
    CHECK(decode_text(kGbkChinese, "auto") == kUtf8Chinese);
    CHECK(decode_text("plain ascii", "auto") == "plain ascii");
}

TEST_CASE("decode_text reads named encodings with iconv", "[text]") {
    CHECK(decode_text(kGbkChinese, "gb18030") == kUtf8Chinese);
    CHECK(decode_text(kGbkChinese, "GBK") == kUtf8Chinese);
    CHECK(decode_text("caf\xE9", "latin1") == "caf\xC3\xA9");
    CHECK(decode_text("\x80", "cp1252") == "\xE2\x82\xAC"); // the euro sign
}

TEST_CASE("decode_text gives the byte offset of invalid UTF-8", "[text]") {
    const std::string message = decode_error("abc\xFF", "utf-8");
    CHECK_THAT(message, Catch::Contains("not valid UTF-8"));
    CHECK_THAT(message, Catch::Contains("byte offset 3"));
}

TEST_CASE("decode_text gives the byte offset of a cut GB18030 character", "[text]") {
    const std::string message = decode_error("ab\xD6", "gb18030");
    CHECK_THAT(message, Catch::Contains("gb18030"));
    CHECK_THAT(message, Catch::Contains("byte offset 2"));
}

TEST_CASE("decode_text auto says when a text is neither UTF-8 nor GB18030", "[text]") {
    const std::string message = decode_error("ok\xFF\xFF", "auto");
    CHECK_THAT(message, Catch::Contains("neither UTF-8"));
    CHECK_THAT(message, Catch::Contains("byte offset 2"));
}

TEST_CASE("decode_text names an encoding iconv does not know", "[text]") {
    const std::string message = decode_error("abc", "klingon-8");
    CHECK_THAT(message, Catch::Contains("klingon-8"));
    CHECK_THAT(message, Catch::Contains("gb18030"));
}

TEST_CASE("every mvsa-ecnu text decodes", "[text][mvsa-ecnu]") {
    namespace fs = std::filesystem;
    const fs::path data = mvsa_ecnu_root() / "data";
    if (!fs::exists(data))
        MSA_SKIP("mvsa-ecnu not found at " << data.parent_path().string() << " (set MSA_SHARED_DIR)");
    std::size_t texts = 0, ascii = 0, utf8 = 0;
    for (const auto& entry : fs::directory_iterator(data)) {
        if (entry.path().extension() != ".txt") continue;
        const std::string bytes = read_bytes(entry.path());
        INFO(entry.path().string());
        const std::string gb = decode_text(bytes, "gb18030");
        const std::string automatic = decode_text(bytes, "auto");
        CHECK(is_valid_utf8(gb));
        CHECK(is_valid_utf8(automatic));
        ++texts;
        if (std::all_of(bytes.begin(), bytes.end(), [](unsigned char c) { return c < 0x80; }))
            ++ascii;
        else if (is_valid_utf8(bytes))
            ++utf8;
    }
    // The counts the dataset's README states: 3,736 ASCII, 1,131 GBK, of which 2 are
    // valid UTF-8 by accident.
    CHECK(texts == 4869);
    CHECK(ascii == 3736);
    CHECK(utf8 == 2);
}

TEST_CASE("the two mvsa-ecnu texts that are UTF-8 by accident read right as GB18030", "[text][mvsa-ecnu]") {
    namespace fs = std::filesystem;
    const fs::path data = mvsa_ecnu_root() / "data";
    if (!fs::exists(data))
        MSA_SKIP("mvsa-ecnu not found at " << data.parent_path().string() << " (set MSA_SHARED_DIR)");
    const std::string bytes = read_bytes(data / "4499.txt");
    CHECK(is_valid_utf8(bytes));
    CHECK_THAT(decode_text(bytes, "gb18030"), Catch::Contains("(\xE7\xAC\x91)")); // (笑), "laugh"
}

// Text decoding: raw file bytes to UTF-8, with glibc iconv for everything but UTF-8.
#include <msa/error.hpp>
#include <msa/media/text.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <iconv.h>
#include <string>

namespace msa::media {
namespace {

// Offset of the first byte that is not part of well-formed UTF-8, or npos.
std::size_t first_invalid_utf8(std::string_view bytes) {
    const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
    const std::size_t n = bytes.size();
    std::size_t i = 0;
    while (i < n) {
        const unsigned char c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        unsigned char lo = 0x80, hi = 0xBF; // allowed range of the second byte (RFC 3629 table)
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0) lo = 0xA0; // no overlong forms
            if (c == 0xED) hi = 0x9F; // no surrogates
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0) lo = 0x90; // no overlong forms
            if (c == 0xF4) hi = 0x8F; // nothing above U+10FFFF
        } else {
            return i; // continuation byte without a lead, C0/C1 (overlong) or F5..FF
        }
        if (i + len > n) return i;
        if (s[i + 1] < lo || s[i + 1] > hi) return i;
        for (std::size_t k = 2; k < len; ++k)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
        i += len;
    }
    return std::string_view::npos;
}

std::string lowercase(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

bool is_utf8_name(const std::string& name) {
    const std::string n = lowercase(name);
    return n == "utf-8" || n == "utf8";
}

std::string strip_bom(std::string_view bytes) {
    if (bytes.size() >= 3 && bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
    return std::string(bytes);
}

std::string decode_utf8(std::string_view bytes) {
    const std::size_t bad = first_invalid_utf8(bytes);
    if (bad != std::string_view::npos)
        throw Error("text is not valid UTF-8 at byte offset " + std::to_string(bad) +
                    " (set the encoding, e.g. \"gb18030\", \"latin1\", or \"auto\")");
    return strip_bom(bytes);
}

// iconv's descriptor holds conversion state, so each call opens its own.
class Iconv {
public:
    explicit Iconv(const std::string& from) : cd_(iconv_open("UTF-8", from.c_str())) {
        if (cd_ == reinterpret_cast<iconv_t>(-1))
            throw Error("unknown text encoding '" + from +
                        "' (iconv does not know it); accepted: \"auto\", \"utf-8\", \"gb18030\", \"gbk\", \"big5\", "
                        "\"latin1\", \"cp1252\", or any name `iconv -l` lists");
    }
    ~Iconv() { iconv_close(cd_); }
    Iconv(const Iconv&) = delete;
    Iconv& operator=(const Iconv&) = delete;
    iconv_t get() const { return cd_; }

private:
    iconv_t cd_;
};

// Converts `bytes` into `out`; on malformed input returns false with the byte offset
// of the first bad sequence.
bool convert(std::string_view bytes, const std::string& encoding, std::string& out, std::size_t& bad_offset) {
    Iconv cd(encoding);
    out.assign(bytes.size() * 2 + 16, '\0'); // GB18030 grows at most 1.5x; grows below when a codec needs more
    char* in = const_cast<char*>(bytes.data());
    std::size_t in_left = bytes.size();
    char* dst = out.data();
    std::size_t out_left = out.size();
    while (in_left > 0) {
        if (iconv(cd.get(), &in, &in_left, &dst, &out_left) != static_cast<std::size_t>(-1)) break;
        if (errno != E2BIG) { // EILSEQ: invalid sequence; EINVAL: incomplete one at the end
            bad_offset = bytes.size() - in_left;
            return false;
        }
        const std::size_t used = out.size() - out_left;
        out.resize(out.size() * 2);
        dst = out.data() + used;
        out_left = out.size() - used;
    }
    iconv(cd.get(), nullptr, nullptr, &dst, &out_left); // a stateful codec's closing shift sequence
    out.resize(out.size() - out_left);
    out = strip_bom(out);
    return true;
}

} // namespace

bool is_valid_utf8(std::string_view bytes) { return first_invalid_utf8(bytes) == std::string_view::npos; }

std::string decode_text(std::string_view bytes, const std::string& encoding) {
    std::string out;
    std::size_t bad = 0;
    if (lowercase(encoding) == "auto") {
        const std::size_t bad_utf8 = first_invalid_utf8(bytes);
        if (bad_utf8 == std::string_view::npos) return strip_bom(bytes);
        if (convert(bytes, "GB18030", out, bad)) return out;
        throw Error("text is neither UTF-8 (invalid at byte offset " + std::to_string(bad_utf8) +
                    ") nor GB18030 (invalid at byte offset " + std::to_string(bad) +
                    "); set the encoding to the one the texts use, e.g. \"latin1\" or \"big5\"");
    }
    if (is_utf8_name(encoding)) return decode_utf8(bytes);
    if (convert(bytes, encoding, out, bad)) return out;
    throw Error("text is not valid " + encoding + " at byte offset " + std::to_string(bad) +
                " (set the encoding to the one the texts use, or \"auto\" for UTF-8 else GB18030)");
}

} // namespace msa::media

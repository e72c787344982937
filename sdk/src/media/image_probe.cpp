// Image probing: format by magic bytes, size from the header, and a truncation check,
// reading only the first segments and the last bytes of the file.
#include <msa/error.hpp>
#include <msa/media/image.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <sys/stat.h>

namespace msa::media {
namespace {

// Every failure reads "<path>: <kind>: <reason>", the kind one of these (or "image not
// found"), so that callers and people can tell a cut-off download from a damaged header
// from a file that is no image at all.
constexpr const char* kTruncated = "truncated";
constexpr const char* kCorrupt = "corrupt";
constexpr const char* kNotImage = "not an image";

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

class Reader {
public:
    Reader(const std::string& path, std::FILE* f, std::int64_t size) : path_(path), f_(f), size_(size) {}

    std::int64_t size() const { return size_; }

    // Reads `n` bytes at `offset`; false when the file ends first.
    bool read(std::int64_t offset, void* dst, std::size_t n) const {
        if (offset < 0 || offset + std::int64_t(n) > size_) return false;
        if (std::fseek(f_, long(offset), SEEK_SET) != 0) return false;
        return std::fread(dst, 1, n, f_) == n;
    }

    [[noreturn]] void fail(const char* kind, const std::string& reason) const {
        throw Error(path_ + ": " + kind + ": " + reason);
    }

private:
    const std::string& path_;
    std::FILE* f_;
    std::int64_t size_;
};

std::uint32_t be16(const unsigned char* p) { return std::uint32_t(p[0]) << 8 | p[1]; }
std::uint32_t be32(const unsigned char* p) { return be16(p) << 16 | be16(p + 2); }
std::uint32_t le16(const unsigned char* p) { return std::uint32_t(p[1]) << 8 | p[0]; }
std::uint32_t le24(const unsigned char* p) { return le16(p) | std::uint32_t(p[2]) << 16; }
std::uint32_t le32(const unsigned char* p) { return le16(p) | le16(p + 2) << 16; }

ImageFormat sniff(const unsigned char* h, std::size_t n) {
    if (n >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF) return ImageFormat::jpeg;
    if (n >= 8 && std::memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0) return ImageFormat::png;
    if (n >= 6 && (std::memcmp(h, "GIF87a", 6) == 0 || std::memcmp(h, "GIF89a", 6) == 0)) return ImageFormat::gif;
    if (n >= 12 && std::memcmp(h, "RIFF", 4) == 0 && std::memcmp(h + 8, "WEBP", 4) == 0) return ImageFormat::webp;
    if (n >= 18 && h[0] == 'B' && h[1] == 'M') { // "BM" alone is too weak: check the DIB header size too
        switch (le32(h + 14)) {
        case 12:
        case 40:
        case 52:
        case 56:
        case 64:
        case 108:
        case 124: return ImageFormat::bmp;
        default: break;
        }
    }
    return ImageFormat::unknown;
}

std::string hex_bytes(const unsigned char* p, std::size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
        if (i) s += ' ';
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}

// The last non-zero bytes must be the EOI marker: a download cut short ends mid-scan.
// Trailing zero bytes are padding some writers add, and are allowed.
void check_jpeg_end(const Reader& r) {
    unsigned char buf[4096];
    std::int64_t end = r.size();
    while (end > 0) {
        const std::int64_t begin = end > std::int64_t(sizeof buf) ? end - std::int64_t(sizeof buf) : 0;
        const std::size_t n = std::size_t(end - begin);
        if (!r.read(begin, buf, n)) r.fail(kTruncated, "cannot read the end of the file");
        std::size_t i = n;
        while (i > 0 && buf[i - 1] == 0) --i;
        if (i == 0) {
            end = begin;
            continue;
        }
        unsigned char last[2] = {0, buf[i - 1]};
        if (i >= 2)
            last[0] = buf[i - 2];
        else if (begin > 0 && !r.read(begin - 1, last, 1))
            r.fail(kTruncated, "cannot read the end of the file");
        if (last[0] == 0xFF && last[1] == 0xD9) return;
        r.fail(kTruncated, "JPEG does not end with the end-of-image marker FF D9 (it ends with " + hex_bytes(last, 2) +
                               "); the file was probably cut short");
    }
    r.fail(kTruncated, "JPEG holds only zero bytes after its header");
}

ImageInfo probe_jpeg(const Reader& r) {
    ImageInfo info{ImageFormat::jpeg, 0, 0};
    std::int64_t pos = 2;
    for (;;) {
        unsigned char m[2];
        if (!r.read(pos, m, 2)) r.fail(kTruncated, "JPEG ends before its frame header (SOF)");
        if (m[0] != 0xFF)
            r.fail(kCorrupt, "JPEG marker expected at byte " + std::to_string(pos) + ", found " + hex_bytes(m, 2));
        // Any number of 0xFF fill bytes may precede a marker code.
        while (m[1] == 0xFF) {
            ++pos;
            if (!r.read(pos + 1, &m[1], 1)) r.fail(kTruncated, "JPEG ends before its frame header (SOF)");
        }
        const unsigned char code = m[1];
        pos += 2;
        if (code == 0x01 || (code >= 0xD0 && code <= 0xD7)) continue; // TEM, RSTn: no payload
        if (code == 0xD9 || code == 0xDA || code == 0xD8 || code == 0x00)
            r.fail(kCorrupt, "JPEG has no frame header (SOF) before marker FF " + hex_bytes(&code, 1));
        unsigned char len_bytes[2];
        if (!r.read(pos, len_bytes, 2)) r.fail(kTruncated, "JPEG ends inside a segment header");
        const std::uint32_t len = be16(len_bytes);
        if (len < 2) r.fail(kCorrupt, "JPEG segment FF " + hex_bytes(&code, 1) + " has length " + std::to_string(len));
        // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC), which share the range.
        if (code >= 0xC0 && code <= 0xCF && code != 0xC4 && code != 0xC8 && code != 0xCC) {
            unsigned char sof[6];
            if (len < 8 || !r.read(pos + 2, sof, 6)) r.fail(kTruncated, "JPEG ends inside its frame header (SOF)");
            info.height = int(be16(sof + 1));
            info.width = int(be16(sof + 3));
            if (info.width == 0 || info.height == 0)
                r.fail(kCorrupt, "JPEG frame header gives size " + std::to_string(info.width) + "x" +
                                     std::to_string(info.height));
            if (sof[5] != 1 && sof[5] != 3 && sof[5] != 4)
                r.fail(kCorrupt,
                       "JPEG frame header gives " + std::to_string(sof[5]) + " components (1, 3 or 4 expected)");
            break;
        }
        pos += len;
    }
    check_jpeg_end(r);
    return info;
}

ImageInfo probe_png(const Reader& r) {
    unsigned char h[24];
    if (!r.read(0, h, sizeof h)) r.fail(kTruncated, "PNG ends inside its header (IHDR)");
    if (std::memcmp(h + 12, "IHDR", 4) != 0 || be32(h + 8) != 13)
        r.fail(kCorrupt, "PNG does not start with an IHDR chunk");
    ImageInfo info{ImageFormat::png, int(be32(h + 16) & 0x7FFFFFFF), int(be32(h + 20) & 0x7FFFFFFF)};
    if (be32(h + 16) == 0 || be32(h + 20) == 0 || be32(h + 16) > 0x7FFFFFFF || be32(h + 20) > 0x7FFFFFFF)
        r.fail(kCorrupt, "PNG header gives size " + std::to_string(be32(h + 16)) + "x" + std::to_string(be32(h + 20)));
    // The IEND chunk (empty, fixed CRC) closes every complete PNG.
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    unsigned char tail[12];
    if (r.size() < 8 + 25 + 12 || !r.read(r.size() - 12, tail, 12) || std::memcmp(tail, iend, 12) != 0)
        r.fail(kTruncated, "PNG does not end with an IEND chunk; the file was probably cut short");
    return info;
}

ImageInfo probe_gif(const Reader& r) {
    unsigned char h[10];
    if (!r.read(0, h, sizeof h)) r.fail(kTruncated, "GIF ends inside its header");
    return {ImageFormat::gif, int(le16(h + 6)), int(le16(h + 8))};
}

ImageInfo probe_webp(const Reader& r) {
    unsigned char h[30];
    if (!r.read(0, h, sizeof h)) r.fail(kTruncated, "WebP ends inside its header");
    ImageInfo info{ImageFormat::webp, 0, 0};
    if (std::memcmp(h + 12, "VP8 ", 4) == 0) { // lossy: frame tag (3), start code 9d 01 2a, 14-bit sizes
        info.width = int(le16(h + 26) & 0x3FFF);
        info.height = int(le16(h + 28) & 0x3FFF);
    } else if (std::memcmp(h + 12, "VP8L", 4) == 0) { // lossless: 0x2f, then 14 bits width-1, 14 bits height-1
        const std::uint32_t bits = le32(h + 21);
        info.width = int(bits & 0x3FFF) + 1;
        info.height = int((bits >> 14) & 0x3FFF) + 1;
    } else if (std::memcmp(h + 12, "VP8X", 4) == 0) { // extended: 24-bit canvas width-1, height-1
        info.width = int(le24(h + 24)) + 1;
        info.height = int(le24(h + 27)) + 1;
    }
    return info;
}

ImageInfo probe_bmp(const Reader& r) {
    unsigned char h[26];
    if (!r.read(0, h, 18)) r.fail(kTruncated, "BMP ends inside its header");
    ImageInfo info{ImageFormat::bmp, 0, 0};
    if (le32(h + 14) == 12) { // OS/2 BITMAPCOREHEADER: 16-bit sizes
        if (!r.read(0, h, 22)) r.fail(kTruncated, "BMP ends inside its header");
        info.width = int(le16(h + 18));
        info.height = int(le16(h + 20));
    } else {
        if (!r.read(0, h, 26)) r.fail(kTruncated, "BMP ends inside its header");
        info.width = int(std::int32_t(le32(h + 18)));
        const std::int32_t height = std::int32_t(le32(h + 22)); // negative: rows stored top-down
        info.height = int(height < 0 ? -std::int64_t(height) : height);
    }
    return info;
}

} // namespace

ImageInfo probe_image(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) throw Error(path + ": image not found");
    if (!S_ISREG(st.st_mode)) throw Error(path + ": not a regular file");
    if (st.st_size == 0) throw Error(path + ": " + kCorrupt + ": the file is empty (0 bytes)");
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
    if (!f) throw Error(path + ": cannot open the image: " + std::strerror(errno));
    const Reader r(path, f.get(), std::int64_t(st.st_size));

    unsigned char head[32] = {};
    const std::size_t n = std::fread(head, 1, sizeof head, f.get());
    switch (sniff(head, n)) {
    case ImageFormat::jpeg: return probe_jpeg(r);
    case ImageFormat::png: return probe_png(r);
    case ImageFormat::gif: return probe_gif(r);
    case ImageFormat::webp: return probe_webp(r);
    case ImageFormat::bmp: return probe_bmp(r);
    case ImageFormat::unknown: break;
    }
    r.fail(kNotImage,
           "no known image format (it starts with " + hex_bytes(head, n < 8 ? n : 8) + "); JPEG and PNG are accepted");
}

} // namespace msa::media

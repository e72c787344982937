// decode_image: JPEG (TurboJPEG) and PNG (libpng) files to 8-bit RGB, pixel for pixel as
// Pillow's Image.open(path).convert("RGB").
#include <msa/error.hpp>
#include <msa/media/image.hpp>

#include <png.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

namespace msa::media {
namespace {

// Pillow refuses images above twice its MAX_IMAGE_PIXELS (decompression bombs); so do we,
// before allocating anything.
constexpr long long max_pixels = 2LL * 89478485;

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
    throw Error("image " + path + ": " + reason);
}

std::vector<unsigned char> read_file(const std::string& path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (status.type() == std::filesystem::file_type::not_found) fail(path, "no such file");
    if (status.type() == std::filesystem::file_type::directory) fail(path, "is a folder, not an image file");
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const int err = errno;
        fail(path, "cannot open: " + (err ? std::generic_category().message(err) : std::string("unreadable")));
    }
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    if (size < 0) fail(path, "cannot read: not a regular file");
    in.seekg(0, std::ios::beg);
    std::vector<unsigned char> bytes(static_cast<std::size_t>(size));
    if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
        fail(path, "cannot read: I/O error");
    if (bytes.empty()) fail(path, "empty file");
    return bytes;
}

ImageFormat sniff(const std::vector<unsigned char>& b) {
    auto starts = [&](const char* magic, std::size_t n, std::size_t at = 0) {
        return b.size() >= at + n && std::memcmp(b.data() + at, magic, n) == 0;
    };
    if (starts("\xFF\xD8\xFF", 3)) return ImageFormat::jpeg;
    if (starts("\x89PNG\r\n\x1A\n", 8)) return ImageFormat::png;
    if (starts("GIF87a", 6) || starts("GIF89a", 6)) return ImageFormat::gif;
    if (starts("RIFF", 4) && starts("WEBP", 4, 8)) return ImageFormat::webp;
    if (starts("BM", 2)) return ImageFormat::bmp;
    return ImageFormat::unknown;
}

std::string first_bytes_hex(const std::vector<unsigned char>& b) {
    std::string out;
    char buf[4];
    for (std::size_t i = 0; i < std::min<std::size_t>(b.size(), 8); ++i) {
        std::snprintf(buf, sizeof buf, i ? " %02x" : "%02x", b[i]);
        out += buf;
    }
    return out;
}

void check_size(const std::string& path, const char* format, long long width, long long height) {
    if (width <= 0 || height <= 0)
        fail(path, std::string("corrupt ") + format + " data: image size " + std::to_string(width) + "x" +
                       std::to_string(height));
    if (width * height > max_pixels)
        fail(path, std::string(format) + " image of " + std::to_string(width) + "x" + std::to_string(height) +
                       " pixels exceeds the limit of " + std::to_string(max_pixels) + " pixels");
}

// ---- JPEG -------------------------------------------------------------------------------

// One TurboJPEG decompressor per thread, replaced after a failure: libjpeg-turbo 2.1 leaves
// a handle that failed mid-header unusable (every later call repeats the old error).
struct TurboHandle {
    tjhandle handle = tjInitDecompress();
    ~TurboHandle() {
        if (handle) tjDestroy(handle);
    }
    [[noreturn]] void fail(const std::string& path, const std::string& reason) {
        if (handle) tjDestroy(handle);
        handle = tjInitDecompress();
        msa::media::fail(path, reason);
    }
};

// Pillow's convert("RGB") from the Adobe-inverted CMYK it reads ("CMYK;I"): no colour
// management, k applied by an integer multiply-divide by 255.
void cmyk_to_rgb(const unsigned char* cmyk, std::size_t pixels, unsigned char* rgb) {
    auto muldiv255 = [](int a, int b) {
        const int t = a * b + 128;
        return ((t >> 8) + t) >> 8;
    };
    for (std::size_t i = 0; i < pixels; ++i, cmyk += 4, rgb += 3) {
        // TurboJPEG hands back the stored (inverted) values; Pillow inverts them first.
        const int nk = cmyk[3];
        for (int c = 0; c < 3; ++c)
            rgb[c] = static_cast<unsigned char>(std::clamp(nk - muldiv255(255 - cmyk[c], nk), 0, 255));
    }
}

// libjpeg's warnings already start with "Corrupt JPEG data: "; say it once.
std::string jpeg_reason(tjhandle handle) {
    std::string message = tjGetErrorStr2(handle);
    const std::string prefix = "Corrupt JPEG data: ";
    if (message.compare(0, prefix.size(), prefix) == 0) message.erase(0, prefix.size());
    return "corrupt JPEG data: " + message;
}

Image decode_jpeg(const std::string& path, const std::vector<unsigned char>& bytes) {
    thread_local TurboHandle tj;
    if (!tj.handle) fail(path, std::string("cannot start the JPEG decoder: ") + tjGetErrorStr2(nullptr));
    int width = 0, height = 0, subsampling = 0, colorspace = 0;
    if (tjDecompressHeader3(tj.handle, bytes.data(), bytes.size(), &width, &height, &subsampling, &colorspace) != 0)
        tj.fail(path, jpeg_reason(tj.handle));
    check_size(path, "JPEG", width, height);

    // Flags 0 keep libjpeg's defaults, which are Pillow's: ISLOW DCT, fancy upsampling.
    // Warnings (truncated data, bad Huffman codes) stop decoding: libjpeg would fill the
    // rest of the image with grey, and Pillow refuses truncated files too.
    const int flags = TJFLAG_STOPONWARNING;
    Image image;
    image.width = width;
    image.height = height;
    const std::size_t pixels = static_cast<std::size_t>(width) * height;
    int rc;
    if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
        std::vector<unsigned char> cmyk(pixels * 4);
        rc = tjDecompress2(tj.handle, bytes.data(), bytes.size(), cmyk.data(), width, 0, height, TJPF_CMYK, flags);
        if (rc == 0) {
            image.rgb.resize(pixels * 3);
            cmyk_to_rgb(cmyk.data(), pixels, image.rgb.data());
        }
    } else {
        image.rgb.resize(pixels * 3);
        rc = tjDecompress2(tj.handle, bytes.data(), bytes.size(), image.rgb.data(), width, 0, height, TJPF_RGB, flags);
    }
    if (rc != 0) tj.fail(path, jpeg_reason(tj.handle));
    return image;
}

// ---- PNG --------------------------------------------------------------------------------

// Everything libpng's error path touches lives here, outside the frame that calls setjmp,
// so that longjmp leaves no C++ object half-modified in that frame.
struct PngJob {
    const unsigned char* data = nullptr;
    std::size_t size = 0;
    std::size_t offset = 0;
    char error[256] = {};
    Image image;
    std::vector<unsigned char> raw;  // grey 16-bit rows, before Pillow's clipping
    std::vector<png_bytep> rows;
};

void png_error_fn(png_structp png, png_const_charp message) {
    auto* job = static_cast<PngJob*>(png_get_error_ptr(png));
    std::snprintf(job->error, sizeof job->error, "%s", message ? message : "unknown error");
    png_longjmp(png, 1);
}

// Ancillary-chunk complaints (e.g. "iCCP: known incorrect sRGB profile") do not touch
// pixels; Pillow ignores them too.
void png_warning_fn(png_structp, png_const_charp) {}

void png_read_fn(png_structp png, png_bytep out, png_size_t length) {
    auto* job = static_cast<PngJob*>(png_get_io_ptr(png));
    if (length > job->size - job->offset) png_error(png, "unexpected end of file (truncated)");
    std::memcpy(out, job->data + job->offset, length);
    job->offset += length;
}

// Returns false with job->error set. No C++ object with a destructor is created in this
// frame after setjmp.
bool run_png(PngJob* job, png_structp png, png_infop info) {
    if (setjmp(png_jmpbuf(png))) return false;

    png_set_read_fn(png, job, png_read_fn);
    // Pillow checks every chunk's CRC and refuses a mismatch.
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);

    const png_uint_32 width = png_get_image_width(png, info);
    const png_uint_32 height = png_get_image_height(png, info);
    if (static_cast<long long>(width) * height > max_pixels) {
        std::snprintf(job->error, sizeof job->error, "PNG image of %ux%u pixels exceeds the limit of %lld pixels",
                      width, height, max_pixels);
        return false;
    }
    const int color_type = png_get_color_type(png, info);
    const int bit_depth = png_get_bit_depth(png, info);

    // Pillow reads 16-bit grey as mode I;16 and its convert("RGB") clips each value to
    // 255 instead of scaling; every other 16-bit layout keeps the high byte.
    const bool grey16 = color_type == PNG_COLOR_TYPE_GRAY && bit_depth == 16;
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16 && !grey16) png_set_strip_16(png);
    // convert("RGB") drops alpha, and a tRNS chunk, without compositing.
    png_set_strip_alpha(png);
    if (!grey16 && (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA))
        png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    const std::size_t rowbytes = png_get_rowbytes(png, info);
    const std::size_t expected = grey16 ? std::size_t(width) * 2 : std::size_t(width) * 3;
    if (rowbytes != expected) {
        std::snprintf(job->error, sizeof job->error, "unexpected PNG layout (color type %d, %d bits)", color_type,
                      bit_depth);
        return false;
    }
    job->image.width = static_cast<int>(width);
    job->image.height = static_cast<int>(height);
    std::vector<unsigned char>& target = grey16 ? job->raw : job->image.rgb;
    target.resize(rowbytes * height);
    job->rows.resize(height);
    for (png_uint_32 y = 0; y < height; ++y) job->rows[y] = target.data() + y * rowbytes;
    png_read_image(png, job->rows.data());
    return true;
}

Image decode_png(const std::string& path, const std::vector<unsigned char>& bytes) {
    PngJob job;
    job.data = bytes.data();
    job.size = bytes.size();
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &job, png_error_fn, png_warning_fn);
    if (!png) fail(path, "cannot start the PNG decoder");
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, nullptr, nullptr);
        fail(path, "cannot start the PNG decoder");
    }
    const bool ok = run_png(&job, png, info);
    png_destroy_read_struct(&png, &info, nullptr);
    if (!ok) fail(path, std::string("corrupt PNG data: ") + job.error);

    if (!job.raw.empty()) {
        const std::size_t pixels = std::size_t(job.image.width) * job.image.height;
        job.image.rgb.resize(pixels * 3);
        for (std::size_t i = 0; i < pixels; ++i) {
            const unsigned v = (unsigned(job.raw[2 * i]) << 8) | job.raw[2 * i + 1];  // big-endian
            const unsigned char c = static_cast<unsigned char>(std::min(v, 255u));
            job.image.rgb[3 * i] = job.image.rgb[3 * i + 1] = job.image.rgb[3 * i + 2] = c;
        }
    }
    return std::move(job.image);
}

} // namespace

Image decode_image(const std::string& path) {
    const std::vector<unsigned char> bytes = read_file(path);
    const ImageFormat format = sniff(bytes);
    switch (format) {
    case ImageFormat::jpeg: return decode_jpeg(path, bytes);
    case ImageFormat::png: return decode_png(path, bytes);
    case ImageFormat::unknown:
        fail(path, "unknown format (first bytes " + first_bytes_hex(bytes) + "; accepted: JPEG, PNG)");
    default: fail(path, std::string("unsupported format ") + to_string(format) + " (accepted: JPEG, PNG)");
    }
}

} // namespace msa::media

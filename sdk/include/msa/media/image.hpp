// Image files: format sniffing, decoding to 8-bit RGB and JPEG encoding.
#pragma once

#include <msa/media/export.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace msa::media {

enum class ImageFormat { unknown, jpeg, png, gif, webp, bmp };

MSA_MEDIA_API const char* to_string(ImageFormat format);

struct ImageInfo {
    ImageFormat format = ImageFormat::unknown;
    int width = 0;
    int height = 0;
};

// Reads only the header (and, for JPEG, the end-of-image marker): the format from the
// content, whatever the file is named, and the size. Throws msa::Error naming the file
// and the reason (missing, empty, truncated, unknown format).
MSA_MEDIA_API ImageInfo probe_image(const std::string& path);

// 8-bit RGB, row-major, interleaved: rgb[(y * width + x) * 3 + c].
struct Image {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> rgb;
};

// Decodes JPEG (libjpeg-turbo) or PNG (libpng), by content. Grey, palette and alpha
// images become RGB as Pillow's convert("RGB") does. Throws msa::Error naming the file
// and the reason for corrupt, truncated or unsupported files.
MSA_MEDIA_API Image decode_image(const std::string& path);

// Encodes `image` as a baseline JFIF JPEG (libjpeg-turbo, 4:2:0 chroma subsampling,
// `quality` 1-100). The bytes depend only on the pixels, quality and libjpeg-turbo's
// version. Throws msa::Error for an empty image, a pixel buffer of the wrong size or a
// quality outside 1-100.
MSA_MEDIA_API std::vector<std::uint8_t> encode_jpeg(const Image& image, int quality = 90);

// encode_jpeg, written to `path` (replaced if present). Throws msa::Error naming the
// file when it cannot be written.
MSA_MEDIA_API void write_jpeg(const Image& image, const std::string& path, int quality = 90);

} // namespace msa::media

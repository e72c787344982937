// Image files: format sniffing and decoding to 8-bit RGB.
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

} // namespace msa::media

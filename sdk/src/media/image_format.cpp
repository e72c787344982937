// Names of image formats, for messages.
#include <msa/media/image.hpp>

namespace msa::media {

const char* to_string(ImageFormat format) {
    switch (format) {
    case ImageFormat::jpeg: return "JPEG";
    case ImageFormat::png: return "PNG";
    case ImageFormat::gif: return "GIF";
    case ImageFormat::webp: return "WebP";
    case ImageFormat::bmp: return "BMP";
    case ImageFormat::unknown: break;
    }
    return "unknown";
}

} // namespace msa::media

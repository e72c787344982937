// encode_jpeg / write_jpeg: 8-bit RGB to JPEG with TurboJPEG (demo data, test fixtures).
#include <msa/error.hpp>
#include <msa/media/image.hpp>

#include <turbojpeg.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace msa::media {

std::vector<std::uint8_t> encode_jpeg(const Image& image, int quality) {
    if (image.width <= 0 || image.height <= 0)
        throw Error("encode_jpeg: empty image (" + std::to_string(image.width) + "x" + std::to_string(image.height) + ")");
    const auto expected = static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) * 3;
    if (image.rgb.size() != expected)
        throw Error("encode_jpeg: a " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                    " RGB image needs " + std::to_string(expected) + " bytes, got " + std::to_string(image.rgb.size()));
    if (quality < 1 || quality > 100)
        throw Error("encode_jpeg: quality " + std::to_string(quality) + " is outside 1-100");

    std::unique_ptr<void, int (*)(tjhandle)> handle(tjInitCompress(), tjDestroy);
    if (!handle) throw Error(std::string("encode_jpeg: cannot start TurboJPEG: ") + tjGetErrorStr2(nullptr));
    unsigned char* out = nullptr;
    unsigned long size = 0;
    // tjCompress2 takes a non-const source pointer but does not write to it.
    const int rc = tjCompress2(handle.get(), const_cast<unsigned char*>(image.rgb.data()), image.width,
                               /*pitch=*/image.width * 3, image.height, TJPF_RGB, &out, &size, TJSAMP_420, quality,
                               TJFLAG_ACCURATEDCT);
    std::unique_ptr<unsigned char, void (*)(unsigned char*)> owned(out, tjFree);
    if (rc != 0) throw Error(std::string("encode_jpeg: ") + tjGetErrorStr2(handle.get()));
    return {out, out + size};
}

void write_jpeg(const Image& image, const std::string& path, int quality) {
    const auto bytes = encode_jpeg(image, quality);
    errno = 0;
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    if (!file) {
        const int err = errno;
        throw Error("image " + path + ": cannot write: " +
                    (err ? std::generic_category().message(err) : std::string("cannot open")));
    }
    file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!file.flush()) throw Error("image " + path + ": cannot write: I/O error");
}

} // namespace msa::media

// JPEG/PNG on arbitrary bytes: an image both probe_image and decode_image accept has the
// same size in both; a decoded image has width*height*3 bytes.
#include "fuzz_target.hpp"

#include <msa/media/image.hpp>

#include <optional>

MSA_FUZZ_TARGET(image) {
    const auto file = msa::fuzz::write_scratch("image.jpg", {reinterpret_cast<const char*>(data), size});
    std::optional<msa::media::ImageInfo> info;
    try {
        info = msa::media::probe_image(file.string());
    } catch (const msa::Error& e) {
        if (!*e.what()) msa::fuzz::fail("image: probe threw an msa::Error with an empty message");
    }
    const msa::media::Image image = msa::media::decode_image(file.string());
    if (image.width <= 0 || image.height <= 0) msa::fuzz::fail("image: decoded an empty image");
    if (image.rgb.size() != static_cast<std::size_t>(image.width) * image.height * 3)
        msa::fuzz::fail("image: decoded pixels do not match width*height*3");
    if (info && (info->width != image.width || info->height != image.height))
        msa::fuzz::fail("image: probe says " + std::to_string(info->width) + "x" + std::to_string(info->height) +
                        ", decode gives " + std::to_string(image.width) + "x" + std::to_string(image.height));
}

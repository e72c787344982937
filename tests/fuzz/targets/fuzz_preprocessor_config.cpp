// preprocessor_config.json: read_preprocessor_config, then the output size it implies for
// a few image sizes and, when that is small, preprocessing a small image with it.
#include "fuzz_target.hpp"

#include <msa/media/image.hpp>
#include <msa/media/image_processor.hpp>

MSA_FUZZ_TARGET(preprocessor_config) {
    const auto file =
        msa::fuzz::write_scratch("preprocessor_config.json", {reinterpret_cast<const char*>(data), size});
    const msa::media::ImageProcessorOptions options = msa::media::read_preprocessor_config(file.string());
    for (const auto [w, h] : {std::pair{1, 1}, std::pair{7, 5}, std::pair{640, 480}}) {
        const msa::media::ImageSize out = msa::media::preprocessed_size(options, w, h);
        if (out.width <= 0 || out.height <= 0)
            msa::fuzz::fail("preprocessor_config: accepted options give an empty output size");
    }
    const msa::media::ImageSize out = msa::media::preprocessed_size(options, 7, 5);
    if (static_cast<long long>(out.width) * out.height > 512 * 512) return; // bounded memory
    msa::media::Image image;
    image.width = 7;
    image.height = 5;
    image.rgb.assign(7 * 5 * 3, 128);
    const msa::media::FloatImage result = msa::media::preprocess(image, options);
    (void)result;
}

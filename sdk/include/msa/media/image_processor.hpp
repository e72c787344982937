// Image preprocessing that reproduces Hugging Face transformers' image processors (PIL
// backend: ViT, Swin V2, CLIP, BiT, EfficientNet) value for value, without LibTorch.
#pragma once

#include <msa/media/export.hpp>
#include <msa/media/image.hpp>

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace msa::media {

// PIL's resampling filters; the values are the integers preprocessor_config.json uses.
enum class Resample { nearest = 0, lanczos = 1, bilinear = 2, bicubic = 3, box = 4, hamming = 5 };

MSA_MEDIA_API const char* to_string(Resample resample);

// Which Pillow's resize to reproduce. Pillow resamples in two passes through an 8-bit
// intermediate, rows first; Pillow 13 does columns first when the height shrinks by more
// than twice as many pixels as the width. The order changes some pixels by rounding (up to
// 1 level for bilinear, more near hard edges for bicubic and lanczos).
enum class PillowPassOrder { pillow13, before_pillow13 };

struct ImageSize {
    int height = 0;
    int width = 0;
};

// The steps and parameters of one transformers image processor, in its order: resize,
// center crop, rescale, normalize. Defaults are ViTImageProcessor's.
struct ImageProcessorOptions {
    bool do_resize = true;
    // The resize target is `size`, unless shortest_edge > 0: then the short side becomes
    // shortest_edge and the long side int(shortest_edge * long / short), as in transformers.
    ImageSize size{224, 224};
    int shortest_edge = 0;
    Resample resample = Resample::bilinear;
    PillowPassOrder pass_order = PillowPassOrder::pillow13;
    // Crops around the centre; pads with black where the image is smaller than the crop.
    bool do_center_crop = false;
    ImageSize crop_size{224, 224};
    bool do_rescale = true;
    double rescale_factor = 1.0 / 255.0;
    bool rescale_offset = false; // EfficientNet: subtracts 1 after rescaling
    bool do_normalize = true;
    std::array<float, 3> image_mean{0.5f, 0.5f, 0.5f};
    std::array<float, 3> image_std{0.5f, 0.5f, 0.5f};
    bool include_top = false; // EfficientNet: divides by image_std a second time
    // Kept for completeness: decode_image always yields RGB, which is what this asks for.
    bool do_convert_rgb = true;
};

// The class defaults of a transformers image processor type: "ViTImageProcessor",
// "CLIPImageProcessor", "BitImageProcessor", "EfficientNetImageProcessor" (a "Fast" or
// "Pil" suffix and the older "...FeatureExtractor" names are accepted). Throws msa::Error
// naming the accepted types.
MSA_MEDIA_API ImageProcessorOptions image_processor_defaults(std::string_view processor_type);

// Reads a checkpoint's preprocessor_config.json (or the folder holding it): the processor
// type's defaults, overridden by the keys do_resize, size, resample, do_center_crop,
// crop_size, do_rescale, rescale_factor, rescale_offset, do_normalize, image_mean,
// image_std, include_top, do_convert_rgb. Other keys are ignored, as transformers does.
// Throws msa::Error naming the file and the key for a missing or malformed file, a value
// of the wrong type or range, or an unknown processor type.
MSA_MEDIA_API ImageProcessorOptions read_preprocessor_config(const std::string& json_path);

// Channels-first float32 pixels: data[(c * height + y) * width + x].
struct FloatImage {
    int channels = 0;
    int height = 0;
    int width = 0;
    std::vector<float> data;
};

// The (height, width) that preprocess gives for an input of width x height.
MSA_MEDIA_API ImageSize preprocessed_size(const ImageProcessorOptions& options, int width, int height);

// The processor's pixel_values for one image. Throws msa::Error for an empty image or
// options out of range (sizes below 1, a zero std).
MSA_MEDIA_API FloatImage preprocess(const Image& image, const ImageProcessorOptions& options);

// As preprocess, into `out`, which must hold 3 * height * width floats of
// preprocessed_size (e.g. one slot of a batch tensor).
MSA_MEDIA_API void preprocess_into(const Image& image, const ImageProcessorOptions& options, float* out);

// PIL's Image.resize((width, height), resample) of an RGB image, bit for bit.
MSA_MEDIA_API Image resize_image(const Image& image, ImageSize size, Resample resample,
                                 PillowPassOrder order = PillowPassOrder::pillow13);

} // namespace msa::media

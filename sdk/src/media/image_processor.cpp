// Hugging Face image preprocessing: PIL's resampling (Resample.c) re-done in 8-bit fixed
// point, transformers' center crop, rescale and normalize in float32 as numpy does them.
#include <msa/error.hpp>
#include <msa/media/image_processor.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace msa::media {
namespace {

// ---- PIL's filters, formula for formula: the weights must round the same way -----------

double box_filter(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }

double bilinear_filter(double x) {
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

double hamming_filter(double x) {
    if (x < 0.0) x = -x;
    if (x == 0.0) return 1.0;
    if (x >= 1.0) return 0.0;
    x = x * M_PI;
    return std::sin(x) / x * (0.54f + 0.46f * std::cos(x));
}

double bicubic_filter(double x) {
    constexpr double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

double sinc_filter(double x) {
    if (x == 0.0) return 1.0;
    x = x * M_PI;
    return std::sin(x) / x;
}

double lanczos_filter(double x) {
    if (-3.0 <= x && x < 3.0) return sinc_filter(x) * sinc_filter(x / 3);
    return 0.0;
}

struct Filter {
    double (*weight)(double);
    double support;
};

Filter filter_for(Resample resample) {
    switch (resample) {
    case Resample::box: return {box_filter, 0.5};
    case Resample::bilinear: return {bilinear_filter, 1.0};
    case Resample::hamming: return {hamming_filter, 1.0};
    case Resample::bicubic: return {bicubic_filter, 2.0};
    case Resample::lanczos: return {lanczos_filter, 3.0};
    case Resample::nearest: break;
    }
    throw Error("image resize: no convolution filter for nearest");
}

// 8 bits of result, 2 of headroom for negative lobes and sums above 1: Pillow's choice.
constexpr int precision_bits = 32 - 8 - 2;

// Per output pixel: first input pixel, number of taps, and the taps in fixed point
// (ksize slots each).
struct Coeffs {
    int ksize = 0;
    std::vector<int> first;
    std::vector<int> count;
    std::vector<std::int32_t> k;
};

Coeffs precompute_coeffs(int in_size, int out_size, const Filter& filter) {
    // Pillow works from a float box (0, in_size); the arithmetic below keeps its order.
    const double scale = static_cast<double>(static_cast<float>(in_size) - 0.0f) / out_size;
    const double filterscale = std::max(scale, 1.0);
    const double support = filter.support * filterscale;
    Coeffs c;
    c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
    c.first.resize(out_size);
    c.count.resize(out_size);
    c.k.assign(static_cast<std::size_t>(out_size) * c.ksize, 0);
    std::vector<double> w(c.ksize);
    for (int xx = 0; xx < out_size; ++xx) {
        const double center = 0.0 + (xx + 0.5) * scale;
        const double ss = 1.0 / filterscale;
        const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
        const int xmax = std::min(static_cast<int>(center + support + 0.5), in_size) - xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; ++x) {
            w[x] = filter.weight((x + xmin - center + 0.5) * ss);
            ww += w[x];
        }
        std::int32_t* k = &c.k[static_cast<std::size_t>(xx) * c.ksize];
        for (int x = 0; x < xmax; ++x) {
            const double v = ww != 0.0 ? w[x] / ww : w[x];
            k[x] = static_cast<std::int32_t>(v < 0 ? -0.5 + v * (1 << precision_bits)
                                                  : 0.5 + v * (1 << precision_bits));
        }
        c.first[xx] = xmin;
        c.count[xx] = std::max(xmax, 0);
    }
    return c;
}

inline std::uint8_t clip8(std::int32_t v) {
    v >>= precision_bits;
    return static_cast<std::uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// Hot loops get an AVX2 copy (native 32-bit multiplies) chosen at load time; the
// arithmetic, and so every result, is the same in both copies.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MSA_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define MSA_MULTIVERSION
#endif

// One pass along columns: output rows [y0, y1) of rows `row_bytes` wide; `src` starts at
// input row `row0`. Whole rows at a time, so the inner loop runs over contiguous bytes.
MSA_MULTIVERSION
void vertical_pass(const std::uint8_t* src, std::size_t src_stride, int row0, std::size_t row_bytes, const Coeffs& c,
                   int y0, int y1, std::uint8_t* dst) {
    std::vector<std::int32_t> acc(row_bytes);
    for (int y = y0; y < y1; ++y) {
        std::fill(acc.begin(), acc.end(), 1 << (precision_bits - 1));
        const std::int32_t* k = &c.k[static_cast<std::size_t>(y) * c.ksize];
        for (int i = 0, n = c.count[y]; i < n; ++i) {
            const std::uint8_t* s = src + (c.first[y] - row0 + i) * src_stride;
            const std::int32_t w = k[i];
            std::int32_t* a = acc.data();
            for (std::size_t j = 0; j < row_bytes; ++j) a[j] += s[j] * w;
        }
        std::uint8_t* d = dst + (y - y0) * row_bytes;
        for (std::size_t j = 0; j < row_bytes; ++j) d[j] = clip8(acc[j]);
    }
}

// The pass along rows for one row, plainly: used where a 4-byte load could read past
// the end of the buffer.
void horizontal_row(const std::uint8_t* src, int col0, const Coeffs& c, int x0, int x1, std::uint8_t* dst) {
    constexpr std::int32_t half = 1 << (precision_bits - 1);
    for (int x = x0; x < x1; ++x, dst += 3) {
        const std::int32_t* k = &c.k[static_cast<std::size_t>(x) * c.ksize];
        const std::uint8_t* p = src + (c.first[x] - col0) * 3;
        std::int32_t s0 = half, s1 = half, s2 = half;
        for (int i = 0, n = c.count[x]; i < n; ++i, p += 3) {
            s0 += p[0] * k[i];
            s1 += p[1] * k[i];
            s2 += p[2] * k[i];
        }
        dst[0] = clip8(s0);
        dst[1] = clip8(s1);
        dst[2] = clip8(s2);
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#define MSA_HAVE_AVX2_PATH 1

inline std::int32_t four_bytes(const std::uint8_t* p) {
    std::int32_t w;
    std::memcpy(&w, p, sizeof w);
    return w;
}

// The pixel at p and the one `second` bytes further, as 2 x 4 int32 lanes.
__attribute__((target("avx2"))) inline __m256i pixel_pair(const std::uint8_t* p, std::size_t second) {
    return _mm256_cvtepu8_epi32(_mm_insert_epi32(_mm_cvtsi32_si128(four_bytes(p)), four_bytes(p + second), 1));
}

// The pass along rows with AVX2: a pixel's channels fill four 32-bit lanes (the fourth is
// ignored), two rows share a 256-bit vector and four rows each coefficient; pixels away
// from the right edge run all ksize taps (the extra ones weigh 0) so that the loop length
// stays constant. The sums are the same integers as horizontal_row's.
__attribute__((target("avx2"))) int horizontal_rows_avx2(const std::uint8_t* src, std::size_t src_stride, int col0,
                                                         int cols, int rows, const Coeffs& c, int x0, int x1,
                                                         std::uint8_t* dst) {
    const std::size_t dst_stride = static_cast<std::size_t>(x1 - x0) * 3;
    const int ksize = c.ksize;
    int r = 0;
    // 4-byte loads read one byte past a pixel: the buffer's last row is left to the caller.
    for (; r + 4 <= rows - 1; r += 4) {
        const std::uint8_t* row = src + r * src_stride;
        std::uint8_t* d = dst + r * dst_stride;
        for (int x = x0; x < x1; ++x, d += 3) {
            const std::int32_t* k = &c.k[static_cast<std::size_t>(x) * ksize];
            const int offset = c.first[x] - col0;
            const int n = offset + ksize <= cols ? ksize : c.count[x];
            const std::uint8_t* p = row + offset * 3;
            __m256i s01 = _mm256_set1_epi32(1 << (precision_bits - 1)), s23 = s01;
            for (int i = 0; i < n; ++i, p += 3) {
                const __m256i w = _mm256_set1_epi32(k[i]);
                s01 = _mm256_add_epi32(s01, _mm256_mullo_epi32(pixel_pair(p, src_stride), w));
                s23 = _mm256_add_epi32(s23, _mm256_mullo_epi32(pixel_pair(p + 2 * src_stride, src_stride), w));
            }
            // >> precision_bits, then saturating packs: clip8 for all four rows at once.
            const __m256i v = _mm256_packs_epi32(_mm256_srai_epi32(s01, precision_bits),
                                                 _mm256_srai_epi32(s23, precision_bits));
            alignas(32) std::uint8_t bytes[32];
            _mm256_store_si256(reinterpret_cast<__m256i*>(bytes), _mm256_packus_epi16(v, v));
            // Lane order after the in-lane packs: row 0, row 2, then row 1, row 3.
            std::memcpy(d, bytes, 3);
            std::memcpy(d + 2 * dst_stride, bytes + 4, 3);
            std::memcpy(d + dst_stride, bytes + 16, 3);
            std::memcpy(d + 3 * dst_stride, bytes + 20, 3);
        }
    }
    return r;
}
#endif

// The pass along rows: output columns [x0, x1) of `rows` rows whose pixels start at input
// column `col0` and span `cols` columns.
void horizontal_pass(const std::uint8_t* src, std::size_t src_stride, int col0, int cols, int rows, const Coeffs& c,
                     int x0, int x1, std::uint8_t* dst) {
    const std::size_t dst_stride = static_cast<std::size_t>(x1 - x0) * 3;
    int r = 0;
#ifdef MSA_HAVE_AVX2_PATH
    static const bool avx2 = (__builtin_cpu_init(), __builtin_cpu_supports("avx2"));
    if (avx2) r = horizontal_rows_avx2(src, src_stride, col0, cols, rows, c, x0, x1, dst);
#endif
    for (; r < rows; ++r) horizontal_row(src + r * src_stride, col0, c, x0, x1, dst + r * dst_stride);
}

// The input span [first, last) that output pixels [from, to) read.
std::pair<int, int> input_span(const Coeffs& c, int from, int to) {
    int first = c.first[from], last = first;
    for (int i = from; i < to; ++i) {
        first = std::min(first, c.first[i]);
        last = std::max(last, c.first[i] + c.count[i]);
    }
    return {first, last};
}

// Rows [y0, y1) and columns [x0, x1) of PIL's im.resize((out_w, out_h), resample), as
// interleaved RGB. Only the pixels asked for are computed; each equals Pillow's because
// every output pixel depends on its own coefficients alone.
std::vector<std::uint8_t> resize_window(const Image& in, int out_w, int out_h, Resample resample,
                                        PillowPassOrder order, int x0, int x1, int y0, int y1) {
    const int tw = x1 - x0, th = y1 - y0;
    std::vector<std::uint8_t> out(static_cast<std::size_t>(tw) * th * 3);
    if (tw <= 0 || th <= 0) return out;
    const std::size_t in_stride = static_cast<std::size_t>(in.width) * 3;
    const std::size_t out_stride = static_cast<std::size_t>(tw) * 3;

    if (out_w == in.width && out_h == in.height) { // Pillow copies
        for (int y = y0; y < y1; ++y) std::copy_n(&in.rgb[y * in_stride + x0 * 3], out_stride, &out[(y - y0) * out_stride]);
        return out;
    }

    if (resample == Resample::nearest) {
        // Pillow's ImagingScaleAffine: positions accumulate in double from the first pixel.
        std::vector<int> xin(out_w), yin(out_h);
        const double ax = static_cast<double>(static_cast<float>(in.width)) / out_w;
        const double ay = static_cast<double>(static_cast<float>(in.height)) / out_h;
        double xo = 0.0 + ax * 0.5, yo = 0.0 + ay * 0.5;
        // The clamps never bind for sizes that fit in an int; they keep a rounding surprise
        // from reading outside the image.
        for (int x = 0; x < out_w; ++x, xo += ax) xin[x] = std::clamp(static_cast<int>(xo), 0, in.width - 1);
        for (int y = 0; y < out_h; ++y, yo += ay) yin[y] = std::clamp(static_cast<int>(yo), 0, in.height - 1);
        for (int y = y0; y < y1; ++y) {
            const std::uint8_t* row = &in.rgb[yin[y] * in_stride];
            std::uint8_t* o = &out[(y - y0) * out_stride];
            for (int x = x0; x < x1; ++x, o += 3) std::copy_n(row + xin[x] * 3, 3, o);
        }
        return out;
    }

    const Filter filter = filter_for(resample);
    const bool need_h = out_w != in.width;
    const bool need_v = out_h != in.height;
    if (!need_v) {
        const Coeffs ch = precompute_coeffs(in.width, out_w, filter);
        const auto [c0, c1] = input_span(ch, x0, x1);
        horizontal_pass(&in.rgb[y0 * in_stride + c0 * 3], in_stride, c0, c1 - c0, th, ch, x0, x1, out.data());
        return out;
    }
    const Coeffs cv = precompute_coeffs(in.height, out_h, filter);
    if (!need_h) {
        vertical_pass(&in.rgb[x0 * 3], in_stride, 0, out_stride, cv, y0, y1, out.data());
        return out;
    }
    const Coeffs ch = precompute_coeffs(in.width, out_w, filter);

    // Pillow 13 runs the vertical pass first when the height shrinks by more than twice
    // as many pixels as the width; the 8-bit intermediate makes the order matter.
    const int dh = in.height - out_h, dw = in.width - out_w;
    const bool vertical_first = order == PillowPassOrder::pillow13 && dh > 0 && dh > dw * 2;
    std::vector<std::uint8_t> tmp;
    if (vertical_first) {
        const auto [c0, c1] = input_span(ch, x0, x1);
        const std::size_t tmp_stride = static_cast<std::size_t>(c1 - c0) * 3;
        tmp.resize(tmp_stride * th);
        vertical_pass(&in.rgb[c0 * 3], in_stride, 0, tmp_stride, cv, y0, y1, tmp.data());
        horizontal_pass(tmp.data(), tmp_stride, c0, c1 - c0, th, ch, x0, x1, out.data());
    } else {
        const auto [r0, r1] = input_span(cv, y0, y1);
        tmp.resize(out_stride * (r1 - r0));
        const auto [c0, c1] = input_span(ch, x0, x1);
        horizontal_pass(&in.rgb[r0 * in_stride + c0 * 3], in_stride, c0, c1 - c0, r1 - r0, ch, x0, x1, tmp.data());
        vertical_pass(tmp.data(), out_stride, r0, out_stride, cv, y0, y1, out.data());
    }
    return out;
}

void check_options(const ImageProcessorOptions& o) {
    auto bad = [](const std::string& what) { throw Error("image preprocessing: " + what); };
    if (o.do_resize) {
        if (o.shortest_edge < 0) bad("shortest_edge " + std::to_string(o.shortest_edge) + " must be at least 1");
        if (o.shortest_edge == 0 && (o.size.height < 1 || o.size.width < 1))
            bad("resize size " + std::to_string(o.size.height) + "x" + std::to_string(o.size.width) +
                " (height x width) must be at least 1x1");
    }
    if (o.do_center_crop && (o.crop_size.height < 1 || o.crop_size.width < 1))
        bad("crop_size " + std::to_string(o.crop_size.height) + "x" + std::to_string(o.crop_size.width) +
            " (height x width) must be at least 1x1");
    for (int c = 0; c < 3; ++c)
        if ((o.do_normalize || o.include_top) && !(o.image_std[c] != 0.0f && std::isfinite(o.image_std[c])))
            bad("image_std[" + std::to_string(c) + "] is " + std::to_string(o.image_std[c]) +
                "; it must be finite and not 0");
}

ImageSize resized_size(const ImageProcessorOptions& o, int width, int height) {
    if (!o.do_resize) return {height, width};
    if (o.shortest_edge <= 0) return o.size;
    // transformers' get_resize_output_image_size(default_to_square=False): Python's
    // int(a * b / c) truncates a correctly rounded double quotient.
    const bool portrait = width <= height;
    const int short_side = portrait ? width : height;
    const int long_side = portrait ? height : width;
    const int new_long = static_cast<int>(static_cast<double>(static_cast<long long>(o.shortest_edge) * long_side) /
                                          static_cast<double>(short_side));
    return portrait ? ImageSize{new_long, o.shortest_edge} : ImageSize{o.shortest_edge, new_long};
}

// Python's floor division, for crop offsets that go negative when the crop pads.
int floor_half(int v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

} // namespace

const char* to_string(Resample resample) {
    switch (resample) {
    case Resample::nearest: return "nearest";
    case Resample::lanczos: return "lanczos";
    case Resample::bilinear: return "bilinear";
    case Resample::bicubic: return "bicubic";
    case Resample::box: return "box";
    case Resample::hamming: return "hamming";
    }
    return "unknown";
}

Image resize_image(const Image& image, ImageSize size, Resample resample, PillowPassOrder order) {
    if (image.width < 1 || image.height < 1 || image.rgb.size() != std::size_t(image.width) * image.height * 3)
        throw Error("image resize: the input image is empty or its pixel buffer does not match " +
                    std::to_string(image.width) + "x" + std::to_string(image.height));
    if (size.width < 1 || size.height < 1)
        throw Error("image resize: target size " + std::to_string(size.height) + "x" + std::to_string(size.width) +
                    " (height x width) must be at least 1x1");
    Image out;
    out.width = size.width;
    out.height = size.height;
    out.rgb = resize_window(image, size.width, size.height, resample, order, 0, size.width, 0, size.height);
    return out;
}

ImageSize preprocessed_size(const ImageProcessorOptions& options, int width, int height) {
    return options.do_center_crop ? options.crop_size : resized_size(options, width, height);
}

void preprocess_into(const Image& image, const ImageProcessorOptions& options, float* out) {
    if (image.width < 1 || image.height < 1 || image.rgb.size() != std::size_t(image.width) * image.height * 3)
        throw Error("image preprocessing: the input image is empty or its pixel buffer does not match " +
                    std::to_string(image.width) + "x" + std::to_string(image.height));
    check_options(options);
    const ImageSize rs = resized_size(options, image.width, image.height);
    if (rs.width < 1 || rs.height < 1)
        throw Error("image preprocessing: a " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                    " image resizes to nothing (shortest_edge " + std::to_string(options.shortest_edge) + ")");
    const ImageSize os = preprocessed_size(options, image.width, image.height);

    // transformers' center_crop: output pixel (y, x) is resized pixel (top + y, left + x),
    // black where that falls outside (the zero padding it adds for small images).
    int top = 0, left = 0;
    if (options.do_center_crop) {
        top = floor_half(rs.height - os.height);
        left = floor_half(rs.width - os.width);
    }
    const int x0 = std::max(left, 0), x1 = std::min(left + os.width, rs.width);
    const int y0 = std::max(top, 0), y1 = std::min(top + os.height, rs.height);

    std::vector<std::uint8_t> window;
    const std::uint8_t* pixels;
    if (options.do_resize) {
        window = resize_window(image, rs.width, rs.height, options.resample, options.pass_order, x0, x1, y0, y1);
        pixels = window.data();
    } else {
        pixels = image.rgb.data() + (static_cast<std::size_t>(y0) * image.width + x0) * 3;
    }
    const std::size_t pixel_stride = options.do_resize ? std::size_t(x1 - x0) * 3 : std::size_t(image.width) * 3;

    // Everything after the crop maps one uint8 to one float per channel: numpy's steps,
    // tabulated. rescale: float64 multiply, then float32; normalize: float32 throughout.
    float lut[3][256];
    for (int c = 0; c < 3; ++c) {
        for (int v = 0; v < 256; ++v) {
            float f = static_cast<float>(v);
            if (options.do_rescale) {
                f = static_cast<float>(static_cast<double>(v) * options.rescale_factor);
                if (options.rescale_offset) f = f - 1.0f;
            }
            if (options.do_normalize) f = (f - options.image_mean[c]) / options.image_std[c];
            if (options.include_top) f = (f - 0.0f) / options.image_std[c];
            lut[c][v] = f;
        }
    }

    const std::size_t plane = static_cast<std::size_t>(os.height) * os.width;
    for (int y = 0; y < os.height; ++y) {
        const int sy = top + y;
        float* o0 = out + static_cast<std::size_t>(y) * os.width;
        float* o1 = o0 + plane;
        float* o2 = o1 + plane;
        if (sy < y0 || sy >= y1) {
            std::fill_n(o0, os.width, lut[0][0]);
            std::fill_n(o1, os.width, lut[1][0]);
            std::fill_n(o2, os.width, lut[2][0]);
            continue;
        }
        const std::uint8_t* row = pixels + static_cast<std::size_t>(sy - y0) * pixel_stride;
        for (int x = 0; x < os.width; ++x) {
            const int sx = left + x;
            if (sx < x0 || sx >= x1) {
                o0[x] = lut[0][0];
                o1[x] = lut[1][0];
                o2[x] = lut[2][0];
                continue;
            }
            const std::uint8_t* p = row + static_cast<std::size_t>(sx - x0) * 3;
            o0[x] = lut[0][p[0]];
            o1[x] = lut[1][p[1]];
            o2[x] = lut[2][p[2]];
        }
    }
}

FloatImage preprocess(const Image& image, const ImageProcessorOptions& options) {
    FloatImage result;
    check_options(options);
    const ImageSize os = preprocessed_size(options, std::max(image.width, 1), std::max(image.height, 1));
    result.channels = 3;
    result.height = os.height;
    result.width = os.width;
    result.data.resize(3 * static_cast<std::size_t>(std::max(os.height, 0)) * std::max(os.width, 0));
    preprocess_into(image, options, result.data.data());
    return result;
}

// ---- preprocessor_config.json ----------------------------------------------------------

namespace {

using nlohmann::json;

constexpr const char* accepted_types =
    "ViTImageProcessor, CLIPImageProcessor, BitImageProcessor, EfficientNetImageProcessor";

struct ProcessorType {
    std::string name;
    ImageProcessorOptions defaults;
    bool default_to_square = true; // what an integer `size` means
};

bool processor_type(std::string_view requested, ProcessorType& out) {
    std::string name(requested);
    for (const char* suffix : {"Fast", "Pil"}) {
        const std::size_t n = std::char_traits<char>::length(suffix);
        if (name.size() > n && name.compare(name.size() - n, n, suffix) == 0) name.resize(name.size() - n);
    }
    const std::string old_suffix = "FeatureExtractor";
    if (name.size() > old_suffix.size() && name.compare(name.size() - old_suffix.size(), old_suffix.size(), old_suffix) == 0)
        name = name.substr(0, name.size() - old_suffix.size()) + "ImageProcessor";

    ImageProcessorOptions o;
    constexpr std::array<float, 3> clip_mean{0.48145466f, 0.4578275f, 0.40821073f};
    constexpr std::array<float, 3> clip_std{0.26862954f, 0.26130258f, 0.27577711f};
    if (name == "ViTImageProcessor") {
        o.do_convert_rgb = false;
        out = {name, o, true};
    } else if (name == "CLIPImageProcessor" || name == "BitImageProcessor") {
        o.size = {0, 0};
        o.shortest_edge = 224;
        o.resample = Resample::bicubic;
        o.do_center_crop = true;
        o.crop_size = {224, 224};
        o.image_mean = clip_mean;
        o.image_std = clip_std;
        out = {name, o, false};
    } else if (name == "EfficientNetImageProcessor") {
        o.size = {346, 346};
        o.resample = Resample::bicubic;
        o.crop_size = {289, 289};
        o.include_top = true;
        o.do_convert_rgb = false;
        out = {name, o, true};
    } else {
        return false;
    }
    return true;
}

class ConfigReader {
public:
    ConfigReader(std::string path, const json& doc) : path_(std::move(path)), doc_(doc) {}

    [[noreturn]] void fail(const std::string& key, const std::string& what) const {
        throw Error("preprocessor config " + path_ + ": key '" + key + "': " + what);
    }

    // nullptr for an absent key or null: transformers then keeps the class default.
    const json* find(const std::string& key) const {
        auto it = doc_.find(key);
        return it == doc_.end() || it->is_null() ? nullptr : &*it;
    }

    void read(const std::string& key, bool& out) const {
        if (const json* v = find(key)) {
            if (!v->is_boolean()) fail(key, "expected true or false, got " + shown(*v));
            out = v->get<bool>();
        }
    }

    void read(const std::string& key, double& out) const {
        if (const json* v = find(key)) {
            if (!v->is_number()) fail(key, "expected a number, got " + shown(*v));
            out = v->get<double>();
        }
    }

    int positive_int(const std::string& key, const json& v) const {
        if (!v.is_number_integer() || v.get<long long>() < 1 || v.get<long long>() > 65535)
            fail(key, "expected an integer from 1 to 65535, got " + shown(v));
        return v.get<int>();
    }

    void read_channels(const std::string& key, std::array<float, 3>& out) const {
        const json* v = find(key);
        if (!v) return;
        if (v->is_number()) {
            out.fill(static_cast<float>(v->get<double>()));
            return;
        }
        if (!v->is_array() || v->size() != 3 || !std::all_of(v->begin(), v->end(), [](const json& e) { return e.is_number(); }))
            fail(key, "expected a number or a list of 3 numbers (one per RGB channel), got " + shown(*v));
        for (int c = 0; c < 3; ++c) out[c] = static_cast<float>((*v)[c].get<double>());
    }

    void read_resample(const std::string& key, Resample& out) const {
        const json* v = find(key);
        if (!v) return;
        if (!v->is_number_integer() || v->get<long long>() < 0 || v->get<long long>() > 5)
            fail(key, "expected a PIL filter number (accepted: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, "
                      "5 hamming), got " + shown(*v));
        out = static_cast<Resample>(v->get<int>());
    }

    // {"height", "width"}, [height, width], {"shortest_edge"} or an integer.
    void read_size(const std::string& key, ImageSize& size, int* shortest_edge, bool default_to_square) const {
        const json* v = find(key);
        if (!v) return;
        const std::string accepted = shortest_edge ? "an integer, [height, width], {\"height\": H, \"width\": W} or "
                                                     "{\"shortest_edge\": S}"
                                                   : "an integer, [height, width] or {\"height\": H, \"width\": W}";
        auto square = [&](int s) {
            if (shortest_edge) *shortest_edge = 0;
            size = {s, s};
        };
        if (v->is_number_integer()) {
            const int s = positive_int(key, *v);
            if (shortest_edge && !default_to_square) {
                *shortest_edge = s;
                size = {0, 0};
            } else {
                square(s);
            }
        } else if (v->is_array() && v->size() == 2) {
            const int h = positive_int(key + "[0]", (*v)[0]);
            const int w = positive_int(key + "[1]", (*v)[1]);
            square(0);
            size = {h, w};
        } else if (v->is_object()) {
            std::vector<std::string> keys;
            for (auto it = v->begin(); it != v->end(); ++it) keys.push_back(it.key());
            std::sort(keys.begin(), keys.end());
            if (keys == std::vector<std::string>{"height", "width"}) {
                const int h = positive_int(key + ".height", (*v)["height"]);
                const int w = positive_int(key + ".width", (*v)["width"]);
                square(0);
                size = {h, w};
            } else if (shortest_edge && keys == std::vector<std::string>{"shortest_edge"}) {
                *shortest_edge = positive_int(key + ".shortest_edge", (*v)["shortest_edge"]);
                size = {0, 0};
            } else {
                fail(key, "unsupported keys " + shown(*v) + " (accepted: " + accepted + ")");
            }
        } else {
            fail(key, "expected " + accepted + ", got " + shown(*v));
        }
    }

    static std::string shown(const json& v) {
        std::string s = v.dump();
        if (s.size() > 80) s = s.substr(0, 77) + "...";
        return s + " (" + v.type_name() + ")";
    }

private:
    std::string path_;
    const json& doc_;
};

} // namespace

ImageProcessorOptions image_processor_defaults(std::string_view type) {
    ProcessorType t;
    if (!processor_type(type, t))
        throw Error("unknown image processor type '" + std::string(type) + "' (accepted: " + accepted_types + ")");
    return t.defaults;
}

ImageProcessorOptions read_preprocessor_config(const std::string& json_path) {
    std::string path = json_path;
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) path = (std::filesystem::path(path) / "preprocessor_config.json").string();
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error("preprocessor config " + path + ": " +
                    (std::filesystem::exists(path, ec) ? "cannot be read" : "no such file"));
    }
    std::ostringstream text;
    text << in.rdbuf();
    json doc;
    try {
        doc = json::parse(text.str());
    } catch (const json::parse_error& e) {
        throw Error("preprocessor config " + path + ": not valid JSON at byte " + std::to_string(e.byte) + ": " +
                    e.what());
    } catch (const json::exception& e) {
        // A number beyond a double (1e400) is out_of_range, not a parse_error.
        throw Error("preprocessor config " + path + ": not valid JSON: " + e.what() + " (numbers must fit a double)");
    }
    if (!doc.is_object())
        throw Error("preprocessor config " + path + ": expected a JSON object, got " + ConfigReader::shown(doc));
    const ConfigReader r(path, doc);

    std::string type_key = "image_processor_type";
    const json* type = r.find(type_key);
    if (!type) {
        type_key = "feature_extractor_type";
        type = r.find(type_key);
    }
    if (!type)
        throw Error("preprocessor config " + path +
                    ": neither 'image_processor_type' nor 'feature_extractor_type' is set, so the defaults are "
                    "unknown (accepted types: " + std::string(accepted_types) + ")");
    if (!type->is_string()) r.fail(type_key, "expected a string, got " + ConfigReader::shown(*type));
    ProcessorType t;
    if (!processor_type(type->get<std::string>(), t))
        r.fail(type_key, "unknown image processor type '" + type->get<std::string>() + "' (accepted: " +
                             accepted_types + ")");

    ImageProcessorOptions o = t.defaults;
    r.read("do_resize", o.do_resize);
    r.read_size("size", o.size, &o.shortest_edge, t.default_to_square);
    r.read_resample("resample", o.resample);
    r.read("do_center_crop", o.do_center_crop);
    r.read_size("crop_size", o.crop_size, nullptr, true);
    r.read("do_rescale", o.do_rescale);
    r.read("rescale_factor", o.rescale_factor);
    r.read("rescale_offset", o.rescale_offset);
    r.read("do_normalize", o.do_normalize);
    r.read_channels("image_mean", o.image_mean);
    r.read_channels("image_std", o.image_std);
    r.read("include_top", o.include_top);
    r.read("do_convert_rgb", o.do_convert_rgb);
    return o;
}

} // namespace msa::media

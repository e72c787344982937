// Encoder plugins turn samples of one modality into feature tensors.
#pragma once

#include <msa/sample.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace msa {

enum class Modality { text, image };

inline const char* to_string(Modality m) { return m == Modality::text ? "text" : "image"; }

// What an encoder produces for a batch of N samples.
struct Features {
    at::Tensor pooled; // [N, D] float
    at::Tensor tokens; // [N, T, D] token or patch sequence; undefined when not produced
    at::Tensor mask;   // [N, T] 1 for real tokens; undefined when tokens is
};

struct EncoderBatch {
    std::vector<const Sample*> samples;
};

class __attribute__((visibility("default"))) Encoder {
public:
    virtual ~Encoder() = default;
    virtual Modality modality() const = 0;
    // Width D of the pooled features.
    virtual std::int64_t dim() const = 0;
    // Identity of everything that changes the output besides the plugin's name and
    // version: checkpoint digest, preprocessing, pooling. The feature store keys on it.
    virtual std::string cache_key() const = 0;
    virtual Features encode(const EncoderBatch& batch) = 0;
    // How many samples the host should pass to encode() at once.
    virtual std::int64_t batch_size() const { return 64; }
};

} // namespace msa

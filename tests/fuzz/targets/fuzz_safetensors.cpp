// read_safetensors on arbitrary bytes: every tensor it accepts lies inside the file.
#include "fuzz_target.hpp"

#include <msa/models/checkpoint.hpp>

#include <ATen/ATen.h>

MSA_FUZZ_TARGET(safetensors) {
    const auto file = msa::fuzz::write_scratch("model.safetensors", {reinterpret_cast<const char*>(data), size});
    const msa::models::StateDict weights = msa::models::read_safetensors(file);
    std::size_t bytes = 0;
    for (const auto& [name, tensor] : weights) {
        if (name.empty()) msa::fuzz::fail("safetensors: a tensor with an empty name was accepted");
        if (!tensor.defined()) msa::fuzz::fail("safetensors: tensor '" + name + "' is undefined");
        const auto contiguous = tensor.contiguous();
        const std::size_t n = contiguous.nbytes();
        bytes += n;
        // Touch every byte, so a view outside the mapping faults here.
        const auto* p = static_cast<const unsigned char*>(contiguous.data_ptr());
        unsigned sum = 0;
        for (std::size_t i = 0; i < n; ++i) sum += p[i];
        (void)sum;
    }
    if (bytes > size) msa::fuzz::fail("safetensors: tensors hold more bytes than the file has");
}

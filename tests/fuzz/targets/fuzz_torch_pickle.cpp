// read_weights on arbitrary bytes: the restricted unpickler of torch.save zips and legacy
// files (and the safetensors reader when the bytes look like one).
#include "fuzz_target.hpp"

#include <msa/models/checkpoint.hpp>

#include <ATen/ATen.h>

MSA_FUZZ_TARGET(torch_pickle) {
    const auto file = msa::fuzz::write_scratch("pytorch_model.bin", {reinterpret_cast<const char*>(data), size});
    const msa::models::StateDict weights = msa::models::read_weights(file);
    for (const auto& [name, tensor] : weights) {
        if (!tensor.defined()) msa::fuzz::fail("torch_pickle: tensor '" + name + "' is undefined");
        const auto contiguous = tensor.contiguous();
        const auto* p = static_cast<const unsigned char*>(contiguous.data_ptr());
        unsigned sum = 0;
        for (std::size_t i = 0; i < contiguous.nbytes(); ++i) sum += p[i];
        (void)sum;
    }
}

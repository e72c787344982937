#include "layer_stack.hpp"

#include <msa/error.hpp>

#include <string>

namespace msa::models::detail {

namespace {

std::string layers_are(std::int64_t layers) {
    return "the model has layers 0 to " + std::to_string(layers - 1);
}

} // namespace

void check_layer_range(const char* who, std::int64_t begin, std::int64_t end, std::int64_t layers) {
    if (begin < 0 || end > layers || begin > end)
        throw Error(std::string(who) + ": cannot run layers [" + std::to_string(begin) + ", " + std::to_string(end) +
                    "); " + layers_are(layers));
}

void check_layer_index(const char* who, std::int64_t index, std::int64_t layers) {
    if (index < 0 || index >= layers)
        throw Error(std::string(who) + ": no layer " + std::to_string(index) + "; " + layers_are(layers));
}

void check_token_states(const char* who, const at::Tensor& hidden, std::int64_t hidden_size,
                        const at::Tensor& attention_mask) {
    if (hidden.dim() != 3 || hidden.size(2) != hidden_size)
        throw Error(std::string(who) + ": hidden states must be [batch, tokens, " + std::to_string(hidden_size) +
                    "], found " + std::to_string(hidden.dim()) + " dimensions");
    if (attention_mask.defined() &&
        (attention_mask.dim() != 2 || attention_mask.size(0) != hidden.size(0) ||
         attention_mask.size(1) != hidden.size(1)))
        throw Error(std::string(who) + ": attention_mask must be [batch, tokens] = [" +
                    std::to_string(hidden.size(0)) + "," + std::to_string(hidden.size(1)) +
                    "] (1 = real token, 0 = padding)");
}

} // namespace msa::models::detail

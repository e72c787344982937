// Private checks shared by the layer-stack models (BertModel, MPNetModel, ViTModel): the
// arguments of run_layers() and layer(), said alike with the model's name in front.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace msa::models::detail {

// 0 <= begin <= end <= layers; else msa::Error "WHO: cannot run layers [begin, end); ...".
void check_layer_range(const char* who, std::int64_t begin, std::int64_t end, std::int64_t layers);

// 0 <= index < layers; else msa::Error "WHO: no layer INDEX; ...".
void check_layer_index(const char* who, std::int64_t index, std::int64_t layers);

// A text encoder's hidden states, [batch, tokens, hidden_size], and, when defined, its
// attention mask, [batch, tokens] (1 = real token, 0 = padding).
void check_token_states(const char* who, const at::Tensor& hidden, std::int64_t hidden_size,
                        const at::Tensor& attention_mask);

} // namespace msa::models::detail

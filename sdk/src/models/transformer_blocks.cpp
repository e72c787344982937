// Self-attention, padding masks, activations and name prefixes shared by the BERT-family and ViT encoders.
#include <msa/models/transformer_blocks.hpp>

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <set>
#include <utility>

namespace msa::models {

MultiHeadSelfAttentionImpl::MultiHeadSelfAttentionImpl(std::int64_t hidden_size, std::int64_t num_heads, bool bias,
                                                       double dropout)
    : num_heads_(num_heads), head_size_(num_heads > 0 ? hidden_size / num_heads : 0), dropout_(dropout) {
    if (num_heads <= 0 || hidden_size % num_heads != 0)
        throw Error("self-attention: hidden size " + std::to_string(hidden_size) +
                    " is not a multiple of the number of heads " + std::to_string(num_heads));
    scaling_ = 1.0 / std::sqrt(static_cast<double>(head_size_));
    query = register_module("query", torch::nn::Linear(torch::nn::LinearOptions(hidden_size, hidden_size).bias(bias)));
    key = register_module("key", torch::nn::Linear(torch::nn::LinearOptions(hidden_size, hidden_size).bias(bias)));
    value = register_module("value", torch::nn::Linear(torch::nn::LinearOptions(hidden_size, hidden_size).bias(bias)));
}

at::Tensor MultiHeadSelfAttentionImpl::forward(const at::Tensor& hidden, const at::Tensor& additive_mask) {
    const auto batch = hidden.size(0);
    const auto tokens = hidden.size(1);
    // [N,T,D] -> [N,heads,T,head_size]
    auto split_heads = [&](const at::Tensor& x) { return x.view({batch, tokens, num_heads_, head_size_}).transpose(1, 2); };
    const auto q = split_heads(query->forward(hidden));
    const auto k = split_heads(key->forward(hidden));
    const auto v = split_heads(value->forward(hidden));
    // Same order of operations as transformers' eager attention (scores, then scale).
    auto scores = at::matmul(q, k.transpose(2, 3)) * scaling_;
    if (additive_mask.defined()) scores = scores + additive_mask;
    // Half-precision softmax loses the small weights; transformers' ViT does it in float32 too.
    auto probs = at::softmax(scores, /*dim=*/-1, at::kFloat).to(scores.scalar_type());
    probs = at::dropout(probs, dropout_, is_training());
    return at::matmul(probs, v).transpose(1, 2).contiguous().view({batch, tokens, num_heads_ * head_size_});
}

at::Tensor additive_attention_mask(const at::Tensor& mask, at::ScalarType dtype) {
    if (mask.dim() != 2)
        throw Error("attention mask: expected [batch, tokens] (1 = real token, 0 = padding), found " +
                    std::to_string(mask.dim()) + " dimensions");
    double lowest = 0;
    switch (dtype) {
    case at::kFloat: lowest = std::numeric_limits<float>::lowest(); break;
    case at::kDouble: lowest = std::numeric_limits<double>::lowest(); break;
    case at::kHalf: lowest = std::numeric_limits<c10::Half>::lowest(); break;
    case at::kBFloat16: lowest = std::numeric_limits<c10::BFloat16>::lowest(); break;
    default: throw Error(std::string("attention mask: hidden states of type ") + c10::toString(dtype) +
                         " are not supported; accepted: float, double, half, bfloat16");
    }
    const auto keep = mask.ne(0).unsqueeze(1).unsqueeze(2);
    return at::where(keep, at::zeros({}, mask.options().dtype(dtype)), at::full({}, lowest, mask.options().dtype(dtype)));
}

const std::vector<std::pair<std::string, Activation::Kind>>& Activation::table() {
    // The names transformers' ACT2FN maps to these functions.
    static const std::vector<std::pair<std::string, Kind>> names{
        {"gelu", Kind::gelu},  // exact, with erf
        {"gelu_new", Kind::gelu_tanh_formula},
        {"gelu_fast", Kind::gelu_tanh_formula},
        {"gelu_pytorch_tanh", Kind::gelu_tanh},
        {"quick_gelu", Kind::quick_gelu},
        {"relu", Kind::relu},
        {"silu", Kind::silu},
        {"swish", Kind::silu},
        {"tanh", Kind::tanh},
    };
    return names;
}

Activation::Activation(const std::string& name) : name_(name) {
    for (const auto& [known, kind] : table())
        if (known == name) {
            kind_ = kind;
            return;
        }
    throw Error("activation '" + name + "' is not supported; accepted: " + accepted_names());
}

std::string Activation::accepted_names() {
    std::string list;
    for (const auto& [known, kind] : table()) list += (list.empty() ? "" : ", ") + known;
    return list;
}

bool Activation::accepts(const std::string& name) {
    for (const auto& [known, kind] : table())
        if (known == name) return true;
    return false;
}

at::Tensor Activation::operator()(const at::Tensor& x) const {
    switch (kind_) {
    case Kind::gelu: return at::gelu(x);
    case Kind::gelu_tanh_formula: {
        // transformers' NewGELUActivation spells the tanh approximation out; so do we, to
        // round the same way.
        const double sqrt_2_over_pi = std::sqrt(2.0 / M_PI);
        return 0.5 * x * (1.0 + at::tanh(sqrt_2_over_pi * (x + 0.044715 * at::pow(x, 3.0))));
    }
    case Kind::gelu_tanh: return at::gelu(x, "tanh");
    case Kind::quick_gelu: return x * at::sigmoid(1.702 * x);  // CLIP's approximation
    case Kind::relu: return at::relu(x);
    case Kind::silu: return at::silu(x);
    case Kind::tanh: return at::tanh(x);
    }
    return x;
}

std::string find_name_prefix(const StateDict& weights, const std::string& anchor, const std::string& source,
                             const std::string& architecture) {
    std::set<std::string> prefixes;
    for (const auto& [name, tensor] : weights) {
        if (name.size() < anchor.size() || name.compare(name.size() - anchor.size(), anchor.size(), anchor) != 0)
            continue;
        const auto prefix = name.substr(0, name.size() - anchor.size());
        if (prefix.empty() || prefix.back() == '.') prefixes.insert(prefix);
    }
    if (prefixes.size() == 1) return *prefixes.begin();
    if (prefixes.empty()) {
        std::string sample;
        int shown = 0;
        for (const auto& [name, tensor] : weights) {
            if (shown++ == 3) break;
            sample += (sample.empty() ? "'" : ", '") + name + "'";
        }
        throw CheckpointError(source + ": no tensor named '" + anchor + "' (with or without a prefix such as 'bert.'); " +
                              "this is not a " + architecture + " checkpoint" +
                              (sample.empty() ? std::string(" (it holds no tensors)") : "; its names look like " + sample));
    }
    std::string list;
    for (const auto& prefix : prefixes) list += (list.empty() ? "'" : ", '") + prefix + "'";
    throw CheckpointError(source + ": '" + anchor + "' appears under several prefixes (" + list +
                          "); the checkpoint holds more than one " + architecture + " model and the one to use is ambiguous");
}

} // namespace msa::models

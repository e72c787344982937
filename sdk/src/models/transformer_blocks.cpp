// Self-attention, padding masks, activations and name prefixes shared by the BERT-family, MPNet and ViT encoders.
#include <msa/models/transformer_blocks.hpp>

#include <msa/models/autocast.hpp>

#include <ATen/Parallel.h>
#include <dnnl.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <set>
#include <utility>

namespace msa::models {

MultiHeadSelfAttentionImpl::MultiHeadSelfAttentionImpl(std::int64_t hidden_size, std::int64_t num_heads, bool bias,
                                                       double dropout)
    : MultiHeadSelfAttentionImpl(hidden_size, num_heads, bias, dropout, ProjectionNames{}) {}

MultiHeadSelfAttentionImpl::MultiHeadSelfAttentionImpl(std::int64_t hidden_size, std::int64_t num_heads, bool bias,
                                                       double dropout, const ProjectionNames& names)
    : num_heads_(num_heads), head_size_(num_heads > 0 ? hidden_size / num_heads : 0), dropout_(dropout) {
    if (num_heads <= 0 || hidden_size % num_heads != 0)
        throw Error("self-attention: hidden size " + std::to_string(hidden_size) +
                    " is not a multiple of the number of heads " + std::to_string(num_heads));
    scaling_ = 1.0 / std::sqrt(static_cast<double>(head_size_));
    query = register_module(names.query, Linear(torch::nn::LinearOptions(hidden_size, hidden_size).bias(bias)));
    key = register_module(names.key, Linear(torch::nn::LinearOptions(hidden_size, hidden_size).bias(bias)));
    value = register_module(names.value, Linear(torch::nn::LinearOptions(hidden_size, hidden_size).bias(bias)));
}

namespace {

void sgemm(char transb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a, std::int64_t lda,
           const float* b, std::int64_t ldb, float* c, std::int64_t ldc) {
    if (dnnl_sgemm('N', transb, m, n, k, alpha, a, lda, b, ldb, 0.0F, c, ldc) != dnnl_success)
        throw Error("self-attention: oneDNN's sgemm failed on a [" + std::to_string(m) + " x " + std::to_string(k) +
                    "] block");
}

} // namespace

bool self_attention_inference_applies(const torch::nn::Module& attention, const at::Tensor& hidden, double dropout) {
    if (!hidden.device().is_cpu() || hidden.scalar_type() != at::kFloat || hidden.dim() != 3) return false;
    if (!onednn_sgemm_works()) return false;
    if (cpu_autocast_enabled()) return false; // bfloat16 matmuls asked for: LibTorch's path has them
    if (attention.is_training() && dropout > 0) return false;
    if (!at::GradMode::is_enabled()) return true;
    if (hidden.requires_grad()) return false;
    for (const auto& parameter : attention.parameters())
        if (parameter.requires_grad()) return false;
    return true;
}

at::Tensor self_attention_inference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                    std::int64_t num_heads, double scaling, const at::Tensor& additive_mask) {
    const auto batch = q.size(0);
    const auto tokens = q.size(1);
    const auto width = q.size(2);
    const auto head_size = width / num_heads;
    const auto qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
    const float* qp = qc.data_ptr<float>();
    const float* kp = kc.data_ptr<float>();
    const float* vp = vc.data_ptr<float>();
    // Head h of sample n is a [tokens x head_size] block with row stride `width` inside
    // [N,T,D]: the products read and write it in place, without the transposes.
    auto scores = at::empty({batch, num_heads, tokens, tokens}, q.options());
    float* sp = scores.data_ptr<float>();
    // Nested inside parallel_for, each sgemm runs on the calling thread.
    at::parallel_for(0, batch * num_heads, 1, [&](std::int64_t begin, std::int64_t end) {
        for (auto i = begin; i < end; ++i) {
            const auto offset = (i / num_heads) * tokens * width + (i % num_heads) * head_size;
            sgemm('T', tokens, tokens, head_size, static_cast<float>(scaling), qp + offset, width, kp + offset, width,
                  sp + i * tokens * tokens, tokens);
        }
    });
    if (additive_mask.defined()) scores.add_(additive_mask);
    const auto probs = at::softmax(scores, /*dim=*/-1);
    const float* pp = probs.data_ptr<float>();
    auto context = at::empty({batch, tokens, width}, q.options());
    float* cp = context.data_ptr<float>();
    at::parallel_for(0, batch * num_heads, 1, [&](std::int64_t begin, std::int64_t end) {
        for (auto i = begin; i < end; ++i) {
            const auto offset = (i / num_heads) * tokens * width + (i % num_heads) * head_size;
            sgemm('N', tokens, head_size, tokens, 1.0F, pp + i * tokens * tokens, tokens, vp + offset, width,
                  cp + offset, width);
        }
    });
    return context;
}

at::Tensor MultiHeadSelfAttentionImpl::forward(const at::Tensor& hidden, const at::Tensor& additive_mask) {
    const auto batch = hidden.size(0);
    const auto tokens = hidden.size(1);
    if (self_attention_inference_applies(*this, hidden, dropout_))
        return self_attention_inference(query->forward(hidden), key->forward(hidden), value->forward(hidden),
                                        num_heads_, scaling_, additive_mask);
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

void check_token_ids(const at::Tensor& input_ids, std::int64_t vocab_size, std::int64_t max_tokens,
                     std::int64_t positions, const std::string& model) {
    if (input_ids.dim() != 2 || at::isFloatingType(input_ids.scalar_type()))
        throw Error(model + ": input_ids must be an integer tensor [batch, tokens], found " +
                    std::string(c10::toString(input_ids.scalar_type())) + " with " + std::to_string(input_ids.dim()) +
                    " dimensions");
    const auto tokens = input_ids.size(1);
    if (tokens > max_tokens)
        throw Error(model + ": " + std::to_string(tokens) + " tokens per sequence, but the model has " +
                    std::to_string(positions) + " position embeddings; at most " + std::to_string(max_tokens) +
                    " tokens fit (truncate the text)");
    if (input_ids.numel() == 0) return;
    const auto low = input_ids.min().item<std::int64_t>();
    const auto high = input_ids.max().item<std::int64_t>();
    if (low < 0 || high >= vocab_size)
        throw Error(model + ": input_ids holds token id " + std::to_string(low < 0 ? low : high) +
                    ", outside the vocabulary [0, " + std::to_string(vocab_size) +
                    "); the tokenizer does not belong to this checkpoint");
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

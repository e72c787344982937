// The oneDNN inference paths of libmsa-models (Linear, self_attention_inference) against
// LibTorch's own operations, and the cases that must fall back to LibTorch: gradients,
// other dtypes, bad shapes.
#include "test_skip.hpp"

#include <msa/models/linear.hpp>
#include <msa/models/transformer_blocks.hpp>

#include <catch2/catch.hpp>
#include <torch/torch.h>

using namespace msa::models;

namespace {

double max_abs(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

// The reference: transformers' eager attention, written with LibTorch's batched matmul.
at::Tensor eager_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, std::int64_t heads,
                           double scaling, const at::Tensor& mask) {
    const auto n = q.size(0), t = q.size(1), d = q.size(2);
    auto split = [&](const at::Tensor& x) { return x.view({n, t, heads, d / heads}).transpose(1, 2); };
    auto scores = at::matmul(split(q), split(k).transpose(2, 3)) * scaling;
    if (mask.defined()) scores = scores + mask;
    return at::matmul(at::softmax(scores, -1), split(v)).transpose(1, 2).reshape({n, t, d});
}

} // namespace

TEST_CASE("Linear equals torch::nn::Linear in inference, with and without bias, for any leading shape",
          "[inference-kernels]") {
    torch::manual_seed(3);
    for (const bool bias : {true, false}) {
        Linear ours(torch::nn::LinearOptions(48, 80).bias(bias));
        torch::NoGradGuard no_grad;
        for (const auto& shape : std::vector<std::vector<std::int64_t>>{{7, 48}, {2, 5, 48}, {48}, {3, 1, 2, 48}}) {
            const auto x = torch::randn(shape);
            const auto expected = at::linear(x, ours->weight, ours->bias);
            const auto out = ours->forward(x);
            CHECK(out.sizes() == expected.sizes());
            CHECK(max_abs(out, expected) < 1e-5);
        }
        // A non-contiguous input (a transposed view) reads the same values.
        const auto wide = torch::randn({48, 6});
        CHECK(max_abs(ours->forward(wide.t()), at::linear(wide.t().contiguous(), ours->weight, ours->bias)) < 1e-5);
        // No rows: the right shape, nothing computed.
        CHECK(ours->forward(torch::randn({0, 48})).sizes() == std::vector<std::int64_t>{0, 80});
    }
}

TEST_CASE("Linear leaves its bias alone: one row at a time gives the same result every call", "[inference-kernels]") {
    // A single row's expanded bias is contiguous already; sgemm once accumulated into the
    // bias itself, so each call shifted the next (a batch of one through a pooler, an MLM
    // head at one position).
    torch::manual_seed(6);
    Linear layer(16, 8);
    torch::NoGradGuard no_grad;
    const auto bias = layer->bias.clone();
    for (const auto& shape : std::vector<std::vector<std::int64_t>>{{16}, {1, 16}, {1, 1, 16}}) {
        const auto x = torch::randn(shape);
        const auto first = layer->forward(x);
        const auto second = layer->forward(x);
        CHECK(max_abs(first, second) == 0.0);
        CHECK(max_abs(first, at::linear(x, layer->weight, layer->bias)) < 1e-5);
        CHECK(max_abs(layer->bias, bias) == 0.0);
    }
    // The free function with a caller's bias, as an MLM head's decoder calls it.
    const auto weight = torch::randn({5, 16}), b = torch::randn({5}), b_before = b.clone();
    linear(torch::randn({16}), weight, b);
    CHECK(max_abs(b, b_before) == 0.0);
}

TEST_CASE("Linear keeps autograd when gradients are needed, and LibTorch's path for other dtypes and bad shapes",
          "[inference-kernels]") {
    torch::manual_seed(4);
    Linear layer(12, 5);
    const auto x = torch::randn({4, 12});
    // Trainable weights with grad mode on: the result is part of the graph.
    auto y = layer->forward(x);
    REQUIRE(y.requires_grad());
    y.sum().backward();
    CHECK(layer->weight.grad().defined());
    // An input that requires gradients, frozen weights: gradients still reach the input.
    for (auto& p : layer->parameters()) p.set_requires_grad(false);
    const auto input = torch::randn({4, 12}, torch::requires_grad());
    layer->forward(input).sum().backward();
    CHECK(input.grad().defined());
    torch::NoGradGuard no_grad;
    // A wrong width is LibTorch's own shape error, not a read past the end.
    CHECK_THROWS_WITH(layer->forward(torch::randn({4, 13})), Catch::Matchers::Contains("shapes cannot be multiplied"));
    // bfloat16 goes to at::linear (oneDNN's bfloat16 matmul inside LibTorch).
    const auto expected = at::linear(x, layer->weight, layer->bias);
    layer->to(at::kBFloat16);
    const auto bf = layer->forward(x.to(at::kBFloat16));
    CHECK(bf.scalar_type() == at::kBFloat16);
    CHECK(max_abs(bf.to(at::kFloat), expected) < 0.1);
}

TEST_CASE("self_attention_inference equals eager attention, with and without a padding mask",
          "[inference-kernels]") {
    if (!onednn_sgemm_works())
        MSA_SKIP("oneDNN's sgemm does not compute in this process (pip's LibTorch carries its own oneDNN): "
                 "self-attention takes LibTorch's path");
    torch::manual_seed(5);
    const std::int64_t n = 3, t = 9, heads = 4, d = 32;
    const auto q = torch::randn({n, t, d}), k = torch::randn({n, t, d}), v = torch::randn({n, t, d});
    const double scaling = 1.0 / std::sqrt(static_cast<double>(d / heads));
    // Sample 0 has no padding, sample 1 four real tokens, sample 2 eight.
    auto padding = torch::ones({n, t}, at::kLong);
    padding[1].slice(0, 4).fill_(0);
    padding[2].slice(0, 8).fill_(0);
    const auto mask = additive_attention_mask(padding, at::kFloat);
    CHECK(max_abs(self_attention_inference(q, k, v, heads, scaling, {}), eager_attention(q, k, v, heads, scaling, {})) <
          1e-5);
    CHECK(max_abs(self_attention_inference(q, k, v, heads, scaling, mask),
                  eager_attention(q, k, v, heads, scaling, mask)) < 1e-5);
    // Padding keys get no weight: changing them changes nothing for sample 1.
    auto k2 = k.clone(), v2 = v.clone();
    k2[1].slice(0, 4).normal_();
    v2[1].slice(0, 4).normal_();
    CHECK(max_abs(self_attention_inference(q, k2, v2, heads, scaling, mask)[1],
                  self_attention_inference(q, k, v, heads, scaling, mask)[1]) == 0.0);
    // A causal [1,1,T,T] mask broadcasts like the padding one (CLIP's text tower).
    const auto causal = at::zeros({t, t}).masked_fill(at::ones({t, t}, at::kBool).triu(1), -1e30).view({1, 1, t, t});
    CHECK(max_abs(self_attention_inference(q, k, v, heads, scaling, causal),
                  eager_attention(q, k, v, heads, scaling, causal)) < 1e-5);
}

TEST_CASE("self-attention modules take the inference kernels only when nothing needs gradients",
          "[inference-kernels]") {
    if (!onednn_sgemm_works())
        MSA_SKIP("oneDNN's sgemm does not compute in this process (pip's LibTorch carries its own oneDNN): "
                 "self-attention takes LibTorch's path");
    torch::manual_seed(6);
    MultiHeadSelfAttention attention(16, 2, /*bias=*/true, /*dropout=*/0.1);
    const auto hidden = torch::randn({2, 5, 16});
    {
        torch::NoGradGuard no_grad;
        attention->eval();
        CHECK(self_attention_inference_applies(*attention, hidden, 0.1));
        // Dropout while training, and other dtypes: LibTorch's path.
        attention->train();
        CHECK_FALSE(self_attention_inference_applies(*attention, hidden, 0.1));
        CHECK(self_attention_inference_applies(*attention, hidden, 0.0));
        attention->eval();
        CHECK_FALSE(self_attention_inference_applies(*attention, hidden.to(at::kBFloat16), 0.1));
    }
    // Grad mode on and weights that require gradients (a trainable top layer), or an
    // input that requires them: LibTorch's path, so autograd records the graph.
    CHECK_FALSE(self_attention_inference_applies(*attention, hidden, 0.1));
    for (auto& p : attention->parameters()) p.set_requires_grad(false);
    CHECK(self_attention_inference_applies(*attention, hidden, 0.1));
    CHECK_FALSE(self_attention_inference_applies(*attention, torch::randn({2, 5, 16}, torch::requires_grad()), 0.1));
    // Both paths give the same output.
    torch::NoGradGuard no_grad;
    const auto fast = attention->forward(hidden, {});
    const auto q = attention->query->forward(hidden), k = attention->key->forward(hidden),
               v = attention->value->forward(hidden);
    CHECK(max_abs(fast, eager_attention(q, k, v, 2, 1.0 / std::sqrt(8.0), {})) < 1e-5);
}

// The trainer's AdamW (one pass a parameter) against LibTorch's torch::optim::AdamW with
// clip_grad_norm_: the same parameters after the same steps, on the CPU and on CUDA.
#include "train/adamw.hpp"

#include "test_skip.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <vector>

using msa::train::AdamW;

namespace {

// Parameters of the shapes a head has, in two groups, with `dtype` for the second group
// (float32: every parameter takes the element loop; double: the tensor-operation path).
// On CUDA every parameter takes the tensor-operation path.
std::vector<std::vector<at::Tensor>> make_parameters(at::ScalarType second, const torch::Device& device) {
    torch::manual_seed(7);
    const auto on = [&](const at::Tensor& t) { return t.to(device).requires_grad_(); };
    return {{on(torch::randn({300, 70})), on(torch::randn({300}))},
            {on(torch::randn({3, 300}, torch::dtype(second))), on(torch::randn({3}, torch::dtype(second)))}};
}

std::vector<std::vector<at::Tensor>> copy_of(const std::vector<std::vector<at::Tensor>>& groups) {
    std::vector<std::vector<at::Tensor>> out;
    for (const auto& g : groups) {
        out.emplace_back();
        for (const auto& p : g) out.back().push_back(p.detach().clone().requires_grad_());
    }
    return out;
}

// A loss that gives every parameter a gradient, large enough that `clip` clips it.
at::Tensor loss_of(const std::vector<std::vector<at::Tensor>>& groups, const at::Tensor& x, double gain) {
    const at::Tensor h = torch::tanh(torch::matmul(x, groups[0][0].t()) + groups[0][1]);
    const at::Tensor logits = torch::matmul(h.to(groups[1][0].scalar_type()), groups[1][0].t()) + groups[1][1];
    return logits.pow(2).mean() * gain;
}

void compare_with_libtorch(at::ScalarType second, double clip, double gain, const torch::Device& device = torch::kCPU) {
    auto ours = make_parameters(second, device);
    auto theirs = copy_of(ours);
    AdamW adamw({{ours[0], 1e-2, 0.01}, {ours[1], 3e-3, 0.1}});
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(theirs[0], std::make_unique<torch::optim::AdamWOptions>(
                                       torch::optim::AdamWOptions(1e-2).weight_decay(0.01)));
    groups.emplace_back(theirs[1], std::make_unique<torch::optim::AdamWOptions>(
                                       torch::optim::AdamWOptions(3e-3).weight_decay(0.1)));
    torch::optim::AdamW reference(std::move(groups), torch::optim::AdamWOptions(1e-2));
    std::vector<at::Tensor> all_theirs = theirs[0];
    all_theirs.insert(all_theirs.end(), theirs[1].begin(), theirs[1].end());
    for (int step = 0; step < 5; ++step) {
        const at::Tensor x = torch::randn({32, 70}).to(device);
        // A schedule changes the rates between steps.
        adamw.groups()[0].learning_rate = 1e-2 / (step + 1);
        static_cast<torch::optim::AdamWOptions&>(reference.param_groups()[0].options()).lr(1e-2 / (step + 1));
        adamw.zero_grad();
        loss_of(ours, x, gain).backward();
        const double norm = adamw.step(clip);
        reference.zero_grad();
        loss_of(theirs, x, gain).backward();
        const double their_norm = clip > 0 ? torch::nn::utils::clip_grad_norm_(all_theirs, clip) : 0.0;
        reference.step();
        CHECK(norm == Approx(their_norm).epsilon(1e-5));
        if (clip > 0 && step == 0) CHECK(norm > clip); // the case clipping changes
    }
    for (std::size_t g = 0; g < ours.size(); ++g)
        for (std::size_t i = 0; i < ours[g].size(); ++i) {
            INFO("group " << g << ", parameter " << i);
            CHECK(ours[g][i].device().type() == device.type());
            CHECK(torch::allclose(ours[g][i], theirs[g][i], 1e-5, 1e-6));
            CHECK_FALSE(torch::equal(ours[g][i], make_parameters(second, device)[g][i])); // it moved
        }
}

} // namespace

TEST_CASE("AdamW matches LibTorch's AdamW with gradient clipping", "[adamw][trainer]") {
    SECTION("float32, every parameter in the element loop, clipped") { compare_with_libtorch(at::kFloat, 1.0, 50.0); }
    SECTION("float32, not clipped") { compare_with_libtorch(at::kFloat, 0.0, 1.0); }
    SECTION("a float64 group takes the tensor path, clipped") { compare_with_libtorch(at::kDouble, 1.0, 50.0); }
}

TEST_CASE("AdamW matches LibTorch's AdamW on CUDA parameters", "[adamw][trainer][cuda]") {
    MSA_SKIP_WITHOUT_CUDA();
    SECTION("float32, clipped") { compare_with_libtorch(at::kFloat, 1.0, 50.0, torch::kCUDA); }
    SECTION("float32, not clipped") { compare_with_libtorch(at::kFloat, 0.0, 1.0, torch::kCUDA); }
}

TEST_CASE("AdamW's zero_grad drops the gradients and skips parameters without one", "[adamw][trainer]") {
    at::Tensor used = torch::ones({4}).requires_grad_();
    at::Tensor unused = torch::ones({4}).requires_grad_();
    AdamW adamw({{{used, unused}, 0.1, 0.0}});
    (used * 2).sum().backward();
    REQUIRE(used.grad().defined());
    adamw.step(1.0);
    CHECK_FALSE(torch::equal(used, torch::ones({4})));
    CHECK(torch::equal(unused, torch::ones({4}))); // no gradient: not decayed, not moved
    adamw.zero_grad();
    CHECK_FALSE(used.grad().defined());
}

// The loss plugins (focal, class-balanced, acb, itc, itm), built through the real plugin
// catalog and checked against values worked out by hand.
#include "test_helpers.hpp"

#include <msa/loss.hpp>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

using namespace msa;
using Catch::Matchers::Contains;

namespace {

const PluginCatalog& catalog() { return test::builtin_catalog(); }

LossContext context(std::int64_t classes, std::vector<std::int64_t> counts, std::int64_t text_dim = 0,
                    std::int64_t image_dim = 0) {
    LossContext c;
    c.num_classes = classes;
    c.class_counts = std::move(counts);
    c.text_dim = text_dim;
    c.image_dim = image_dim;
    return c;
}

std::shared_ptr<Loss> make_loss(const std::string& name, const LossContext& ctx,
                                const std::map<std::string, Value>& overrides = {}) {
    return catalog().create_loss(name, test::properties(PluginKind::loss, name, overrides), ctx);
}

float value(Loss& loss, const at::Tensor& logits, const at::Tensor& targets) {
    return loss.forward({logits, targets, {}, {}}).item<float>();
}

at::Tensor buffer(const Loss& loss, const std::string& name) {
    for (const auto& item : loss.named_buffers())
        if (item.key() == name) return item.value();
    FAIL("no buffer " << name);
    return {};
}

// Softmax of one row, in double, for the hand-computed expectations.
std::vector<double> softmax(const std::vector<double>& row) {
    double sum = 0;
    for (double x : row) sum += std::exp(x);
    std::vector<double> p;
    for (double x : row) p.push_back(std::exp(x) / sum);
    return p;
}

const std::vector<std::vector<double>> rows{{2.0, 0.5, -1.0}, {0.1, 0.2, 3.0}};
const std::vector<int> row_targets{0, 2};
at::Tensor batch_logits() { return torch::tensor({{2.0f, 0.5f, -1.0f}, {0.1f, 0.2f, 3.0f}}); }
at::Tensor batch_targets() { return torch::tensor({0, 2}, torch::kLong); }

} // namespace

TEST_CASE("focal: gamma 0 is cross-entropy, gamma 2 and alpha match the formula", "[loss]") {
    const auto ctx = context(3, {10, 20, 30});
    const auto logits = batch_logits(), targets = batch_targets();
    const auto weights = Value{std::vector<double>{1.0, 2.0, 3.0}};
    auto ce = make_loss("cross-entropy", ctx);
    auto ce_weighted = make_loss("cross-entropy", ctx, {{"class_weights", weights}});
    auto focal0 = make_loss("focal", ctx, {{"gamma", Value{0.0}}});
    auto focal0_weighted = make_loss("focal", ctx, {{"gamma", Value{0.0}}, {"class_weights", weights}});
    CHECK(value(*focal0, logits, targets) == Approx(value(*ce, logits, targets)).epsilon(1e-6));
    CHECK(value(*focal0_weighted, logits, targets) == Approx(value(*ce_weighted, logits, targets)).epsilon(1e-6));

    // (1 - p_t)^2 · -log p_t, and alpha as a plain per-class multiplier of the mean.
    const std::vector<double> alpha{0.25, 1.0, 0.5};
    double plain = 0, balanced = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const double pt = softmax(rows[i])[static_cast<std::size_t>(row_targets[i])];
        const double term = (1 - pt) * (1 - pt) * -std::log(pt);
        plain += term / 2;
        balanced += alpha[static_cast<std::size_t>(row_targets[i])] * term / 2;
    }
    auto focal2 = make_loss("focal", ctx);
    CHECK(value(*focal2, logits, targets) == Approx(plain).epsilon(1e-5));
    CHECK(value(*focal2, logits, targets) < value(*ce, logits, targets));
    auto focal_alpha = make_loss("focal", ctx, {{"alpha", Value{alpha}}});
    CHECK(value(*focal_alpha, logits, targets) == Approx(balanced).epsilon(1e-5));

    // The gradient is finite even for a sample the model is certain about.
    const auto certain = torch::tensor({{40.0f, 0.0f, 0.0f}}).requires_grad_();
    make_loss("focal", ctx, {{"gamma", Value{0.5}}})->forward({certain, torch::tensor({0}, torch::kLong), {}, {}}).backward();
    CHECK(torch::isfinite(certain.grad()).all().item<bool>());

    CHECK_THROWS_WITH(make_loss("focal", ctx, {{"alpha", Value{std::vector<double>{1.0, 2.0}}}}),
                      Contains("test: loss 'focal'") && Contains("alpha has 2 entries; the study has 3 classes"));
}

TEST_CASE("class-balanced: weights from effective numbers, normalised to the class count", "[loss]") {
    // beta = 0.9, counts 10, 20, 30: 1 - 0.9^n = 0.6513215599, 0.8784233454, 0.9576088417;
    // (1 - beta)/(1 - beta^n) = 0.1535339, 0.1138402, 0.1044267 (sum 0.3718008);
    // times 3 / sum: 1.2388398, 0.9185583, 0.8426019.
    const std::vector<double> expected{1.2388398, 0.9185583, 0.8426019};
    const auto ctx = context(3, {10, 20, 30});
    auto loss = make_loss("class-balanced", ctx, {{"beta", Value{0.9}}});
    const auto weights = buffer(*loss, "class_weights");
    REQUIRE(weights.numel() == 3);
    for (int c = 0; c < 3; ++c) CHECK(weights[c].item<float>() == Approx(expected[static_cast<std::size_t>(c)]).epsilon(1e-6));

    // With equal logits every sample's cross-entropy is ln 3, so a one-sample batch of
    // class c costs w_c · ln 3; a batch is the plain mean of its samples' costs.
    const auto uniform = torch::zeros({1, 3});
    for (int c = 0; c < 3; ++c)
        CHECK(value(*loss, uniform, torch::tensor({c}, torch::kLong)) ==
              Approx(expected[static_cast<std::size_t>(c)] * std::log(3.0)).epsilon(1e-5));
    CHECK(value(*loss, torch::zeros({2, 3}), torch::tensor({0, 2}, torch::kLong)) ==
          Approx((expected[0] + expected[2]) / 2 * std::log(3.0)).epsilon(1e-5));

    // Focal base: each sample's cost is also multiplied by (1 - 1/3)^gamma.
    auto focal = make_loss("class-balanced", ctx,
                           {{"beta", Value{0.9}}, {"base", Value{std::string("focal")}}, {"gamma", Value{1.0}}});
    CHECK(value(*focal, uniform, torch::tensor({1}, torch::kLong)) ==
          Approx(expected[1] * (2.0 / 3.0) * std::log(3.0)).epsilon(1e-5));

    // beta = 0 weighs all classes 1.
    auto flat = make_loss("class-balanced", ctx, {{"beta", Value{0.0}}});
    CHECK(torch::allclose(buffer(*flat, "class_weights"), torch::ones({3})));

    // A class without training samples gets weight 0; the others still sum to 3.
    auto missing = make_loss("class-balanced", context(3, {0, 10, 10}), {{"beta", Value{0.9}}});
    CHECK(torch::allclose(buffer(*missing, "class_weights"), torch::tensor({0.0f, 1.5f, 1.5f})));

    CHECK_THROWS_WITH(make_loss("class-balanced", ctx, {{"beta", Value{1.0}}}), Contains("accepted: [0, 1)"));
    CHECK_THROWS_WITH(make_loss("class-balanced", ctx, {{"gamma", Value{1.0}}}), Contains("ignored parameter 'gamma'"));
    CHECK_THROWS_WITH(make_loss("class-balanced", context(3, {0, 0, 0})), Contains("every class has a training count of 0"));
    CHECK_THROWS_WITH(make_loss("class-balanced", context(3, {})), Contains("the host passed 0 counts"));
}

TEST_CASE("acb: first batch by hand, difficulty updated after training calls only", "[loss]") {
    auto loss = make_loss("acb", context(3, {10, 20, 30}));
    const auto logits = batch_logits(), targets = batch_targets();
    loss->train();
    // Before any batch D = 0: alpha = 1, gamma = 1, so each sample costs (1 - p_t) · -log p_t,
    // plus 0.1 · exp(-(p_top1 - p_top2)).
    std::vector<double> hardness, ce, margin;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        auto p = softmax(rows[i]);
        const double pt = p[static_cast<std::size_t>(row_targets[i])];
        hardness.push_back(1 - pt);
        ce.push_back(-std::log(pt));
        std::sort(p.rbegin(), p.rend());
        margin.push_back(std::exp(-(p[0] - p[1])));
    }
    const double boundary = 0.1 * (margin[0] + margin[1]) / 2;
    const double first = (hardness[0] * ce[0] + hardness[1] * ce[1]) / 2 + boundary;
    CHECK(value(*loss, logits, targets) == Approx(first).epsilon(1e-5));

    // The batch was added after its loss: class 0 and class 2 each saw one sample.
    CHECK(torch::allclose(buffer(*loss, "difficulty_count"), torch::tensor({1.0, 0.0, 1.0}, torch::kFloat64)));
    CHECK(buffer(*loss, "difficulty_sum")[0].item<double>() == Approx(hardness[0]).epsilon(1e-6));
    CHECK(buffer(*loss, "difficulty_sum")[1].item<double>() == 0.0);
    CHECK(buffer(*loss, "difficulty_sum")[2].item<double>() == Approx(hardness[1]).epsilon(1e-6));

    // Second batch: D_y = that sample's hardness, alpha = 1 + ln(1 + D), gamma = 1 + D.
    double second = boundary;
    for (std::size_t i = 0; i < 2; ++i)
        second += (1 + std::log1p(hardness[i])) * std::pow(hardness[i], 1 + hardness[i]) * ce[i] / 2;
    loss->eval();
    CHECK(value(*loss, logits, targets) == Approx(second).epsilon(1e-5));
    CHECK(value(*loss, logits, targets) == Approx(second).epsilon(1e-5));
    CHECK(torch::allclose(buffer(*loss, "difficulty_count"), torch::tensor({1.0, 0.0, 1.0}, torch::kFloat64)));
    loss->train();
    CHECK(value(*loss, logits, targets) == Approx(second).epsilon(1e-5));
    CHECK(torch::allclose(buffer(*loss, "difficulty_count"), torch::tensor({2.0, 0.0, 2.0}, torch::kFloat64)));

    // Gradients reach the logits.
    const auto x = logits.clone().requires_grad_();
    loss->forward({x, targets, {}, {}}).backward();
    CHECK(x.grad().abs().sum().item<float>() > 0);
    CHECK(torch::isfinite(x.grad()).all().item<bool>());
}

TEST_CASE("itc: a 2x2 case by hand, aligned features cost less than shuffled ones", "[loss]") {
    auto set_identity = [](Loss& loss) {
        torch::NoGradGuard no_grad;
        for (auto& item : loss.named_parameters())
            if (item.key().find("projection.weight") != std::string::npos)
                item.value().copy_(torch::eye(item.value().size(0), item.value().size(1)));
    };
    auto loss = make_loss("itc", context(3, {}, 2, 2), {{"dim", Value{std::int64_t{2}}}, {"temperature", Value{0.5}}});
    CHECK(loss->parameters().size() == 2); // the two projections; the temperature is fixed
    set_identity(*loss);
    // t̂ = [1,0], [0,1]; î = [3,4]/5, [0,1]: similarities [[0.6, 0], [0.8, 1]], / 0.5 → [[1.2, 0], [1.6, 2]].
    const auto text = torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}});
    const auto image = torch::tensor({{3.0f, 4.0f}, {0.0f, 1.0f}});
    auto lse = [](double a, double b) { return std::log(std::exp(a) + std::exp(b)); };
    const double rows_ce = ((lse(1.2, 0) - 1.2) + (lse(1.6, 2) - 2)) / 2;
    const double cols_ce = ((lse(1.2, 1.6) - 1.2) + (lse(0, 2) - 2)) / 2;
    CHECK(loss->forward({{}, {}, text, image}).item<float>() == Approx((rows_ce + cols_ce) / 2).epsilon(1e-5));

    torch::manual_seed(3);
    auto wide = make_loss("itc", context(3, {}, 32, 32), {{"dim", Value{std::int64_t{32}}}});
    set_identity(*wide);
    const auto features = torch::randn({6, 32});
    const auto aligned = wide->forward({{}, {}, features, features}).item<float>();
    const auto shuffled = wide->forward({{}, {}, features, features.roll(1, 0)}).item<float>();
    CHECK(aligned < shuffled);
    CHECK(aligned < 0.1f); // temperature 0.07: matching pairs dominate their rows

    auto learned = make_loss("itc", context(3, {}, 8, 4), {{"learn_temperature", Value{true}}});
    CHECK(learned->parameters().size() == 3);
    const auto a = torch::randn({4, 8}), b = torch::randn({4, 4});
    learned->forward({{}, {}, a, b}).backward();
    for (const auto& p : learned->parameters()) CHECK(p.grad().defined());

    CHECK_THROWS_WITH(make_loss("itc", context(3, {}, 8, 0)), Contains("built without image features"));
    CHECK_THROWS_WITH(make_loss("itc", context(3, {}, 0, 8)), Contains("built without text features"));
}

TEST_CASE("itm: gradients reach the head, a batch of one is a differentiable zero", "[loss]") {
    torch::manual_seed(5);
    auto loss = make_loss("itm", context(3, {}, 6, 4), {{"dim", Value{std::int64_t{8}}}, {"hidden", Value{std::int64_t{16}}}});
    const auto text = torch::randn({5, 6}), image = torch::randn({5, 4});
    const auto initial = loss->forward({{}, {}, text, image});
    CHECK(initial.item<float>() > 0);
    initial.backward();
    int head_parameters = 0;
    for (const auto& item : loss->named_parameters()) {
        INFO(item.key());
        REQUIRE(item.value().grad().defined());
        CHECK(item.value().grad().abs().sum().item<float>() > 0);
        head_parameters += item.key().rfind("head.", 0) == 0;
    }
    CHECK(head_parameters == 4);

    // Trained for a few steps, the head tells true pairs from swapped ones.
    torch::optim::Adam optimizer(loss->parameters(), torch::optim::AdamOptions(1e-2));
    float last = 0;
    for (int step = 0; step < 60; ++step) {
        optimizer.zero_grad();
        auto l = loss->forward({{}, {}, text, image});
        l.backward();
        optimizer.step();
        last = l.item<float>();
    }
    CHECK(last < 0.5f * initial.item<float>());

    loss->zero_grad();
    const auto single = loss->forward({{}, {}, text.slice(0, 0, 1), image.slice(0, 0, 1)});
    CHECK(single.item<float>() == 0.0f);
    single.backward();
    for (const auto& p : loss->parameters()) {
        REQUIRE(p.grad().defined());
        CHECK(p.grad().abs().sum().item<float>() == 0.0f);
    }

    // Shuffled negatives repeat for a seed.
    auto shuffled = [&] {
        torch::manual_seed(7);
        auto l = make_loss("itm", context(3, {}, 6, 4), {{"negatives", Value{std::string("shuffle")}}, {"seed", Value{std::int64_t{11}}}});
        return std::vector<float>{l->forward({{}, {}, text, image}).item<float>(), l->forward({{}, {}, text, image}).item<float>()};
    };
    CHECK(shuffled() == shuffled());
    CHECK_THROWS_WITH(make_loss("itm", context(3, {}, 6, 4), {{"seed", Value{std::int64_t{1}}}}),
                      Contains("ignored parameter 'seed'"));
    CHECK_THROWS_WITH(make_loss("itm", context(3, {}, 0, 4)), Contains("built without text features"));
}

// Threshold moving ([train] class_bias): offsets chosen on labelled rows, cross-fitted
// probabilities, and the classifier's offsets buffer.
#include "train/class_bias.hpp"
#include "train/metrics.hpp"
#include "train/trainer.hpp"

#include "test_helpers.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>

using namespace msa;
using namespace msa::train;

namespace {

// Rows of class 1 the model ranks second (0.45, 0.40, 0.15): an offset of log(0.45/0.40)
// = 0.118 ... log(0.6/0.3) = 0.693 for class 1 gets them right without losing class 0's
// (0.6, 0.3, 0.1); class 2's rows (0.1, 0.1, 0.8) are right already.
std::pair<at::Tensor, std::vector<std::int64_t>> under_predicted(int per_class) {
    std::vector<float> probs;
    std::vector<std::int64_t> labels;
    for (int i = 0; i < per_class; ++i) {
        probs.insert(probs.end(), {0.6f, 0.3f, 0.1f});
        labels.push_back(0);
        probs.insert(probs.end(), {0.45f, 0.40f, 0.15f});
        labels.push_back(1);
        probs.insert(probs.end(), {0.1f, 0.1f, 0.8f});
        labels.push_back(2);
    }
    return {torch::tensor(probs).reshape({-1, 3}).log(), labels};
}

} // namespace

TEST_CASE("class_bias: the offsets that recover an under-predicted class, the others left at 0", "[trainer][class_bias]") {
    const auto [log_probs, labels] = under_predicted(10);
    const MetricName macro{Metric::macro_f1, {}};
    const ClassBias bias = fit_class_bias(log_probs, labels, macro);
    CHECK(bias.before < 0.6);
    CHECK(bias.after == Approx(1.0));
    CHECK(bias.offsets[0].item<float>() == 0.0f);
    const float neutral = bias.offsets[1].item<float>();
    CHECK(neutral > std::log(0.45 / 0.40));
    CHECK(neutral < std::log(0.6 / 0.3));
    CHECK(bias.offsets[2].item<float>() == 0.0f); // no gain from moving it: kept at 0
    // The offsets as probabilities: every row right.
    const Metrics moved = compute_metrics(labels, with_offsets(log_probs, bias.offsets), 3);
    CHECK(moved.accuracy == Approx(1.0));
    CHECK(with_offsets(log_probs, bias.offsets).sum(1).allclose(torch::ones({30})));
}

TEST_CASE("class_bias: a model already right everywhere keeps zero offsets", "[trainer][class_bias]") {
    const auto log_probs = torch::tensor({0.8f, 0.1f, 0.1f, 0.1f, 0.8f, 0.1f, 0.1f, 0.1f, 0.8f}).reshape({3, 3}).log();
    const ClassBias bias = fit_class_bias(log_probs, {0, 1, 2}, MetricName{Metric::weighted_f1, {}});
    CHECK(bias.before == Approx(1.0));
    CHECK(bias.after == Approx(1.0));
    CHECK(bias.offsets.abs().sum().item<float>() == 0.0f);
    CHECK_THROWS_WITH(fit_class_bias(log_probs, {0, 1}, MetricName{}), Catch::Matchers::Contains("[train] class_bias"));
}

TEST_CASE("class_bias: cross-fitted probabilities move each half by the other half's offsets", "[trainer][class_bias]") {
    const auto [log_probs, labels] = under_predicted(10);
    const MetricName macro{Metric::macro_f1, {}};
    const at::Tensor cross = cross_fitted_probabilities(log_probs, labels, macro, 7);
    REQUIRE(cross.sizes() == log_probs.sizes());
    CHECK(cross.sum(1).allclose(torch::ones({30})));
    // Both halves hold the pattern, so each half's offsets get the other half right.
    CHECK(compute_metrics(labels, cross, 3).accuracy == Approx(1.0));
    CHECK(cross.equal(cross_fitted_probabilities(log_probs, labels, macro, 7))); // seeded

    // A row only one half holds is not learnt for the other half: class 1's one
    // under-predicted row sits in one half, and the other half (whose class-1 row is right
    // already) gives it no offset; fitted in-sample, on every row, it is moved.
    std::vector<float> probs;
    std::vector<std::int64_t> y;
    for (int i = 0; i < 6; ++i) {
        probs.insert(probs.end(), {0.6f, 0.3f, 0.1f, 0.1f, 0.1f, 0.8f});
        y.insert(y.end(), {0, 2});
    }
    probs.insert(probs.end(), {0.45f, 0.40f, 0.15f, 0.2f, 0.7f, 0.1f});
    y.insert(y.end(), {1, 1});
    const auto lp = torch::tensor(probs).reshape({-1, 3}).log();
    CHECK(fit_class_bias(lp, y, macro).after == Approx(1.0));
    const at::Tensor honest = cross_fitted_probabilities(lp, y, macro, 1);
    CHECK(honest[12].argmax().item<std::int64_t>() == 0); // still wrong
    CHECK(honest[13].argmax().item<std::int64_t>() == 1);
    CHECK(compute_metrics(y, honest, 3).accuracy == Approx(13.0 / 14.0));
}

TEST_CASE("class_bias: the classifier adds its offsets to the logits, and model.pt keeps them", "[trainer][class_bias]") {
    const auto& catalog = test::builtin_catalog();
    const FusionContext context{8, 4, 3};
    auto build = [&] {
        torch::manual_seed(3);
        return Classifier(catalog.create_fusion("concat", test::properties(PluginKind::fusion, "concat"), context),
                          catalog.get(PluginKind::fusion, "concat"), 3);
    };
    Classifier plain = build();
    Classifier moved = build();
    moved->set_class_bias(torch::tensor({0.0f, 1.5f, -0.5f}));
    CHECK(moved->has_class_bias());
    CHECK_FALSE(plain->has_class_bias());
    plain->eval();
    moved->eval();
    const Features text{torch::randn({5, 8})}, image{torch::randn({5, 4})};
    const auto difference = moved->forward(text, image) - plain->forward(text, image);
    CHECK(difference.allclose(torch::tensor({0.0f, 1.5f, -0.5f}).expand({5, 3}), 1e-5, 1e-5));

    test::TempDir dir;
    const auto file = (dir.path() / "model.pt").string();
    torch::save(moved, file);
    Classifier loaded = build();
    loaded->add_class_bias();
    torch::load(loaded, file);
    loaded->eval();
    CHECK(loaded->forward(text, image).allclose(moved->forward(text, image)));
}

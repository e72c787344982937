// The trainer on synthetic features with the built-in concat fusion and cross-entropy:
// it learns a separable problem, the same seed gives the same run, early stopping keeps
// the best epoch, and the learning-rate schedules follow transformers' formulas.
#include "train/contrastive.hpp"
#include "train/trainer.hpp"

#include "test_helpers.hpp"
#include "test_skip.hpp"

#include "data/split.hpp"

#include <msa/models/cpu_features.hpp>

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <random>

using namespace msa;
using namespace msa::train;

namespace {

// Three classes; the text features carry the class in their first dimensions, with noise.
FeatureSet synthetic(std::int64_t n, std::uint64_t seed, double noise = 0.5) {
    auto generator = at::detail::createCPUGenerator(seed);
    const auto labels = torch::randint(0, 3, {n}, generator, torch::kLong);
    auto text = torch::randn({n, 8}, generator) * noise;
    text.index_put_({torch::arange(n), labels}, text.index({torch::arange(n), labels}) + 2.0);
    const auto image = torch::randn({n, 4}, generator);
    return {Features{text}, Features{image}, labels};
}

struct Setup {
    Classifier model{nullptr};
    Objective objective;
};

Setup build(std::uint64_t seed, const std::string& fusion = "concat") {
    torch::manual_seed(seed);
    const auto& catalog = test::builtin_catalog();
    const FusionContext context{8, 4, 3};
    Setup s;
    s.model = Classifier(catalog.create_fusion(fusion, test::properties(PluginKind::fusion, fusion), context),
                         catalog.get(PluginKind::fusion, fusion), 3);
    const auto params = test::properties(PluginKind::loss, "cross-entropy");
    s.objective.main = {catalog.create_loss("cross-entropy", params, LossContext{3, {1, 1, 1}, 8, 4}),
                        &catalog.get(PluginKind::loss, "cross-entropy"), 1.0, params};
    return s;
}

TrainConfig quick(std::int64_t epochs) {
    TrainConfig c;
    c.epochs = epochs;
    c.batch_size = 16;
    c.learning_rate = 5e-3;
    c.patience = 0;
    return c;
}

} // namespace

TEST_CASE("trainer: learns a separable problem and reports every epoch", "[trainer]") {
    const auto train = synthetic(300, 1), valid = synthetic(90, 2);
    auto s = build(7);
    std::vector<std::int64_t> seen;
    const auto result = fit(s.model, s.objective, train, valid, quick(12), 7, torch::kCPU,
                            [&](const EpochRecord& r) { seen.push_back(r.epoch); });
    CHECK(seen.size() == 12);
    CHECK(result.history.front().train_loss > result.history.back().train_loss);
    CHECK(result.history[static_cast<std::size_t>(result.best_epoch - 1)].valid.accuracy > 0.9);
    const auto probs = predict_probabilities(s.model, valid, torch::kCPU);
    CHECK(probs.sizes() == std::vector<std::int64_t>{90, 3});
    CHECK(probs.sum(1).sub(1).abs().max().item<double>() < 1e-5);
}

TEST_CASE("trainer: on CUDA the head learns what it learns on the CPU", "[trainer][cuda]") {
    MSA_SKIP_WITHOUT_CUDA();
    const auto train = synthetic(300, 1), valid = synthetic(90, 2);
    auto cpu = build(7), gpu = build(7);
    const auto on_cpu = fit(cpu.model, cpu.objective, train, valid, quick(12), 7, torch::kCPU);
    const auto on_gpu = fit(gpu.model, gpu.objective, train, valid, quick(12), 7, torch::kCUDA);
    for (const auto& p : gpu.model->parameters()) CHECK(p.device().is_cuda());
    REQUIRE(on_gpu.history.size() == on_cpu.history.size());
    // The same initial weights and batches; concat's dropout draws its masks from the GPU's
    // generator, so the runs are close, not equal.
    CHECK(on_gpu.history.front().train_loss == Approx(on_cpu.history.front().train_loss).epsilon(0.1));
    const auto best = [](const FitResult& r) { return r.history[static_cast<std::size_t>(r.best_epoch - 1)].valid; };
    CHECK(best(on_gpu).accuracy > 0.9);
    CHECK(std::abs(best(on_gpu).weighted_f1 - best(on_cpu).weighted_f1) < 0.05);
    const auto probs = predict_probabilities(gpu.model, valid, torch::kCUDA);
    CHECK(probs.device().is_cpu());
    CHECK(probs.sum(1).sub(1).abs().max().item<double>() < 1e-5);
}

TEST_CASE("trainer: the same seed gives the same run on the CPU, another seed a different one", "[trainer]") {
    const auto train = synthetic(200, 3), valid = synthetic(60, 4);
    auto a = build(11), b = build(11), c = build(12);
    const auto ra = fit(a.model, a.objective, train, valid, quick(4), 11, torch::kCPU);
    const auto rb = fit(b.model, b.objective, train, valid, quick(4), 11, torch::kCPU);
    const auto rc = fit(c.model, c.objective, train, valid, quick(4), 12, torch::kCPU);
    for (std::size_t e = 0; e < ra.history.size(); ++e) {
        CHECK(ra.history[e].train_loss == rb.history[e].train_loss);
        CHECK(ra.history[e].valid.weighted_f1 == rb.history[e].valid.weighted_f1);
    }
    const auto pa = predict_probabilities(a.model, valid, torch::kCPU);
    CHECK(torch::equal(pa, predict_probabilities(b.model, valid, torch::kCPU)));
    CHECK_FALSE(torch::equal(pa, predict_probabilities(c.model, valid, torch::kCPU)));
    CHECK(ra.history.back().train_loss != rc.history.back().train_loss);
}

TEST_CASE("trainer: early stopping ends after `patience` epochs without improvement and keeps the best", "[trainer]") {
    // Labels that carry no signal: validation stops improving quickly.
    auto train = synthetic(120, 5, 3.0), valid = synthetic(60, 6, 3.0);
    train.labels = torch::randint(0, 3, {120}, at::detail::createCPUGenerator(9), torch::kLong);
    auto s = build(13);
    auto config = quick(60);
    config.patience = 2;
    config.monitor = {Metric::loss, {}};
    const auto result = fit(s.model, s.objective, train, valid, config, 13, torch::kCPU);
    REQUIRE(result.stopped_early);
    CHECK(static_cast<std::int64_t>(result.history.size()) == result.best_epoch + 2);
    // The model ends with the best epoch's weights: its validation metrics come back.
    const auto probs = predict_probabilities(s.model, valid, torch::kCPU);
    std::vector<std::int64_t> y(valid.labels.data_ptr<std::int64_t>(), valid.labels.data_ptr<std::int64_t>() + 60);
    const auto best = result.history[static_cast<std::size_t>(result.best_epoch - 1)];
    CHECK(compute_metrics(y, probs, 3).weighted_f1 == Approx(best.valid.weighted_f1));
    for (const auto& r : result.history) CHECK(r.valid_loss >= best.valid_loss);
}

TEST_CASE("trainer: warmup then linear, cosine or constant rates, as transformers' schedulers", "[trainer]") {
    TrainConfig c;
    c.learning_rate = 1.0;
    c.warmup = 0.1;
    c.schedule = Schedule::linear;
    CHECK(scheduled_rate(c, 0, 100) == 0.0);
    CHECK(scheduled_rate(c, 5, 100) == Approx(0.5));
    CHECK(scheduled_rate(c, 10, 100) == Approx(1.0));
    CHECK(scheduled_rate(c, 55, 100) == Approx(0.5));
    CHECK(scheduled_rate(c, 100, 100) == Approx(0.0));
    c.schedule = Schedule::cosine;
    CHECK(scheduled_rate(c, 55, 100) == Approx(0.5));
    CHECK(scheduled_rate(c, 32, 100) == Approx(0.5 * (1 + std::cos(M_PI * 22.0 / 90))));
    c.schedule = Schedule::constant;
    CHECK(scheduled_rate(c, 90, 100) == Approx(1.0));
    c.warmup = 0;
    CHECK(scheduled_rate(c, 0, 100) == Approx(1.0));
}

TEST_CASE("trainer: an empty training set and a diverging loss are clear errors", "[trainer]") {
    auto s = build(17);
    const auto empty = synthetic(10, 1).rows(torch::empty({0}, torch::kLong));
    CHECK_THROWS_WITH(fit(s.model, s.objective, empty, empty, quick(1), 1, torch::kCPU),
                      Catch::Matchers::Contains("the training set is empty"));
    auto config = quick(3);
    config.learning_rate = 1e30;
    config.grad_clip = 0;
    config.warmup = 0;
    CHECK_THROWS_WITH(fit(s.model, s.objective, synthetic(64, 2, 1e30), {}, config, 1, torch::kCPU),
                      Catch::Matchers::Contains("the loss became"));
}

TEST_CASE("trainer: a batch's token sequences end at the last position one of its rows uses", "[trainer]") {
    // Texts are stored padded to the longest; a batch computes only what its rows use.
    torch::manual_seed(3);
    FeatureSet set;
    set.text.pooled = torch::randn({3, 4});
    set.text.tokens = torch::randn({3, 8, 4});
    set.text.mask = torch::zeros({3, 8}, torch::kLong);
    const std::vector<std::int64_t> lengths{2, 5, 3};
    for (std::int64_t i = 0; i < 3; ++i) set.text.mask[i].narrow(0, 0, lengths[i]).fill_(1);
    set.image.tokens = torch::randn({3, 6, 4}); // patches: no mask, every one real
    set.labels = torch::tensor({0, 1, 2}, torch::kLong);

    const FeatureSet short_rows = set.rows(torch::tensor({2, 0}, torch::kLong));
    REQUIRE(short_rows.text.tokens.sizes() == at::IntArrayRef{2, 3, 4});
    CHECK(torch::equal(short_rows.text.tokens, set.text.tokens.index({torch::tensor({2, 0})}).narrow(1, 0, 3)));
    CHECK(short_rows.text.mask.sizes() == at::IntArrayRef{2, 3});
    CHECK(short_rows.text.mask.sum().item<std::int64_t>() == 5);
    CHECK(short_rows.image.tokens.size(1) == 6);
    CHECK(set.rows(torch::tensor({1}, torch::kLong)).text.tokens.size(1) == 5);
    CHECK(set.rows(torch::tensor({0, 1, 2}, torch::kLong)).text.tokens.size(1) == 5);
}

TEST_CASE("trainer: predictions over token rows come back in the set's order", "[trainer]") {
    // Evaluation runs token rows shortest first (each chunk trims to its own length); the
    // probabilities must still be row i's at index i, across several chunks.
    auto set = synthetic(600, 11);
    auto generator = at::detail::createCPUGenerator(12);
    const auto lengths = torch::randint(1, 9, {600}, generator, torch::kLong);
    set.text.tokens = torch::randn({600, 8, 4}, generator);
    set.text.mask = torch::arange(8).unsqueeze(0).lt(lengths.unsqueeze(1)).to(torch::kLong);
    auto s = build(13);
    const auto all = predict_probabilities(s.model, set, torch::kCPU);
    REQUIRE(all.size(0) == 600);
    for (const std::int64_t row : {0, 1, 299, 300, 599}) {
        const auto one = predict_probabilities(s.model, set.rows(torch::tensor({row}, torch::kLong)), torch::kCPU);
        CHECK(torch::allclose(all[row], one[0], 1e-6, 1e-6));
    }
}

TEST_CASE("trainer: bucket_by_length makes batches of similar lengths in a seeded order", "[trainer]") {
    std::mt19937_64 draw(5);
    std::vector<std::int64_t> lengths(203);
    for (auto& l : lengths) l = 1 + static_cast<std::int64_t>(draw() % 128);
    std::vector<std::size_t> shuffled(lengths.size());
    for (std::size_t i = 0; i < shuffled.size(); ++i) shuffled[i] = i;
    std::mt19937_64 shuffle_rng(9);
    data::seeded_shuffle(shuffled, shuffle_rng);

    const auto bucketed = [&](std::uint64_t seed) {
        std::vector<std::size_t> order = shuffled;
        std::mt19937_64 rng(seed);
        train::bucket_by_length(order, lengths, 8, rng);
        return order;
    };
    const std::vector<std::size_t> order = bucketed(1);
    // Every row once; the same seed gives the same order, another seed another one.
    std::vector<std::size_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < sorted.size(); ++i) REQUIRE(sorted[i] == i);
    CHECK(bucketed(1) == order);
    CHECK(bucketed(2) != order);
    // The 25 full batches hold rows of close lengths, far closer than the shuffled ones;
    // the partial batch (203 = 25 * 8 + 3) comes last.
    const auto mean_spread = [&](const std::vector<std::size_t>& o) {
        double total = 0;
        for (std::size_t b = 0; b < 25; ++b) {
            const auto [lo, hi] = std::minmax_element(o.begin() + b * 8, o.begin() + (b + 1) * 8,
                                                      [&](auto x, auto y) { return lengths[x] < lengths[y]; });
            total += static_cast<double>(lengths[*hi] - lengths[*lo]);
        }
        return total / 25;
    };
    INFO("mean spread bucketed " << mean_spread(order) << ", shuffled " << mean_spread(shuffled));
    CHECK(mean_spread(order) * 8 < mean_spread(shuffled));
    // One span here (50 batches), so the partial batch holds the three longest rows.
    std::int64_t longest_before = 0, shortest_last = 128;
    for (std::size_t i = 0; i < 200; ++i) longest_before = std::max(longest_before, lengths[order[i]]);
    for (std::size_t i = 200; i < 203; ++i) shortest_last = std::min(shortest_last, lengths[order[i]]);
    CHECK(shortest_last >= longest_before);
}

TEST_CASE("trainer: SetFit's pairs: half of one label, half of another, seeded, never a row with itself", "[trainer]") {
    const std::vector<std::int64_t> labels{0, 0, 0, 1, 1, 2};
    const auto pairs = msa::train::contrastive_pairs(labels, 4, 7);
    REQUIRE(pairs.size() == 24);
    std::vector<int> same(labels.size()), other(labels.size());
    for (const auto& p : pairs) {
        CHECK(p.a != p.b);
        CHECK((p.target == 1.0f) == (labels[static_cast<std::size_t>(p.a)] == labels[static_cast<std::size_t>(p.b)]));
        ++(p.target == 1.0f ? same : other)[static_cast<std::size_t>(p.a)];
    }
    CHECK(same == std::vector<int>{2, 2, 2, 2, 2, 0}); // the one row of label 2 has no partner of its label:
    CHECK(other == std::vector<int>{2, 2, 2, 2, 2, 4}); // all of its pairs are with other labels
    const auto again = msa::train::contrastive_pairs(labels, 4, 7);
    const auto other_seed = msa::train::contrastive_pairs(labels, 4, 8);
    bool equal = true, differs = false;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        equal = equal && pairs[i].a == again[i].a && pairs[i].b == again[i].b;
        differs = differs || pairs[i].a != other_seed[i].a || pairs[i].b != other_seed[i].b;
    }
    CHECK(equal);
    CHECK(differs);
}

namespace {

// A classifier that standardizes both modalities, on `fusion`.
Setup build_standardized(std::uint64_t seed, const std::string& fusion) {
    Setup s = build(seed, fusion);
    const auto& catalog = test::builtin_catalog();
    const FusionContext context{8, 4, 3};
    torch::manual_seed(seed);
    s.model = Classifier(catalog.create_fusion(fusion, test::properties(PluginKind::fusion, fusion), context),
                         catalog.get(PluginKind::fusion, fusion), 3, TrainableEncoder{}, TrainableEncoder{},
                         standardization(TrainConfig{}, context, {}, {}));
    return s;
}

} // namespace

TEST_CASE("trainer: standardized features enter the fusion with the training rows' mean and deviation, "
          "and model.pt keeps them", "[trainer][selection]") {
    auto train = synthetic(200, 21);
    train.image.pooled = train.image.pooled * 50.0 + 7.0; // unnormalized, as EfficientNet's are
    auto s = build_standardized(21, "linear");
    CHECK(s.model->standardized_modalities() == std::vector<std::string>{"text", "image"});
    s.model->standardize_with(train);
    const at::Tensor fused = s.model->fused(train.text, train.image); // [text | image], standardized
    REQUIRE(fused.sizes() == std::vector<std::int64_t>{200, 12});
    CHECK(fused.mean(0).abs().max().item<double>() < 1e-5);
    CHECK(fused.std(0, /*unbiased=*/false).sub(1).abs().max().item<double>() < 1e-4);
    // Saved and loaded into a fresh classifier of the same build: the same inputs to the head.
    test::TempDir dir;
    torch::save(s.model, (dir.path() / "model.pt").string());
    auto loaded = build_standardized(99, "linear");
    torch::load(loaded.model, (dir.path() / "model.pt").string());
    CHECK(torch::allclose(loaded.model->fused(train.text, train.image), fused));
    // Standardizing off, or a modality through a trainable top: that modality as it is.
    TrainConfig off;
    off.standardize = false;
    CHECK(standardization(off, {8, 4, 3}, {}, {}).text_dim == 0);
    CHECK(standardization(TrainConfig{}, {8, 4, 3}, {}, {}).image_dim == 4);
}

TEST_CASE("trainer: a linear head on a fusion without parameters is fitted by L-BFGS with L2 chosen on validation",
          "[trainer][selection]") {
    const auto train = synthetic(300, 31), valid = synthetic(90, 32);
    auto s = build_standardized(31, "linear");
    TrainConfig config = quick(30);
    CHECK(resolve_solver(config, s.model, s.objective, train) == Solver::lbfgs);
    config.l2 = {1e-4, 1e-2, 1.0};
    std::vector<std::int64_t> seen;
    const FitResult result = fit(s.model, s.objective, train, valid, config, 31, torch::kCPU,
                                 [&](const EpochRecord& r) { seen.push_back(r.epoch); });
    CHECK(result.solver == Solver::lbfgs);
    CHECK(seen == std::vector<std::int64_t>{1});
    REQUIRE(result.l2_points.size() == 3);
    CHECK(std::find_if(result.l2_points.begin(), result.l2_points.end(),
                       [&](const L2Point& p) { return p.l2 == result.l2; }) != result.l2_points.end());
    // The head is the regression choose_l2 fits on the standardized features: the same weights.
    const L2Sweep direct = choose_l2(s.model->fused(train.text, train.image), train.labels,
                                     s.model->fused(valid.text, valid.image), valid.labels, 3, config.l2,
                                     config.monitor);
    CHECK(direct.best.l2 == result.l2);
    CHECK(torch::allclose(s.model->head()->weight, direct.best.layer->weight, 1e-5, 1e-6));
    CHECK(result.history[0].valid.accuracy > 0.9);
    // Deterministic: no seed enters a convex fit.
    auto again = build_standardized(77, "linear");
    fit(again.model, again.objective, train, valid, config, 77, torch::kCPU);
    CHECK(torch::equal(again.model->head()->weight, s.model->head()->weight));
}

TEST_CASE("trainer: solver = auto keeps AdamW where the model is no linear probe, and lbfgs there says why",
          "[trainer][selection]") {
    const auto train = synthetic(60, 41);
    TrainConfig config = quick(2);
    auto concat = build(41, "concat"); // a hidden layer: parameters of its own
    CHECK(resolve_solver(config, concat.model, concat.objective, train) == Solver::adamw);
    config.solver = Solver::lbfgs;
    CHECK_THROWS_WITH(resolve_solver(config, concat.model, concat.objective, train),
                      Catch::Matchers::Contains("has parameters of its own") &&
                          Catch::Matchers::Contains("solver = \"adamw\""));
    auto linear = build_standardized(41, "linear");
    linear.objective.main.params = test::properties(PluginKind::loss, "cross-entropy");
    linear.objective.main.params.set("label_smoothing", 0.1);
    CHECK_THROWS_WITH(resolve_solver(config, linear.model, linear.objective, train),
                      Catch::Matchers::Contains("smooths the labels"));
    config.solver = Solver::auto_;
    CHECK(resolve_solver(config, linear.model, linear.objective, train) == Solver::adamw);
    config.solver = Solver::adamw;
    linear.objective.main.params = test::properties(PluginKind::loss, "cross-entropy");
    CHECK(resolve_solver(config, linear.model, linear.objective, train) == Solver::adamw);
}

TEST_CASE("[train] precision: auto is bfloat16 mixed precision exactly where the CPU has native BF16", "[trainer]") {
    using Catch::Matchers::Contains;
    TrainConfig c;
    CHECK(c.precision == "auto");
    CHECK(top_precision(c) == (models::cpu_features().native_bf16() ? at::kBFloat16 : at::kFloat));
    c.precision = "float32";
    CHECK(top_precision(c) == at::kFloat);
    c.precision = "bfloat16"; // asked for: honoured (with a warning where it is emulated)
    CHECK(top_precision(c) == at::kBFloat16);
    c.device = "cuda";
    CHECK_THROWS_WITH(top_precision(c), Contains("precision = \"bfloat16\"") && Contains("\"auto\" or \"float32\""));
    c.precision = "auto";
    CHECK(top_precision(c) == at::kFloat);
}

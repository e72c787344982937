// [evaluate] trials: the replacement of a modality (zeros, training means, token means
// that keep the mask), and trained demo-data models evaluated with keep = both (exactly
// the trial's metrics), text and image; a wrong model folder or other labels are errors.
#include "train/evaluate_trial.hpp"

#include "test_skip.hpp"
#include "tiny_trial.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>
#include <iterator>

using namespace msa;
using namespace msa::train;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& file) {
    std::ifstream in(file);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

nlohmann::json metrics_of(const fs::path& folder) { return nlohmann::json::parse(slurp(folder / "metrics.json")); }

// Evaluates the model in `model` as the trial `name`, on the same demo data and split.
fs::path evaluate(const test::TempDir& dir, const fs::path& model, const std::string& name, const std::string& keep,
                  const std::string& fill = "zeros", test::TinyTrialOptions options = {}) {
    options.extra +=
        "[evaluate]\nmodel = \"" + model.string() + "\"\nkeep = \"" + keep + "\"\nfill = \"" + fill + "\"\n";
    return test::run_tiny_trial(test::tiny_manifest(dir.path(), name, options));
}

// keep = "both" is the trial itself: the same predictions and metrics, to the bit.
void check_same_as_trial(const fs::path& trial, const fs::path& evaluated) {
    CHECK(slurp(evaluated / "predictions.csv") == slurp(trial / "predictions.csv"));
    const auto a = metrics_of(trial), b = metrics_of(evaluated);
    CHECK(a["valid"] == b["valid"]);
    CHECK(a["test"] == b["test"]);
}

} // namespace

TEST_CASE("evaluate: the replaced modality is zeros or its training mean, token means keep the mask", "[evaluate]") {
    // 3 rows; text pooled [3, 2], image tokens [3, 2, 2] with the last token of row 1 padding.
    FeatureSet set;
    set.text.pooled = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f, 50.0f, 60.0f}).view({3, 2});
    set.image.pooled = torch::tensor({1.0f, 1.0f, 3.0f, 3.0f, 9.0f, 9.0f}).view({3, 2});
    set.image.tokens = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 100.0f, 100.0f, 7.0f, 8.0f, 9.0f, 10.0f})
                           .view({3, 2, 2});
    set.image.mask = torch::tensor({1, 1, 1, 0, 1, 1}, torch::kLong).view({3, 2});
    set.labels = torch::tensor({0, 1, 2}, torch::kLong);
    const auto train_rows = torch::tensor({0, 1}, torch::kLong); // row 2 is not a training row

    const auto both = ablate(set, {"m", "both", "mean"}, train_rows);
    CHECK(torch::equal(both.text.pooled, set.text.pooled));
    CHECK(torch::equal(both.image.tokens, set.image.tokens));

    const auto text_zeros = ablate(set, {"m", "text", "zeros"}, train_rows);
    CHECK(torch::equal(text_zeros.text.pooled, set.text.pooled));
    CHECK(text_zeros.image.pooled.abs().sum().item<float>() == 0);
    CHECK(text_zeros.image.tokens.abs().sum().item<float>() == 0);
    CHECK(torch::equal(text_zeros.image.mask, set.image.mask));

    const auto text_mean = ablate(set, {"m", "text", "mean"}, train_rows);
    CHECK(torch::allclose(text_mean.image.pooled, torch::full({3, 2}, 2.0f)));
    // Real tokens of the training rows: (1,2), (3,4), (5,6); the padding (100,100) is left out.
    const auto expected_token = torch::tensor({3.0f, 4.0f});
    for (int row = 0; row < 3; ++row)
        for (int t = 0; t < 2; ++t) CHECK(torch::allclose(text_mean.image.tokens[row][t], expected_token));
    CHECK(torch::equal(text_mean.image.mask, set.image.mask));
    // Rows taken from a replaced modality are the replacement too (rows() reads the views).
    CHECK(torch::allclose(text_mean.rows(torch::tensor({2}, torch::kLong)).image.pooled, torch::full({1, 2}, 2.0f)));

    const auto image_mean = ablate(set, {"m", "image", "mean"}, train_rows);
    CHECK(torch::equal(image_mean.image.tokens, set.image.tokens));
    CHECK(torch::allclose(image_mean.text.pooled, torch::tensor({2.0f, 3.0f}).expand({3, 2})));

    CHECK_THROWS_WITH(ablate(set, {"m", "text", "mean"}, torch::empty({0}, torch::kLong)),
                      Catch::Matchers::Contains("the split has none"));
}

TEST_CASE("evaluate: a text-only model evaluated as trained equals its trial, without text it does not",
          "[evaluate]") {
    const test::TempDir dir;
    test::tiny_demo_data(dir.path());
    const fs::path trial = test::run_tiny_trial(test::tiny_manifest(dir.path(), "text"));

    const fs::path both = evaluate(dir, trial, "both", "both");
    check_same_as_trial(trial, both);
    const auto m = metrics_of(both);
    CHECK(m["status"] == "ok");
    CHECK(m["evaluated"] == nlohmann::json{{"model", trial.string()}, {"keep", "both"}, {"fill", "zeros"}});
    CHECK(fs::exists(both / "log.txt"));
    CHECK(fs::exists(both / "config.toml"));
    CHECK_FALSE(fs::exists(both / "history.csv"));
    CHECK_FALSE(fs::exists(both / "model.pt"));
    CHECK(slurp(both / "config.toml").find("[evaluate]") != std::string::npos);

    // The model has no image features: keeping the text alone changes nothing.
    check_same_as_trial(trial, evaluate(dir, trial, "text-only", "text"));
    CHECK_THAT(slurp(dir.path() / "runs" / "text-only" / "log.txt"),
               Catch::Matchers::Contains("the model reads no image features, so nothing is replaced"));

    // Without its only modality the model predicts from a constant: other probabilities.
    const auto zeros = slurp(evaluate(dir, trial, "image-zeros", "image", "zeros") / "predictions.csv");
    const auto mean = slurp(evaluate(dir, trial, "image-mean", "image", "mean") / "predictions.csv");
    CHECK(zeros != slurp(trial / "predictions.csv"));
    CHECK(mean != slurp(trial / "predictions.csv"));
    CHECK(zeros != mean);
}

TEST_CASE("evaluate: with text and image features, keep replaces the other modality, a text-only fusion ignores "
          "the image",
          "[evaluate]") {
    if (!fs::exists(test::efficientnet_lite_dir() / "config.json"))
        MSA_SKIP(test::efficientnet_lite_dir().string()
                 << " absent (scripts/fetch-models puts EfficientNet-Lite0 there)");
    const test::TempDir dir;
    test::tiny_demo_data(dir.path());
    test::TinyTrialOptions both_encoders;
    both_encoders.image = true;
    const fs::path concat = test::run_tiny_trial(test::tiny_manifest(dir.path(), "concat", both_encoders));
    check_same_as_trial(concat, evaluate(dir, concat, "concat-both", "both", "zeros", both_encoders));
    const auto original = slurp(concat / "predictions.csv");
    std::vector<std::string> ablated;
    for (const char* keep : {"text", "image"})
        for (const char* fill : {"zeros", "mean"}) {
            const auto folder = evaluate(dir, concat, std::string("concat-") + keep + "-" + fill, keep, fill,
                                         both_encoders);
            ablated.push_back(slurp(folder / "predictions.csv"));
            CHECK(ablated.back() != original);
        }
    for (std::size_t i = 0; i < ablated.size(); ++i)
        for (std::size_t j = i + 1; j < ablated.size(); ++j) CHECK(ablated[i] != ablated[j]);

    test::TinyTrialOptions text_fusion = both_encoders;
    text_fusion.fusion = "text-only";
    const fs::path text_only = test::run_tiny_trial(test::tiny_manifest(dir.path(), "text-fusion", text_fusion));
    check_same_as_trial(text_only, evaluate(dir, text_only, "text-fusion-zeros", "text", "zeros", text_fusion));
    check_same_as_trial(text_only, evaluate(dir, text_only, "text-fusion-mean", "text", "mean", text_fusion));
    CHECK(slurp(evaluate(dir, text_only, "text-fusion-image", "image", "zeros", text_fusion) / "predictions.csv") !=
          slurp(text_only / "predictions.csv"));
}

TEST_CASE("evaluate: a model folder without model.pt, or a model of other labels, is refused", "[evaluate]") {
    const test::TempDir dir;
    test::tiny_demo_data(dir.path());
    const fs::path trial = test::run_tiny_trial(test::tiny_manifest(dir.path(), "text"));

    // Labels in another order are other classes to the model: refused before any work.
    test::TinyTrialOptions reordered;
    reordered.labels = R"(["positive", "negative", "neutral"])";
    CHECK_THROWS_WITH(evaluate(dir, trial, "relabelled", "both", "zeros", reordered),
                      Catch::Matchers::Contains("was trained on the labels [negative, neutral, positive], this "
                                                "trial's dataset.labels are [positive, negative, neutral]"));
    const auto failed = metrics_of(dir.path() / "runs" / "relabelled");
    CHECK(failed["status"] == "failed");

    // The manifest reader refuses a model folder without model.pt at its file:line...
    fs::copy(trial, dir.path() / "no-model", fs::copy_options::recursive);
    fs::remove(dir.path() / "no-model" / "model.pt");
    CHECK_THROWS_WITH(evaluate(dir, dir.path() / "no-model", "missing", "both"),
                      Catch::Matchers::Contains("is not a finished trial folder (config.toml + model.pt)"));
    // ...and a trial whose Study was made otherwise finds out before it writes predictions.
    Study study = test::load_study(test::tiny_manifest(dir.path(), "late"));
    study.evaluate = EvaluateConfig{dir.path() / "no-model", "both", "zeros"};
    const auto out = dir.path() / "runs" / "late";
    CHECK_THROWS_WITH(run_trial(study, test::builtin_catalog(), out),
                      Catch::Matchers::Contains("no-model is not a finished trial folder") &&
                          Catch::Matchers::Contains("model.pt is missing"));
    CHECK_FALSE(fs::exists(out / "predictions.csv"));
    CHECK(fs::exists(out / "error.txt"));
}

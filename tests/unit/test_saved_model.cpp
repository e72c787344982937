// Saved models: a demo-data trial read back from its folder predicts what the trial
// predicted; folders that are not finished trials, a model.pt of another configuration
// and study folders without a final incumbent are clear errors.
#include "train/saved_model.hpp"

#include "data/dataset_reader.hpp"
#include "tiny_trial.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <fstream>
#include <iterator>
#include <sstream>

using namespace msa;
using namespace msa::train;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

// predictions.csv's probability columns, by id.
std::map<std::string, std::vector<double>> trial_probabilities(const fs::path& folder) {
    std::ifstream in(folder / "predictions.csv");
    std::string line;
    std::getline(in, line); // header
    std::map<std::string, std::vector<double>> out;
    while (std::getline(in, line)) {
        std::stringstream fields(line);
        std::string id, field;
        std::getline(fields, id, ',');
        for (int skip = 0; skip < 3; ++skip) std::getline(fields, field, ',');
        auto& p = out[id];
        while (std::getline(fields, field, ',')) p.push_back(std::stod(field));
    }
    return out;
}

} // namespace

TEST_CASE("saved model: a trial read back from its folder gives the trial's probabilities", "[saved-model]") {
    const test::TempDir dir;
    test::tiny_demo_data(dir.path());
    const fs::path trial = test::run_tiny_trial(test::tiny_manifest(dir.path(), "text"));

    SavedModel model(trial, test::builtin_catalog());
    CHECK(model.folder() == fs::absolute(trial).lexically_normal());
    CHECK(model.labels() == std::vector<std::string>{"negative", "neutral", "positive"});
    CHECK(model.study().encoders.at("text").plugin == "hashed-ngram");

    const data::Dataset dataset = data::read_dataset(model.study().dataset);
    const at::Tensor probs = model.probabilities(dataset.samples, [](const std::string&) {}, torch::kCPU);
    REQUIRE(probs.size(0) == static_cast<std::int64_t>(dataset.samples.size()));
    const auto expected = trial_probabilities(trial);
    for (std::size_t i = 0; i < dataset.samples.size(); ++i)
        for (std::int64_t c = 0; c < 3; ++c)
            CHECK(probs[static_cast<std::int64_t>(i)][c].item<double>() ==
                  Approx(expected.at(dataset.samples[i].id)[static_cast<std::size_t>(c)]).margin(1e-5));
}

TEST_CASE("saved model: a folder that is no finished trial, or a model.pt of another configuration, is refused",
          "[saved-model]") {
    const test::TempDir dir;
    test::tiny_demo_data(dir.path());
    test::TinyTrialOptions narrow, wide;
    narrow.fusion_params = "hidden = 16\n";
    wide.fusion_params = "hidden = 32\n";
    const fs::path trial = test::run_tiny_trial(test::tiny_manifest(dir.path(), "narrow", narrow));
    const fs::path other = test::run_tiny_trial(test::tiny_manifest(dir.path(), "wide", wide));
    const auto& catalog = test::builtin_catalog();

    CHECK_THROWS_WITH(SavedModel(dir.path() / "nowhere", catalog), Contains("no such trial folder"));
    const auto copy = [&](const std::string& name) {
        fs::copy(trial, dir.path() / name, fs::copy_options::recursive);
        return dir.path() / name;
    };
    const fs::path no_config = copy("no-config");
    fs::remove(no_config / "config.toml");
    CHECK_THROWS_WITH(SavedModel(no_config, catalog),
                      Contains("no-config is not a finished trial folder") && Contains("config.toml is missing"));
    const fs::path running = copy("running");
    fs::remove(running / "metrics.json");
    CHECK_THROWS_WITH(SavedModel(running, catalog), Contains("metrics.json is missing (the trial is still running"));
    const fs::path failed = copy("failed");
    std::ofstream(failed / "metrics.json") << R"({"status": "failed", "error": "the loss became NaN"})";
    CHECK_THROWS_WITH(SavedModel(failed, catalog),
                      Contains("metrics.json says \"status\": \"failed\" (the loss became NaN)"));
    const fs::path no_model = copy("no-model");
    fs::remove(no_model / "model.pt");
    CHECK_THROWS_WITH(SavedModel(no_model, catalog), Contains("model.pt is missing"));

    // A wider fusion's weights in the narrow trial's folder: shapes that do not fit.
    const fs::path swapped = copy("swapped");
    fs::copy_file(other / "model.pt", swapped / "model.pt", fs::copy_options::overwrite_existing);
    CHECK_THROWS_WITH(SavedModel(swapped, catalog),
                      Contains((swapped / "model.pt").string() + " does not match the classifier") &&
                          Contains("has shape [32, 128] in model.pt, [16, 128] in the classifier"));
    // A config.toml edited into a classifier that cannot even be built for these encoders.
    const fs::path edited = copy("edited");
    {
        std::ifstream in(edited / "config.toml");
        std::string config((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        config.replace(config.find("plugin = \"concat\""), 17, "plugin = \"gated\"");
        std::ofstream(edited / "config.toml") << config;
    }
    // The fusion's declared needs are checked when config.toml is read, before anything is built.
    CHECK_THROWS_WITH(SavedModel(edited, catalog),
                      Contains((edited / "config.toml").string() + ":") && Contains("fusion 'gated'") &&
                          Contains("no [encoders.image]"));
    const fs::path garbage = copy("garbage");
    std::ofstream(garbage / "model.pt") << "not a model";
    CHECK_THROWS_WITH(SavedModel(garbage, catalog), Contains("model.pt: not a model saved by msa trial"));
}

TEST_CASE("saved model: a study folder names its model in results.json", "[saved-model]") {
    const test::TempDir dir;
    const fs::path trial = dir.path() / "phase" / "trial-s1";
    fs::create_directories(trial);
    std::ofstream(trial / "config.toml") << "";
    CHECK(model_folder(trial) == trial);

    std::ofstream(dir.path() / "results.json") << R"({"study": "s", "status": "complete", "final_incumbent": "phase/trial-s1"})";
    CHECK(model_folder(dir.path()) == dir.path() / "phase" / "trial-s1");
    std::ofstream(dir.path() / "results.json") << R"({"study": "s", "status": "interrupted", "final_incumbent": null})";
    CHECK_THROWS_WITH(model_folder(dir.path()),
                      Contains("results.json names no \"final_incumbent\" (study status: \"interrupted\")"));
    CHECK_THROWS_WITH(model_folder(dir.path() / "phase"),
                      Contains("phase is neither a trial folder") && Contains("nor a study folder"));
}

TEST_CASE("saved model: a study folder predicts with every finished seed of its final incumbent's configuration",
          "[saved-model][predict]") {
    const test::TempDir dir;
    // Finished trial folders as check_trial_folder sees them; seed 3 failed.
    for (const std::string trial : {"arch/gated-s1", "arch/gated-s2", "arch/concat-s1"}) {
        fs::create_directories(dir.path() / trial);
        std::ofstream(dir.path() / trial / "config.toml") << "";
        std::ofstream(dir.path() / trial / "metrics.json") << R"({"status": "ok"})";
        std::ofstream(dir.path() / trial / "model.pt") << "";
    }
    std::ofstream(dir.path() / "results.json") << R"({"study": "s", "status": "failed", "final_incumbent": "arch/gated-s2",
      "phases": [{"name": "arch", "kind": "train", "status": "complete", "incumbent": 1, "configs": [
        {"label": "fusion=concat", "trials": [{"folder": "arch/concat-s1", "seed": 1, "status": "ok"}],
         "best_trial": "arch/concat-s1"},
        {"label": "fusion=gated", "trials": [{"folder": "arch/gated-s1", "seed": 1, "status": "ok"},
                                             {"folder": "arch/gated-s2", "seed": 2, "status": "ok"},
                                             {"folder": "arch/gated-s3", "seed": 3, "status": "failed", "error": "out of memory\nat epoch 2"}],
         "best_trial": "arch/gated-s2"}]},
        {"name": "ablation", "kind": "ablation", "from": "arch", "status": "complete", "incumbent": 0, "configs": [
        {"label": "keep=both", "trials": [{"folder": "ablation/both-s2", "seed": 2, "status": "ok"}],
         "best_trial": "arch/gated-s2"}]}]})";

    const PredictionModels ensemble = prediction_models(dir.path(), /*single=*/false);
    CHECK(ensemble.from_study);
    REQUIRE(ensemble.members.size() == 2);
    CHECK(ensemble.members[0].folder == dir.path() / "arch/gated-s1");
    CHECK(ensemble.members[0].seed == 1);
    CHECK(ensemble.members[1].folder == dir.path() / "arch/gated-s2");
    CHECK(ensemble.source == "the final incumbent's configuration fusion=gated (phase arch): 2 finished seeds");
    CHECK(ensemble.left_out == std::vector<std::string>{"arch/gated-s3 (seed 3): failed (out of memory)"});

    const PredictionModels single = prediction_models(dir.path(), /*single=*/true);
    REQUIRE(single.members.size() == 1);
    CHECK(single.members[0].folder == dir.path() / "arch/gated-s2");
    CHECK(single.members[0].seed == 2);
    CHECK_THAT(single.source, Contains("the final incumbent arch/gated-s2 alone (--single: of the 2 finished seeds of "
                                       "fusion=gated, phase arch, the best by valid weighted_f1)"));

    // A trial folder is that trial, --single or not.
    const PredictionModels trial = prediction_models(dir.path() / "arch/concat-s1", false);
    REQUIRE(trial.members.size() == 1);
    CHECK_FALSE(trial.from_study);
    CHECK_FALSE(trial.members[0].seed);

    // A finished seed whose model is gone: an error that says which, and what to do.
    fs::remove(dir.path() / "arch/gated-s1/model.pt");
    CHECK_THROWS_WITH(prediction_models(dir.path(), false),
                      Contains("arch/gated-s1 is not a finished trial folder") && Contains("model.pt is missing") &&
                          Contains("lists arch/gated-s1 (seed 1) as a finished seed of the final incumbent's "
                                   "configuration (fusion=gated, phase arch)") &&
                          Contains("--single") && Contains("gated-s1/metrics.json, then msa run"));
    // --single needs only the best seed's folder.
    CHECK(prediction_models(dir.path(), true).members.size() == 1);
}

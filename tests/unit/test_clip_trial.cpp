// [clip] trials on the tiny CLIP fixture and a generated dataset: the linear probe writes
// its run folder, picks its L2 strength from the grid and is deterministic, reading its
// features back from the store on a rerun; zero-shot probabilities equal CLIPModel's own
// logits for the same image and prompts; a missing checkpoint is a clear error.
#include "train/clip_trial.hpp"

#include "test_helpers.hpp"

#include "data/dataset_reader.hpp"
#include "data/demo_data.hpp"
#include "manifest/manifest_reader.hpp"
#include "train/trial.hpp"

#include <msa/encoder.hpp>
#include <msa/models/clip.hpp>
#include <msa/models/encoder_support.hpp>
#include <msa/models/tokenizer.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>
#include <sstream>

using namespace msa;
using namespace msa::test;
using Catch::Matchers::Contains;

namespace {

constexpr int kSamples = 60;

// A generated dataset and a [clip] manifest over it, in a folder of their own.
struct ClipSetup {
    TempDir dir;
    std::filesystem::path manifest;

    explicit ClipSetup(const std::string& clip_table, const std::string& split = "valid = 0.2\ntest = 0.2") {
        data::DemoDataOptions options;
        options.samples = kSamples;
        options.unlabelled = 0;
        options.image_size = 64;
        data::write_demo_data(dir.path() / "data", options);
        manifest = dir.write("clip.toml", "schema_version = 1\nname = \"clip\"\nseed = 5\noutput = \"runs\"\n"
                                          "[dataset]\nroot = \"data\"\n[split]\n" + split +
                                              "\n[store]\npath = \"store.h5\"\n[clip]\n"
                                              // float32 like the references, whatever the CPU
                                              "dtype = \"float32\"\n" + clip_table);
    }
    Study study() const { return ManifestDocument::load(manifest).to_study(builtin_catalog()); }
    std::filesystem::path run(const std::string& name) const {
        const auto out = dir.path() / "runs" / name;
        train::run_trial(study(), builtin_catalog(), out);
        return out;
    }
};

std::string checkpoint_line(const std::filesystem::path& folder) {
    return "checkpoint = \"" + folder.string() + "\"\n";
}

nlohmann::json read_json(const std::filesystem::path& file) { return nlohmann::json::parse(std::ifstream(file)); }

std::string read_text(const std::filesystem::path& file) {
    std::ostringstream s;
    s << std::ifstream(file).rdbuf();
    return s.str();
}

// predictions.csv as id -> the row's fields.
std::map<std::string, std::vector<std::string>> read_predictions(const std::filesystem::path& file) {
    std::map<std::string, std::vector<std::string>> rows;
    std::ifstream in(file);
    std::string line;
    std::getline(in, line); // header
    while (std::getline(in, line)) {
        std::vector<std::string> fields;
        std::stringstream s(line);
        for (std::string field; std::getline(s, field, ',');) fields.push_back(field);
        rows[fields.front()] = fields;
    }
    return rows;
}

} // namespace

TEST_CASE("clip linear probe: run folder, L2 chosen from the grid, deterministic, features from the store",
          "[clip-trial]") {
    ClipSetup setup(checkpoint_line(clip_text_fixture()) + "method = \"linear-probe\"\nl2 = [1e-4, 0.01, 1]\n");
    const auto first = setup.run("first");
    for (const char* file : {"config.toml", "metrics.json", "predictions.csv", "model.pt", "log.txt"})
        CHECK(std::filesystem::is_regular_file(first / file));
    CHECK_FALSE(std::filesystem::exists(first / "error.txt"));

    const auto metrics = read_json(first / "metrics.json");
    CHECK(metrics["status"] == "ok");
    const auto& clip = metrics["clip"];
    CHECK(clip["method"] == "linear-probe");
    CHECK(clip["checkpoint"] == clip_text_fixture().string());
    CHECK(clip["select"] == "weighted_f1");
    const std::vector<double> grid{1e-4, 0.01, 1.0};
    CHECK(clip["l2_grid"].get<std::vector<double>>() == grid);
    CHECK(std::find(grid.begin(), grid.end(), clip["l2"].get<double>()) != grid.end());
    CHECK(clip["sweep"].size() == 3);
    CHECK(clip["features"] == 32); // 16 image + 16 text projection dims
    CHECK(clip["modalities"] == nlohmann::json({"image", "text"}));
    CHECK(metrics["features"]["image"]["plugin"] == "clip-image");
    CHECK(metrics["features"]["text"]["plugin"] == "clip-text");
    CHECK(metrics["features"]["image"]["encoded"] == kSamples);
    // The sampler ("all") trains on the whole train split.
    CHECK(metrics["valid"]["samples"].get<int>() > 0);
    CHECK(metrics["train_rows"].get<int>() + metrics["valid"]["samples"].get<int>() +
              metrics["test"]["samples"].get<int>() ==
          kSamples);
    CHECK(metrics["parameters"]["head"] == 3 * 32 + 3);
    const auto predictions = read_predictions(first / "predictions.csv");
    CHECK(predictions.size() == kSamples);
    CHECK_THAT(read_text(first / "predictions.csv"), Contains("id,split,label,predicted,p_negative,p_neutral,p_positive"));
    CHECK_THAT(read_text(first / "log.txt"), Contains("chose l2 = "));

    // model.pt is the probe's linear layer.
    torch::nn::Linear probe(32, 3);
    torch::load(probe, (first / "model.pt").string());
    CHECK(probe->weight.abs().sum().item<double>() > 0);

    // The resolved config is a [clip] manifest again.
    const Study again = ManifestDocument::load(first / "config.toml").to_study(builtin_catalog());
    REQUIRE(again.clip);
    CHECK(again.clip->l2 == grid);
    CHECK(again.clip->modalities == std::vector<std::string>{"image", "text"});

    // A rerun reads every feature from the store and gives the same predictions.
    const auto second = setup.run("second");
    const auto rerun = read_json(second / "metrics.json");
    CHECK(rerun["features"]["image"]["from_store"] == kSamples);
    CHECK(rerun["features"]["text"]["from_store"] == kSamples);
    CHECK(rerun["features"]["text"]["encoded"] == 0);
    CHECK(read_text(first / "predictions.csv") == read_text(second / "predictions.csv"));
    CHECK(rerun["test"] == metrics["test"]);
    CHECK(rerun["clip"]["sweep"] == clip["sweep"]);
}

TEST_CASE("clip linear probe on image embeddings alone", "[clip-trial]") {
    ClipSetup setup(checkpoint_line(clip_text_fixture()) + "modalities = [\"image\"]\nl2 = [0.01]\n");
    const auto metrics = read_json(setup.run("image") / "metrics.json");
    CHECK(metrics["clip"]["features"] == 16);
    CHECK(metrics["clip"]["l2"] == 0.01);
    CHECK_FALSE(metrics["features"].contains("text"));
}

TEST_CASE("clip zero-shot probabilities are CLIPModel's softmaxed logits for the image and the prompts",
          "[clip-trial]") {
    const auto folder = clip_text_fixture();
    ClipSetup setup(checkpoint_line(folder) + "method = \"zero-shot\"\ntemplates = [\"a {} photo\"]\n");
    const auto out = setup.run("zero-shot");
    const auto metrics = read_json(out / "metrics.json");
    CHECK(metrics["status"] == "ok");
    CHECK(metrics["clip"]["prompts"] == nlohmann::json({"a negative photo", "a neutral photo", "a positive photo"}));
    CHECK_FALSE(std::filesystem::exists(out / "model.pt"));

    // The brute-force way: the whole CLIPModel on the preprocessed image and the tokenized prompts.
    const auto checkpoint = models::load_checkpoint(folder);
    auto model = models::load_clip_model(checkpoint);
    model->eval();
    torch::NoGradGuard no_grad;
    const auto size = model->vision->config().image_size;
    const auto processor = models::image_processor_for(checkpoint, "CLIPImageProcessor", size, size);
    const auto tokenizer = models::load_tokenizer(folder, "clip-bpe");
    const auto prompts = metrics["clip"]["prompts"].get<std::vector<std::string>>();
    const auto tokens = models::tokenize_batch(*tokenizer, prompts, model->text->config().max_position_embeddings);
    CHECK(metrics["clip"]["logit_scale"].get<double>() == Approx(std::exp(model->logit_scale_value())));

    const auto predictions = read_predictions(out / "predictions.csv");
    const auto dataset = data::read_dataset(setup.study().dataset);
    REQUIRE(predictions.size() == dataset.samples.size());
    for (std::size_t i = 0; i < dataset.samples.size(); i += 7) {
        const Sample& sample = dataset.samples[i];
        INFO(sample.id);
        const at::Tensor pixels = models::load_image_batch(EncoderBatch{{&sample}}, processor, 1);
        const at::Tensor expected = torch::softmax(model->logits_per_image(pixels, tokens.ids, tokens.mask), 1)[0];
        const auto& row = predictions.at(sample.id);
        for (int c = 0; c < 3; ++c) CHECK(std::stod(row[4 + c]) == Approx(expected[c].item<double>()).margin(1e-5));
    }
}

TEST_CASE("zero-shot prompts and class embeddings ensemble the templates", "[clip-trial]") {
    CHECK(train::zero_shot_prompts({"good", "bad"}, {"a {} day", "{}: {}"}) ==
          std::vector<std::string>{"a good day", "good: good", "a bad day", "bad: bad"});
    const at::Tensor prompts = torch::tensor({{3.0F, 0.0F}, {0.0F, 1.0F}, {-2.0F, 0.0F}, {-1.0F, 0.0F}});
    const at::Tensor classes = train::zero_shot_class_embeddings(prompts, 2);
    const float h = 1.0F / std::sqrt(2.0F);
    CHECK(torch::allclose(classes, torch::tensor({{h, h}, {-1.0F, 0.0F}}), 1e-6, 1e-6));
    CHECK_THROWS_WITH(train::zero_shot_class_embeddings(prompts, 3), Contains("do not divide into 3 classes"));
    // Probabilities follow the cosine, sharpened by exp(logit_scale).
    const at::Tensor p = train::zero_shot_probabilities(torch::tensor({{2.0F, 2.0F}}), classes, std::log(10.0));
    CHECK(p[0][0].item<double>() == Approx(1.0 / (1.0 + std::exp(-10.0 * (1.0 + h)))));
}

TEST_CASE("clip trials: a missing checkpoint and settings that cannot work are clear errors", "[clip-trial]") {
    TempDir scratch;
    ClipConfig clip;
    std::string reason;
    clip.checkpoint = scratch.path() / "clip-vit-base-patch32";
    CHECK_FALSE(train::clip_checkpoint_present(clip, reason));
    CHECK_THAT(reason, Contains(clip.checkpoint.string() + " does not exist") &&
                           Contains("cannot be fetched by scripts/fetch-models") &&
                           Contains("Hugging Face CLIP model folder"));
    std::filesystem::create_directories(clip.checkpoint);
    CHECK_FALSE(train::clip_checkpoint_present(clip, reason));
    CHECK_THAT(reason, Contains("has no config.json"));
    clip.checkpoint = clip_text_fixture();
    CHECK(train::clip_checkpoint_present(clip, reason));

    // A trial on a missing folder fails before it reads anything, and says so in its folder.
    ClipSetup missing(checkpoint_line(scratch.path() / "nowhere"));
    CHECK_THROWS_WITH(missing.run("missing"), Contains("clip.toml:") && Contains("nowhere does not exist") &&
                                                  Contains("scripts/fetch-models"));
    CHECK_THAT(read_text(missing.dir.path() / "runs" / "missing" / "error.txt"), Contains("does not exist"));
    CHECK(read_json(missing.dir.path() / "runs" / "missing" / "metrics.json")["status"] == "failed");

    // Zero-shot needs both towers and logit_scale; a vision-only checkpoint has neither.
    ClipSetup vision(checkpoint_line(parity_fixture_dir("clip") / "vision") + "method = \"zero-shot\"\n");
    CHECK_THROWS_WITH(vision.run("vision"), Contains("has no logit_scale"));

    // A grid is chosen on the validation split, so it needs one.
    ClipSetup no_valid(checkpoint_line(clip_text_fixture()), "valid = 0.0\ntest = 0.2");
    CHECK_THROWS_WITH(no_valid.run("no-valid"), Contains("the validation split, which is empty") &&
                                                    Contains("give one l2 value"));
}

TEST_CASE("clip trials pair encoders by their declared joint space, not by name", "[clip-trial]") {
    ClipSetup setup(checkpoint_line(clip_text_fixture()) + "l2 = [0.01]\n");
    const Study study = setup.study();
    // The built-in pair declares the space "clip".
    const PluginCatalog& builtin = builtin_catalog();
    CHECK(builtin.get(PluginKind::encoder, "clip-text", "test").info.joint_space == "clip");
    CHECK(builtin.get(PluginKind::encoder, "clip-image", "test").info.joint_space == "clip");
    // Encoders of those names that declare no common space are refused before encoding.
    PluginCatalog catalog;
    const PluginEntry& all = builtin.get(PluginKind::sampler, "all", "test");
    catalog.add_sampler(all.info, std::get<SamplerFactory>(all.factory));
    for (const auto& [name, space] : {std::pair{"clip-text", "clip"}, std::pair{"clip-image", ""}}) {
        const PluginInfo& real = builtin.get(PluginKind::encoder, name, "test").info;
        catalog.add_encoder(PluginInfo{name, real.summary, real.params}.with_joint_space(space),
                            [](const Properties&) -> std::shared_ptr<Encoder> { throw Error("never built"); });
    }
    CHECK_THROWS_WITH(train::run_trial(study, catalog, setup.dir.path() / "runs" / "unpaired"),
                      Contains("must declare one joint image-text space") && Contains("'clip' and ''"));
}

// Manifests: includes, typed keys, and errors that give file:line:column, the key path
// and the nearest accepted name.
#include "manifest/manifest_reader.hpp"
#include "manifest/resolved_manifest.hpp"

#include "test_helpers.hpp"

#include <catch2/catch.hpp>

using namespace msa;
using Catch::Matchers::Contains;

namespace {

// A manifest header with a dataset root that exists.
std::string header(const test::TempDir& dir) {
    std::filesystem::create_directories(dir.path() / "data");
    return "schema_version = 1\n[dataset]\nformat = \"guid-tag\"\nroot = \"data\"\n";
}

Study read(const std::filesystem::path& file) {
    return ManifestDocument::load(file).to_study(test::builtin_catalog());
}

// The problems of an invalid manifest, one per line.
std::string problems_of(const std::filesystem::path& file) {
    try {
        read(file);
    } catch (const ManifestError& e) {
        return e.what();
    }
    FAIL("the manifest was accepted: " << file);
    return {};
}

} // namespace

TEST_CASE("a complete manifest reads into a typed Study with plugin defaults filled in") {
    test::TempDir dir;
    const auto file = dir.write("study.toml", header(dir) + R"(labels = ["neg", "pos"]
[encoders.text]
plugin = "hashed-ngram"
dim = 64
[fusion]
plugin = "concat"
hidden = 32
[loss]
plugin = "cross-entropy"
class_weights = [1, 2]
[sampler]
plugin = "stratified"
fraction = 0.25
[train]
epochs = 5
learning_rate = 3e-4
)");
    const Study study = read(file);
    CHECK(study.name == "study");
    CHECK(study.seed == 42);
    CHECK(study.dataset.root == dir.path() / "data");
    CHECK(study.dataset.labels == std::vector<std::string>{"neg", "pos"});
    REQUIRE(study.encoders.count("text") == 1);
    CHECK(study.encoders.at("text").params.get_int("dim") == 64);
    CHECK(study.encoders.at("text").params.get_string("analyzer") == "word"); // declared default
    CHECK(study.fusion.params.get_int("hidden") == 32);
    CHECK(study.fusion.params.where("hidden") == file.string() + ":11:10");
    CHECK(study.loss.params.get_reals("class_weights") == std::vector<double>{1.0, 2.0});
    CHECK(study.sampler.plugin == "stratified");
    CHECK_FALSE(study.augmenter.has_value());
    CHECK(study.train.epochs == 5);
    CHECK(study.train.learning_rate == Approx(3e-4));
}

TEST_CASE("absent plugin tables take the baseline plugins, and a plugin name alone is a shorthand") {
    test::TempDir dir;
    const Study study = read(dir.write("s.toml", header(dir) + "[encoders]\ntext = \"hashed-ngram\"\n"));
    CHECK(study.fusion.plugin == "concat");
    CHECK(study.loss.plugin == "cross-entropy");
    CHECK(study.sampler.plugin == "all");
    CHECK(study.encoders.at("text").params.get_int("dim") == 1024);
}

TEST_CASE("a misspelled key gives file:line:column and the nearest accepted name") {
    test::TempDir dir;
    const auto file = dir.write("typo.toml", header(dir) + "[fusoin]\nplugin = \"concat\"\n");
    CHECK_THAT(problems_of(file), Contains(file.string() + ":5:2: error: unknown key 'fusoin' (did you mean 'fusion'?)"));

    const auto nested = dir.write("nested.toml", header(dir) + "[train]\nepohcs = 3\n");
    CHECK_THAT(problems_of(nested),
               Contains(nested.string() + ":6:1: error: unknown key 'train.epohcs' (did you mean 'train.epochs'?)"));
}

TEST_CASE("[split] test_seed: optional, a seed, refused beside given split files", "[manifest][split]") {
    test::TempDir dir;
    CHECK_FALSE(read(dir.write("none.toml", header(dir))).split.test_seed.has_value());
    const Study study = read(dir.write("set.toml", header(dir) + "[split]\ntest = 0.2\ntest_seed = 7\n"));
    REQUIRE(study.split.test_seed.has_value());
    CHECK(*study.split.test_seed == 7);
    // The resolved manifest keeps it, and writes nothing new where it is unset.
    CHECK_THAT(resolved_manifest(study), Contains("\nfold = 0\ntest_seed = 7\n"));
    CHECK_THAT(resolved_manifest(read(dir.path() / "none.toml")), !Contains("test_seed"));
    CHECK(read(dir.write("again.toml", resolved_manifest(study))).split.test_seed == study.split.test_seed);

    const auto negative = dir.write("negative.toml", header(dir) + "[split]\ntest_seed = -1\n");
    CHECK_THAT(problems_of(negative), Contains(negative.string() + ":6:13: error: 'split.test_seed'"));
    const auto text = dir.write("text.toml", header(dir) + "[split]\ntest_seed = \"7\"\n");
    CHECK_THAT(problems_of(text), Contains(text.string() + ":6:13: error: 'split.test_seed'") &&
                                      Contains("must be an integer, got a string"));
    dir.write("train.csv", "guid,tag\n");
    dir.write("valid.csv", "guid,tag\n");
    dir.write("test.csv", "guid,tag\n");
    const auto files = dir.write("files.toml", header(dir) + "[split]\ntrain_file = \"train.csv\"\n"
                                                             "valid_file = \"valid.csv\"\ntest_file = \"test.csv\"\n"
                                                             "test_seed = 3\n");
    CHECK_THAT(problems_of(files), Contains(files.string() + ":9:13: error: 'split.test_seed' draws the test split, "
                                                             "and the given test_file already is it"));
    const auto typo = dir.write("typo.toml", header(dir) + "[split]\ntest_sed = 3\n");
    CHECK_THAT(problems_of(typo), Contains("unknown key 'split.test_sed' (did you mean 'split.test_seed'?)"));
}

TEST_CASE("plugin parameters are checked against the plugin's declaration") {
    test::TempDir dir;
    const auto typo = dir.write("p.toml", header(dir) + "[fusion]\nplugin = \"concat\"\nhiden = 8\n");
    CHECK_THAT(problems_of(typo), Contains(typo.string() + ":7:1: error: unknown parameter 'fusion.hiden'") &&
                                      Contains("(did you mean 'hidden'?)") && Contains("accepted: plugin, hidden, dropout"));

    const auto range = dir.write("r.toml", header(dir) + "[fusion]\nplugin = \"concat\"\ndropout = 1.5\n");
    CHECK_THAT(problems_of(range), Contains(range.string() + ":7:11: error: 'fusion.dropout': 1.5 is out of range; "
                                                             "accepted: [0.0, 0.95]"));

    const auto type = dir.write("t.toml", header(dir) + "[fusion]\nplugin = \"concat\"\nhidden = \"wide\"\n");
    CHECK_THAT(problems_of(type), Contains("'fusion.hidden': expected an integer, got a string"));

    const auto choice = dir.write("c.toml", header(dir) + "[encoders.text]\nplugin = \"hashed-ngram\"\nanalyzer = \"chars\"\n");
    CHECK_THAT(problems_of(choice), Contains("\"chars\" is not accepted; one of word, char"));
}

TEST_CASE("an unknown plugin name suggests the nearest known plugin") {
    test::TempDir dir;
    const auto file = dir.write("u.toml", header(dir) + "[loss]\nplugin = \"cross-entropi\"\n");
    CHECK_THAT(problems_of(file), Contains(file.string() + ":6:10: error: unknown loss plugin 'cross-entropi' "
                                                           "(did you mean 'cross-entropy'?)"));
}

TEST_CASE("wrong types and ranges of study keys are errors with their location") {
    test::TempDir dir;
    const auto file = dir.write("w.toml", "seed = \"x\"\n" + header(dir) + "[train]\nepochs = 0\ndevice = \"tpu\"\n");
    const std::string text = problems_of(file);
    CHECK_THAT(text, Contains(file.string() + ":1:8: error: 'seed' must be an integer, got a string"));
    CHECK_THAT(text, Contains(":7:10: error: 'train.epochs' = 0 is out of range; accepted: [1, 100000]"));
    CHECK_THAT(text, Contains("'train.device' = \"tpu\" is not accepted (did you mean 'cpu'?); accepted: cpu, cuda"));
}

TEST_CASE("a top-level key written after a table header belongs to that table, and says so") {
    test::TempDir dir;
    const auto file = dir.write("late.toml", header(dir) + "seed = 3\n");
    CHECK_THAT(problems_of(file), Contains("unknown key 'dataset.seed'"));
}

TEST_CASE("every problem is reported, not only the first") {
    test::TempDir dir;
    const auto file = dir.write("many.toml", header(dir) + "colour = 1\n[fusion]\nplugin = \"concat\"\nhidden = -1\n");
    try {
        read(file);
        FAIL("accepted");
    } catch (const ManifestError& e) {
        CHECK(e.problems().size() == 2);
    }
}

TEST_CASE("schema_version is required and must be the one this msa reads") {
    test::TempDir dir;
    std::filesystem::create_directories(dir.path() / "data");
    CHECK_THAT(problems_of(dir.write("a.toml", "[dataset]\nroot = \"data\"\n")), Contains("missing 'schema_version = 1'"));
    CHECK_THAT(problems_of(dir.write("b.toml", "schema_version = 7\n[dataset]\nroot = \"data\"\n")),
               Contains("b.toml:1:18: error: schema_version 7 is not supported; this msa reads schema_version 1"));
}

TEST_CASE("missing files are named: the manifest, an include, the dataset root") {
    test::TempDir dir;
    CHECK_THROWS_WITH(ManifestDocument::load(dir.path() / "absent.toml"), Contains("manifest not found: ") && Contains("absent.toml"));
    const auto inc = dir.write("i.toml", "include = [\"common.toml\"]\nschema_version = 1\n");
    CHECK_THROWS_WITH(ManifestDocument::load(inc),
                      Contains(inc.string() + ":1:12: error: included file not found: ") && Contains("common.toml"));
    const auto root = dir.write("r.toml", "schema_version = 1\n[dataset]\nroot = \"nowhere\"\n");
    CHECK_THAT(problems_of(root), Contains(root.string() + ":3:8: error: dataset root not found: ") && Contains("nowhere"));
}

TEST_CASE("a TOML syntax error gives its location") {
    test::TempDir dir;
    const auto file = dir.write("syntax.toml", "schema_version = 1\n[dataset\n");
    CHECK_THROWS_WITH(ManifestDocument::load(file), Contains(file.string() + ":2:") && Contains("TOML syntax"));
}

TEST_CASE("includes merge table by table, the including file wins, paths are relative to their file") {
    test::TempDir dir;
    std::filesystem::create_directories(dir.path() / "shared/data");
    dir.write("shared/common.toml", R"(schema_version = 1
seed = 7
[dataset]
root = "data"
[fusion]
plugin = "concat"
hidden = 16
dropout = 0.3
)");
    const auto file = dir.write("study.toml", R"(include = ["shared/common.toml"]
[fusion]
hidden = 64
)");
    const auto document = ManifestDocument::load(file);
    const Study study = document.to_study(test::builtin_catalog());
    CHECK(study.seed == 7);
    CHECK(study.dataset.root == dir.path() / "shared/data");
    CHECK(study.fusion.params.get_int("hidden") == 64);
    CHECK(study.fusion.params.get_real("dropout") == Approx(0.3));
    // A value from the included file reports the included file's location.
    CHECK(study.fusion.params.where("dropout") == (dir.path() / "shared/common.toml").string() + ":8:11");
    REQUIRE(study.includes.size() == 1);
}

TEST_CASE("an include cycle is an error") {
    test::TempDir dir;
    dir.write("a.toml", "include = [\"b.toml\"]\nschema_version = 1\n");
    dir.write("b.toml", "include = [\"a.toml\"]\n");
    CHECK_THROWS_WITH(ManifestDocument::load(dir.path() / "a.toml"), Contains("include cycle"));
}

TEST_CASE("plugin_paths are read before the plugins load, relative to the manifest") {
    test::TempDir dir;
    const auto file = dir.write("p.toml", "schema_version = 1\nplugin_paths = [\"plugins\", \"/opt/msa\"]\n");
    const auto paths = ManifestDocument::load(file).plugin_paths();
    REQUIRE(paths.size() == 2);
    CHECK(paths[0] == dir.path() / "plugins");
    CHECK(paths[1] == "/opt/msa");
}

TEST_CASE("train table: reads the schedule, early stopping and clipping keys, and checks them") {
    test::TempDir dir;
    const auto file = dir.write("train.toml", header(dir) + "[train]\nschedule = \"cosine\"\nwarmup = 0.2\n"
                                                            "grad_clip = 0.5\npatience = 3\nmonitor = \"macro_f1\"\n"
                                                            "restore_best = false\nthreads = 1\nprecision = \"float32\"\n"
                                                            "layer_decay = 0.8\n");
    const Study study = read(file);
    CHECK(study.train.precision == "float32");
    CHECK(study.train.precision_given);
    CHECK(study.train.layer_decay == 0.8);
    CHECK(read(dir.write("default.toml", header(dir))).train.precision == "auto");
    CHECK(study.train.schedule == Schedule::cosine);
    CHECK(study.train.warmup == 0.2);
    CHECK(study.train.grad_clip == 0.5);
    CHECK(study.train.patience == 3);
    CHECK(study.train.monitor == MetricName{Metric::macro_f1, {}});
    CHECK_FALSE(study.train.restore_best);
    CHECK(study.train.threads == 1);
    const auto bad = dir.write("bad.toml", header(dir) + "[train]\nschedule = \"cosin\"\nmonitor = \"f1\"\n"
                                                         "precision = \"fp16\"\nlayer_decay = 0\n");
    CHECK_THAT(problems_of(bad), Contains("'train.schedule' = \"cosin\" is not accepted (did you mean 'cosine'?)") &&
                                     Contains("'train.monitor' = \"f1\" is not accepted") &&
                                     Contains("'train.precision' = \"fp16\" is not accepted") &&
                                     Contains("train.layer_decay"));
}

TEST_CASE("auxiliary_loss tables name a loss plugin and its weight, checked like any plugin table") {
    test::TempDir dir;
    const auto file = dir.write("aux.toml", header(dir) + "[[auxiliary_loss]]\nplugin = \"cross-entropy\"\n"
                                                          "weight = 0.25\nlabel_smoothing = 0.1\n");
    const Study study = read(file);
    REQUIRE(study.auxiliary_losses.size() == 1);
    CHECK(study.auxiliary_losses[0].weight == 0.25);
    CHECK(study.auxiliary_losses[0].choice.plugin == "cross-entropy");
    CHECK(study.auxiliary_losses[0].choice.params.get_real("label_smoothing") == 0.1);

    const auto no_weight = dir.write("nw.toml", header(dir) + "[[auxiliary_loss]]\nplugin = \"cross-entropy\"\n");
    CHECK_THAT(problems_of(no_weight), Contains("auxiliary_loss[0] needs 'weight'"));
    const auto typo = dir.write("t.toml", header(dir) + "[[auxiliary_loss]]\nplugin = \"cross-entropy\"\nweight = 0.1\n"
                                                        "label_smoothin = 0.1\n");
    CHECK_THAT(problems_of(typo), Contains(typo.string() + ":8:1: error: unknown parameter "
                                                           "'auxiliary_loss[0].label_smoothin'"));
    const auto heavy = dir.write("h.toml", header(dir) + "[[auxiliary_loss]]\nplugin = \"cross-entropy\"\n"
                                                         "weight = 0.6\n[[auxiliary_loss]]\nplugin = "
                                                         "\"cross-entropy\"\nweight = 0.5\n");
    CHECK_THAT(problems_of(heavy), Contains("the auxiliary loss weights sum to 1.1"));
}

TEST_CASE("clip table: checkpoint, method, templates, the probe's L2 grid and modalities, checked") {
    test::TempDir dir;
    const auto file = dir.write("clip.toml", header(dir) + "[clip]\ncheckpoint = \"models/clip\"\n"
                                                           "method = \"zero-shot\"\ntemplates = [\"a {} post\"]\n"
                                                           "l2 = [0, 1e-3, 1]\nmodalities = [\"image\"]\n");
    const Study study = read(file);
    REQUIRE(study.clip);
    // The folder need not exist yet: a study reports the phase as skipped instead.
    CHECK(study.clip->checkpoint == dir.path() / "models" / "clip");
    CHECK(study.clip->method == "zero-shot");
    CHECK(study.clip->templates == std::vector<std::string>{"a {} post"});
    CHECK(study.clip->l2 == std::vector<double>{0.0, 1e-3, 1.0});
    CHECK(study.clip->modalities == std::vector<std::string>{"image"});
    CHECK_THAT(study.clip->where, Contains("clip.toml:5:1"));

    const auto defaults = read(dir.write("d.toml", header(dir) + "[clip]\ncheckpoint = \"models/clip\"\n"));
    CHECK(defaults.clip->method == "linear-probe");
    CHECK(defaults.clip->l2.size() == 7);
    CHECK(defaults.clip->modalities == std::vector<std::string>{"image", "text"});

    const auto bad = dir.write("bad.toml", header(dir) + "[clip]\nmethod = \"few-shot\"\ntemplates = [\"a post\"]\n"
                                                         "l2 = [1e-3, -1]\nmodalities = [\"image\", \"image\"]\n");
    CHECK_THAT(problems_of(bad), Contains("[clip] needs 'checkpoint'") &&
                                     Contains("'clip.method' = \"few-shot\" is not accepted") &&
                                     Contains("each with {}") && Contains("bad.toml:8:13: error: 'clip.l2' holds -1.0") &&
                                     Contains("'clip.modalities' must list \"image\", \"text\" or both"));
    const auto empty = dir.write("e.toml", header(dir) + "[clip]\ncheckpoint = \"c\"\nl2 = []\nmodalities = \"text\"\n");
    CHECK_THAT(problems_of(empty), Contains("'clip.l2' needs at least one") &&
                                       Contains("'clip.modalities' must be an array of strings"));
}

TEST_CASE("a fusion or loss that reads a modality the study has no encoder for is a manifest error") {
    test::TempDir dir;
    const auto file = dir.write("needs.toml", header(dir) + "[encoders.text]\nplugin = \"hashed-ngram\"\n"
                                                           "[fusion]\nplugin = \"gated\"\n[loss]\nplugin = \"itc\"\n");
    const std::string problems = problems_of(file);
    CHECK_THAT(problems, Contains(file.string() + ":7:1: error: fusion 'gated'") &&
                             Contains("reads text and image features, but this study has no [encoders.image]") &&
                             Contains("text-only"));
    CHECK_THAT(problems, Contains("loss 'itc'") && Contains("cross-entropy"));
    // What a phase's select and the trainer's monitor accept comes from one metric table.
    const auto metric = dir.write("metric.toml", header(dir) + "[train]\nmonitor = \"f1.neutral\"\n");
    CHECK_THAT(problems_of(metric), Contains("'train.monitor' = \"f1.neutral\" is not accepted") &&
                                        Contains("accepted: weighted_f1, macro_f1, accuracy, loss"));
    const auto schedule = dir.write("schedule.toml", header(dir) + "[train]\nschedule = \"step\"\n");
    CHECK_THAT(problems_of(schedule), Contains("accepted: constant, linear, cosine"));
}

TEST_CASE("an ablation phase retrains with fusions whose declarations read one modality alone") {
    test::TempDir dir;
    const std::string base = header(dir) + "[encoders.text]\nplugin = \"hashed-ngram\"\n"
                                           "[[phase]]\nname = \"baseline\"\n"
                                           "[[phase]]\nname = \"ablation\"\nkind = \"ablation\"\nfrom = \"baseline\"\n";
    const Study study = read(dir.write("ok.toml", base + "image_fusion = \"image-only\"\n"));
    CHECK(study.phases.at(1).text_only_fusion == builtin_defaults::text_only_fusion);
    const std::string problems = problems_of(dir.write("bad.toml", base + "text_fusion = \"gated\"\n"
                                                                          "image_fusion = \"no-such\"\n"));
    CHECK_THAT(problems, Contains("phase 'ablation': text_fusion = \"gated\" must read text features alone (its "
                                  "declaration says it reads both)"));
    CHECK_THAT(problems, Contains("image_fusion = \"no-such\" is no fusion; accepted: ") && Contains("image-only"));
}

TEST_CASE("keep_incumbent belongs to train phases that start from another phase") {
    test::TempDir dir;
    const std::string base = header(dir) + "[encoders.text]\nplugin = \"hashed-ngram\"\n"
                                           "[[phase]]\nname = \"baseline\"\n";
    const Study study = read(dir.write("ok.toml", base + "[[phase]]\nname = \"fine-tuning\"\nfrom = \"baseline\"\n"
                                                         "keep_incumbent = true\n"));
    CHECK(study.phases.at(1).keep_incumbent);
    CHECK_FALSE(study.phases.at(0).keep_incumbent);
    CHECK_THAT(problems_of(dir.write("no-from.toml", base + "keep_incumbent = true\n")),
               Contains("keep_incumbent' keeps the incumbent of 'from' as a candidate: set 'from'"));
    CHECK_THAT(problems_of(dir.write("ablation.toml", base + "[[phase]]\nname = \"a\"\nkind = \"ablation\"\n"
                                                             "from = \"baseline\"\nkeep_incumbent = true\n")),
               Contains("keep_incumbent"));
}

TEST_CASE("a few-shot phase: increasing shots, draws instead of seeds, one test split, and the trial's few_shot.k") {
    test::TempDir dir;
    const std::string base = header(dir) + "[split]\ntest_seed = 7\n[encoders.text]\nplugin = \"hashed-ngram\"\n"
                                           "[[phase]]\nname = \"curves\"\nkind = \"few-shot\"\n";
    const Study study = read(dir.write("ok.toml", base + "shots = [4, 8, 16]\ndraws = 3\n"));
    CHECK(study.phases.at(0).kind == PhaseKind::few_shot);
    CHECK(study.phases.at(0).shots == std::vector<std::int64_t>{4, 8, 16});
    CHECK(study.phases.at(0).draws == 3);
    CHECK(read(dir.write("default.toml", base + "shots = [1]\n")).phases.at(0).draws == 5);
    CHECK_THAT(problems_of(dir.write("none.toml", base)), Contains("needs shots = [k, ...]"));
    CHECK_THAT(problems_of(dir.write("order.toml", base + "shots = [8, 4]\n")),
               Contains("'phase[0].shots' must be a non-empty array of increasing integers"));
    CHECK_THAT(problems_of(dir.write("negative.toml", base + "shots = [-1, 4]\n")),
               Contains("increasing integers in [0, 1000000]"));
    CHECK_THAT(problems_of(dir.write("seeds.toml", base + "shots = [4]\nseeds = [1, 2]\n")),
               Contains("a few-shot phase trains draw d with seed d; set draws = N"));
    CHECK_THAT(problems_of(dir.write("keep.toml", base + "shots = [4]\nhard_fraction = 0.2\n")),
               Contains("hard_fraction"));
    // Every k and draw is tested on one test split.
    const std::string unseeded = header(dir) + "[encoders.text]\nplugin = \"hashed-ngram\"\n"
                                               "[[phase]]\nname = \"curves\"\nkind = \"few-shot\"\nshots = [4]\n";
    CHECK_THAT(problems_of(dir.write("split.toml", unseeded)),
               Contains("phase 'curves': a few-shot phase compares every k and draw on one test split; set [split] "
                        "test_seed"));
    // k = 0: zero-shot by the descriptions of every label, and only then.
    const Study zero = read(dir.write("zero.toml", base + "shots = [0, 4]\ndescriptions.negative = [\"sad\"]\n"
                                                         "descriptions.neutral = [\"plain\", \"calm\"]\n"
                                                         "descriptions.positive = [\"glad\"]\n"));
    CHECK(zero.phases.at(0).shots == std::vector<std::int64_t>{0, 4});
    CHECK(zero.phases.at(0).descriptions.at("neutral") == std::vector<std::string>{"plain", "calm"});
    CHECK_THAT(problems_of(dir.write("zero-none.toml", base + "shots = [0, 4]\n")),
               Contains("holds 0, zero-shot by label descriptions: set descriptions"));
    CHECK_THAT(problems_of(dir.write("zero-unused.toml", base + "shots = [4]\ndescriptions.negative = [\"sad\"]\n")),
               Contains("are used at k = 0 only"));
    const std::string partial = problems_of(dir.write("zero-partial.toml", base + "shots = [0]\ndescriptions.negative = "
                                                                             "[\"sad\"]\ndescriptions.happy = [\"glad\"]\n"));
    CHECK_THAT(partial, Contains("phase 'curves': descriptions has no descriptions for neutral, positive") &&
                            Contains("describes happy, which is not a label of this study"));
    CHECK_THAT(problems_of(dir.write("zero-empty.toml", base + "shots = [0]\ndescriptions.negative = []\n")),
               Contains("'phase[0].descriptions.negative' must be a non-empty array of non-empty strings"));
    // The trial's own table, as the phase writes it.
    const std::string trial = header(dir) + "[encoders.text]\nplugin = \"hashed-ngram\"\n";
    const Study described = read(dir.write("z.toml", trial + "[zero_shot.descriptions]\nnegative = [\"sad\"]\n"
                                                           "neutral = [\"plain\"]\npositive = [\"glad\"]\n"));
    CHECK(described.zero_shot->descriptions.at("positive") == std::vector<std::string>{"glad"});
    CHECK_THAT(problems_of(dir.write("z-none.toml", trial + "[zero_shot]\n")), Contains("[zero_shot] needs 'descriptions'"));
    // SetFit's contrastive stage: its keys, checked like any.
    const Study setfit = read(dir.write("c.toml", trial + "[contrastive]\npairs_per_post = 8\nlearning_rate = 1e-4\n"
                                                         "freeze = false\n"));
    CHECK(setfit.contrastive->pairs_per_post == 8);
    CHECK(setfit.contrastive->learning_rate == 1e-4);
    CHECK_FALSE(setfit.contrastive->freeze);
    CHECK(setfit.contrastive->epochs == 1);
    CHECK_THAT(problems_of(dir.write("c-bad.toml", trial + "[contrastive]\npairs_per_post = 1\npairs = 3\n")),
               Contains("contrastive.pairs_per_post") && Contains("'contrastive.pairs'"));
    CHECK(read(dir.write("k.toml", trial + "[few_shot]\nk = 16\n")).few_shot->k == 16);
    CHECK(read(dir.write("k0.toml", trial + "[few_shot]\nk = 0\n")).few_shot->k == 0); // zero-shot
    CHECK_THAT(problems_of(dir.write("k-1.toml", trial + "[few_shot]\nk = -1\n")), Contains("few_shot.k"));
    CHECK_THAT(problems_of(dir.write("nok.toml", trial + "[few_shot]\n")), Contains("[few_shot] needs 'k'"));
}

TEST_CASE("a distill phase needs a teacher, and [distill] checks its thresholds, targets and pools") {
    test::TempDir dir;
    const std::string base = header(dir) + "[encoders.text]\nplugin = \"hashed-ngram\"\n";
    // The phase: a teacher from `from` or a folder.
    const Study study = read(dir.write("d.toml", base + "[[phase]]\nname = \"t\"\n[[phase]]\nname = \"s\"\nkind = "
                                                        "\"distill\"\nfrom = \"t\"\ngold = false\n"));
    CHECK(study.phases.at(1).kind == PhaseKind::distill);
    CHECK_FALSE(study.phases.at(1).gold);
    CHECK_THAT(problems_of(dir.write("d-none.toml", base + "[[phase]]\nname = \"s\"\nkind = \"distill\"\n")),
               Contains("a phase of kind 'distill' needs a teacher: from = "));
    // The trial's table, as the phase writes it.
    std::filesystem::create_directories(dir.path() / "extra");
    const Study trial = read(dir.write("t.toml", base + "[distill]\nteacher = \"runs/t\"\nthreshold = 0.8\ntargets = "
                                                        "\"soft\"\ntemperature = 2\nrounds = 3\n[distill.thresholds]\n"
                                                        "neutral = 0.9\n[[distill.pool]]\nroot = \"extra\"\n"));
    REQUIRE(trial.distill);
    CHECK(trial.distill->teacher == dir.path() / "runs/t");
    CHECK(trial.distill->threshold_of("neutral") == 0.9);
    CHECK(trial.distill->threshold_of("positive") == 0.8);
    CHECK(trial.distill->targets == "soft");
    CHECK(trial.distill->rounds == 3);
    REQUIRE(trial.distill->pools.size() == 1);
    CHECK(trial.distill->pools[0].root == dir.path() / "extra");
    const std::string bad = problems_of(dir.write("t-bad.toml", base + "[distill]\nthreshold = 1.5\ntargets = \"soft"
                                                                        "est\"\n[distill.thresholds]\nangry = 0.5\n"
                                                                        "[[distill.pool]]\nroot = \"nowhere\"\n"));
    CHECK_THAT(bad, Contains("[distill] needs 'teacher'"));
    CHECK_THAT(bad, Contains("'distill.threshold'"));
    CHECK_THAT(bad, Contains("'distill.targets'") && Contains("hard"));
    CHECK_THAT(bad, Contains("'distill.thresholds.angry': 'angry' is not a label of this study"));
    CHECK_THAT(bad, Contains("distill.pool root not found"));
    CHECK_THAT(problems_of(dir.write("t-empty.toml", base + "[distill]\nteacher = \"t\"\nunlabelled = false\n")),
               Contains("[distill] has no pool"));
}

TEST_CASE("the executor table reads Slurm's keys in their own forms, and a GPU gres leaves the device to the manifest") {
    test::TempDir dir;
    const auto good = dir.write("good.toml", header(dir) + R"([executor]
kind = "slurm"
partition = "gpu"
time = "1-12:00"
mem = "16G"
gres = "gpu:a100:1"
cpus_per_trial = 4
max_parallel = 8
setup = ["module load cuda"]
extra = ["--constraint=avx512"]
)");
    const Study study = read(good);
    CHECK(study.executor.kind == "slurm");
    CHECK(study.executor.time == "1-12:00");
    CHECK(study.executor.mem == "16G");
    CHECK(study.executor.gres == "gpu:a100:1");
    CHECK(study.executor.cpus_per_trial == 4);
    CHECK(study.executor.extra == std::vector<std::string>{"--constraint=avx512"});
    CHECK_FALSE(study.train.device_given); // msa run trains on cuda under a GPU gres
    const auto pinned = dir.write("pinned.toml", header(dir) + "[train]\ndevice = \"cpu\"\n");
    CHECK(read(pinned).train.device_given);

    const auto bad = dir.write("bad.toml", header(dir) + R"([executor]
kind = "slurm"
time = "2h"
mem = "lots"
gres = "gpu 1"
extra = ["--gres=gpu:2", "constraint=avx512"]
)");
    const std::string problems = problems_of(bad);
    CHECK_THAT(problems, Contains("bad.toml:7") && Contains("'executor.time' is \"2h\"; Slurm takes minutes"));
    CHECK_THAT(problems, Contains("'executor.mem' is \"lots\"; Slurm takes a size in megabytes"));
    CHECK_THAT(problems, Contains("'executor.gres' is \"gpu 1\"; Slurm takes name[:type]:count"));
    CHECK_THAT(problems, Contains("'executor.extra' sets --gres, which msa sets itself; use executor.gres instead"));
    CHECK_THAT(problems, Contains("each entry is one sbatch option written as --name=value"));
}

TEST_CASE("sweep values name trial folders by what tells them apart") {
    test::TempDir dir;
    const Study study = read(dir.write("names.toml", header(dir) + R"([encoders.text]
plugin = "hashed-ngram"

[[phase]]
name = "encoders"
sweep."encoders.text" = [
  { plugin = "hf-text", checkpoint = "../models/all-MiniLM-L6-v2", pooling = "mean" },
  { plugin = "hf-text", checkpoint = "../models/all-mpnet-base-v2/", pooling = "mean" },
]
sweep.fusion = ["linear", { plugin = "concat", hidden = 256, dropout = 0.2 }, { plugin = "gated" }]
sweep."train.learning_rate" = [3e-4, 1e-3]

[[phase]]
name = "fine-tuning"
sweep."encoders.image" = [
  { plugin = "efficientnet-lite", checkpoint = "../models/efficientnet-lite0", trainable_layers = 1, cached_prefix = true, normalize = false },
]
sweep.fusion = [{ plugin = "gated", hidden = 128 }]

[[phase]]
name = "same-folder-name"
sweep."encoders.text" = [{ plugin = "hf-text", checkpoint = "a/model" }, { plugin = "hf-text", checkpoint = "b/model" }]
)"));
    const auto& encoders = study.phases.at(0).sweep;
    REQUIRE(encoders.size() == 3);
    // Labels keep every key; folder names what differs: the checkpoints' folders.
    CHECK(encoders[0].values[0] == "hf-text(checkpoint=../models/all-MiniLM-L6-v2,pooling=mean)");
    CHECK(encoders[0].names == std::vector<std::string>{"all-MiniLM-L6-v2", "all-mpnet-base-v2"});
    CHECK(encoders[1].names == std::vector<std::string>{"linear", "concat-dropout-0.2-hidden-256", "gated"});
    CHECK(encoders[2].names == encoders[2].values);
    // A lone table shows every key, the plugin only without a checkpoint.
    const auto& tuning = study.phases.at(1).sweep;
    CHECK(tuning.at(0).names ==
          std::vector<std::string>{"efficientnet-lite0-cached_prefix-normalize-false-trainable_layers-1"});
    CHECK(tuning.at(1).names == std::vector<std::string>{"gated-hidden-128"});
    // Checkpoint folders of one name: the values in full, which differ.
    const auto& same = study.phases.at(2).sweep.at(0);
    CHECK(same.names == same.values);
}

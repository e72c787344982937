// The run-folder records: each file's one writer and one reader agree (results.json,
// history.csv, metrics.json, predictions.csv), and the names msa reads are a closed set.
#include "records/results_file.hpp"
#include "records/metrics_writer.hpp"
#include "records/trial_files.hpp"
#include "test_helpers.hpp"

#include <msa/predictions.hpp>

#include <catch2/catch.hpp>

#include <fstream>

using namespace msa;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;

namespace fs = std::filesystem;

TEST_CASE("records: metric, phase kind, status and schedule names are one closed set each", "[records]") {
    CHECK(metric_names(metric_select) == std::vector<std::string>{"weighted_f1", "macro_f1", "accuracy", "f1.<label>"});
    CHECK(metric_names(metric_monitor) == std::vector<std::string>{"weighted_f1", "macro_f1", "accuracy", "loss"});
    CHECK(parse_metric("f1.neutral", metric_select) == MetricName{Metric::class_f1, "neutral"});
    CHECK_FALSE(parse_metric("f1.neutral", metric_monitor));
    CHECK_FALSE(parse_metric("loss", metric_select));
    CHECK_FALSE(parse_metric("f1.", metric_select));
    CHECK_FALSE(MetricName{Metric::loss, {}}.higher_is_better());
    CHECK(MetricName{Metric::class_f1, "positive"}.str() == "f1.positive");
    CHECK(parse_name<PhaseKind>(phase_kind_names, "ablation") == PhaseKind::ablation);
    CHECK_FALSE(parse_name<PhaseKind>(phase_kind_names, "Ablation"));
    CHECK(parse_name<Schedule>(schedule_names, "cosine") == Schedule::cosine);
    CHECK_THROWS_WITH(require_name<Schedule>(schedule_names, "step", "schedule"),
                      "unknown schedule 'step'; accepted: constant, linear, cosine");
    for (std::size_t i = 0; i < trial_status_names.size(); ++i)
        CHECK(parse_name<TrialStatus>(trial_status_names, to_string(static_cast<TrialStatus>(i))) ==
              static_cast<TrialStatus>(i));
}

TEST_CASE("records: results.json written by msa run reads back the same", "[records]") {
    test::TempDir dir;
    records::StudyResults written;
    written.study = "demo";
    written.labels = {"negative", "positive"};
    written.status = StudyStatus::complete;
    written.seconds = 12.5;
    written.store = records::StoreUse{30, 10, 0.75};
    written.final_incumbent = "tuning/64-s1";
    records::PhaseResult phase;
    phase.name = "tuning";
    phase.kind = PhaseKind::augmentation;
    phase.from = "baseline";
    phase.select = "f1.positive";
    phase.status = PhaseStatus::complete;
    phase.incumbent = 1;
    records::ConfigResult reference;
    reference.label = "no augmentation";
    reference.reference = true;
    reference.trials = {{"baseline/b-s1", 1, TrialStatus::ok, "", 3.0}};
    reference.valid.weighted_f1 = records::Stat{0.7, 0, 1};
    records::ConfigResult config;
    config.label = "train.batch_size=64";
    config.changes = {{"train.batch_size", "64"}};
    config.trials = {{"tuning/64-s1", 1, TrialStatus::ok, "", 4.0},
                     {"tuning/64-s2", 2, TrialStatus::failed, "out of memory", std::nullopt}};
    config.valid.weighted_f1 = records::Stat{0.72, 0, 1};
    config.valid.per_class_f1["positive"] = records::Stat{0.8, 0, 1};
    config.best_trial = "tuning/64-s1";
    records::EnsembleScores ensemble;
    ensemble.trials = {"tuning/64-s1", "tuning/64-s3"};
    ensemble.seeds = {1, 3};
    ensemble.samples = 40;
    ensemble.weighted_f1 = 0.75;
    ensemble.macro_f1 = 0.7;
    ensemble.accuracy = 0.8;
    ensemble.per_class_f1 = {{"negative", 0.6}, {"positive", 0.85}};
    config.test_ensemble = ensemble;
    records::EnsembleScores unscored;
    unscored.trials = {"baseline/b-s1", "baseline/b-s2"};
    unscored.seeds = {1, 2};
    unscored.unavailable = "the seeds' test splits differ";
    reference.test_ensemble = unscored;
    phase.configs = {reference, config};
    written.phases = {phase};
    std::ofstream(dir.path() / "results.json") << records::results_json(written);

    const records::StudyResults read = records::read_study_results(dir.path() / "results.json");
    CHECK(read.study == "demo");
    CHECK(read.status == StudyStatus::complete);
    CHECK(read.store->from_store == 30);
    CHECK(read.final_incumbent == "tuning/64-s1");
    REQUIRE(read.phases.size() == 1);
    const auto& p = read.phases[0];
    CHECK(p.kind == PhaseKind::augmentation);
    CHECK(p.select == "f1.positive");
    CHECK(p.incumbent == std::size_t{1});
    REQUIRE(p.configs.size() == 2);
    CHECK(p.configs[0].reference);
    CHECK_FALSE(p.configs[1].reference);
    CHECK(p.configs[1].changes_json() == R"({"train.batch_size":"64"})");
    CHECK(p.configs[1].trials[1].status == TrialStatus::failed);
    CHECK(p.configs[1].trials[1].error == "out of memory");
    CHECK_FALSE(p.configs[1].trials[1].seconds);
    CHECK(p.configs[1].valid.weighted_f1->mean == Approx(0.72));
    CHECK(p.configs[1].valid.class_f1("positive")->mean == Approx(0.8));
    CHECK_FALSE(p.configs[1].valid.macro_f1);
    REQUIRE(p.configs[1].test_ensemble);
    const records::EnsembleScores& e = *p.configs[1].test_ensemble;
    CHECK(e.scored());
    CHECK(e.trials == std::vector<std::string>{"tuning/64-s1", "tuning/64-s3"});
    CHECK(e.seeds == std::vector<std::int64_t>{1, 3});
    CHECK(e.samples == 40);
    CHECK(e.weighted_f1 == Approx(0.75));
    CHECK(e.macro_f1 == Approx(0.7));
    CHECK(e.accuracy == Approx(0.8));
    CHECK(e.per_class_f1.at("positive") == Approx(0.85));
    REQUIRE(p.configs[0].test_ensemble);
    CHECK_FALSE(p.configs[0].test_ensemble->scored());
    CHECK(p.configs[0].test_ensemble->unavailable == "the seeds' test splits differ");
    // What predict reads: the configuration of the final incumbent.
    const auto [final_phase, final_config] = read.final_incumbent_config();
    CHECK(final_phase == &read.phases[0]);
    CHECK(final_config == &p.configs[1]);
    // The text itself is stable: written again from what was read, it is the same.
    CHECK(records::results_json(read) == records::results_json(written));

    // Older results.json have no test_ensemble: none is read.
    std::ofstream(dir.path() / "results.json")
        << R"({"study": "x", "labels": [], "status": "complete", "phases": [{"name": "p", "kind": "train", "status": "complete", "incumbent": 0, "configs": [{"label": "c", "trials": [], "best_trial": "p/c-s1"}]}], "final_incumbent": "p/c-s1"})";
    CHECK_FALSE(records::read_study_results(dir.path() / "results.json").phases[0].configs[0].test_ensemble);
    CHECK(records::read_study_results(dir.path() / "results.json").final_incumbent_config().second != nullptr);
    // A malformed one is named by its key path.
    std::ofstream(dir.path() / "results.json")
        << R"({"study": "x", "labels": [], "status": "complete", "phases": [{"name": "p", "kind": "train", "status": "complete", "configs": [{"label": "c", "trials": [], "test_ensemble": {"trials": ["p/c-s1"], "weighted_f1": 0.5}}]}]})";
    CHECK_THROWS_WITH(records::read_study_results(dir.path() / "results.json"),
                      Contains("phases[0].configs[0].test_ensemble.samples: missing (required)"));
    std::ofstream(dir.path() / "results.json")
        << R"({"study": "x", "labels": [], "status": "complete", "phases": [{"name": "p", "kind": "train", "status": "complete", "configs": [{"label": "c", "trials": [], "test_ensemble": {"trials": "p/c-s1"}}]}]})";
    CHECK_THROWS_WITH(records::read_study_results(dir.path() / "results.json"),
                      Contains("phases[0].configs[0].test_ensemble.trials: expected an array, found a string"));
    // No final incumbent, or one that no incumbent configuration has as its best trial.
    std::ofstream(dir.path() / "results.json") << R"({"study": "x", "status": "complete", "final_incumbent": "p/c-s1"})";
    CHECK(records::read_study_results(dir.path() / "results.json").final_incumbent_config().second == nullptr);

    // A value outside a closed set is named with the accepted ones.
    std::ofstream(dir.path() / "results.json") << R"({"study": "x", "labels": [], "status": "done", "phases": []})";
    CHECK_THROWS_WITH(records::read_study_results(dir.path() / "results.json"),
                      Contains("status: unknown status 'done'; accepted: running, complete, failed, interrupted"));
}

TEST_CASE("records: history.csv and metrics.json of a trial folder", "[records]") {
    test::TempDir dir;
    {
        records::HistoryWriter history(dir.path(), {"negative", "neutral"});
        history.add({1, 1.5, 1.25, 0.5, 0.4, 0.45, 1e-3, 2.5, {0.5, 0.25}});
        history.add({2, 1.0, 1.125, 0.6, 0.5, 0.55, 5e-4, 2.25, {0.75, 0.125}});
    }
    const auto rows = records::read_history(dir.path());
    REQUIRE(rows.size() == 2);
    CHECK(rows[1].epoch == 2);
    CHECK(rows[1].valid_weighted_f1 == Approx(0.55));
    CHECK(rows[0].learning_rate == Approx(1e-3));
    CHECK(rows[1].valid_class_f1 == std::vector<double>{0.75, 0.125});
    std::ifstream written(dir.path() / "history.csv");
    std::string header;
    std::getline(written, header);
    CHECK_THAT(header, EndsWith(",seconds,valid_f1_negative,valid_f1_neutral"));
    std::ofstream(dir.path() / "history.csv") << "epoch,train_loss\n1,2\n";
    CHECK_THROWS_WITH(records::read_history(dir.path()), Contains("history.csv:1: no column 'valid_loss'"));

    std::ofstream(dir.path() / "metrics.json") << R"({"status": "ok", "best_epoch": 3, "seconds": {"total": 9.5},
        "valid": {"accuracy": 0.8, "macro_f1": 0.6, "weighted_f1": 0.7,
                  "per_class": {"neutral": {"f1": 0.3}}, "confusion": {"labels": ["a"], "matrix": [[2]]}},
        "features": {"text": {"encoded": 4}, "image": {"encoded": 1}}})";
    const auto metrics = records::read_trial_metrics(dir.path());
    CHECK(metrics.status == TrialStatus::ok);
    CHECK(metrics.best_epoch == 3);
    CHECK(metrics.total_seconds == Approx(9.5));
    CHECK(metrics.encoded == 5);
    CHECK_FALSE(metrics.test);
    CHECK(metrics.valid->get({Metric::class_f1, "neutral"}) == Approx(0.3));
    CHECK_FALSE(metrics.valid->get({Metric::class_f1, "positive"}));
    CHECK(metrics.valid->confusion->matrix == std::vector<std::vector<std::int64_t>>{{2}});

    std::ofstream(dir.path() / "metrics.json") << records::failed_trial_metrics("t", 3, "died of signal 11");
    const auto failed = records::read_trial_metrics(dir.path());
    CHECK(failed.status == TrialStatus::failed);
    CHECK(failed.error == "died of signal 11");
    std::ofstream(dir.path() / "metrics.json") << R"({"status": "maybe"})";
    CHECK_THROWS_WITH(records::read_trial_metrics(dir.path()), Contains("status 'maybe'"));
    // A value of another type, or a number beyond a double, is an msa::Error naming the file
    // (json's type_error and out_of_range escaped before; tests/fuzz regressions/run_folder).
    std::ofstream(dir.path() / "metrics.json") << R"({"status": 7})";
    CHECK_THROWS_AS(records::read_trial_metrics(dir.path()), msa::Error);
    CHECK_THROWS_WITH(records::read_trial_metrics(dir.path()), Contains("metrics.json: a value of the wrong type"));
    std::ofstream(dir.path() / "metrics.json") << R"({"status": "ok", "seconds": 1e400})";
    CHECK_THROWS_WITH(records::read_trial_metrics(dir.path()), Contains("metrics.json: not valid JSON"));
    // A count that is a float, negative or beyond 2^53 is refused by name, never cast
    // (a float beyond int64 cast to it is undefined behaviour; found by fuzz.run_folder).
    std::ofstream(dir.path() / "metrics.json") << R"({"status": "ok",
        "valid": {"accuracy": 0.8, "macro_f1": 0.6, "weighted_f1": 0.7, "confusion": {"labels": ["a"], "matrix": [[1e300]]}}})";
    CHECK_THROWS_WITH(records::read_trial_metrics(dir.path()),
                      Contains("valid.confusion.matrix: 1e+300 is not a count; expected an integer from 0 to 2^53"));
    std::ofstream(dir.path() / "metrics.json") << R"({"status": "ok", "features": {"text": {"trainable_layers": -2}}})";
    CHECK_THROWS_WITH(records::read_trial_metrics(dir.path()), Contains("features.text.trainable_layers: -2 is not a count"));
    std::ofstream(dir.path() / "metrics.json") << R"({"status": "ok", "parameters": {"head": 18446744073709551615}})";
    CHECK_THROWS_WITH(records::read_trial_metrics(dir.path()), Contains("parameters.head: 18446744073709551615 is not a count"));
    std::ofstream(dir.path() / "metrics.json") << R"({"status": "ok", "best_epoch": 2.5})";
    CHECK_THROWS_WITH(records::read_trial_metrics(dir.path()), Contains("best_epoch: 2.5 is not a count"));
    std::ofstream(dir.path() / "history.csv")
        << "epoch,train_loss,valid_loss,valid_accuracy,valid_macro_f1,valid_weighted_f1,learning_rate,seconds\n"
        << "1e68,0,0,0,0,0,0,0\n";
    CHECK_THROWS_WITH(records::read_history(dir.path()), Contains("history.csv:2: epoch '1e68' is not a count"));
}

TEST_CASE("records: metrics.json from MetricsWriter reads back the same", "[records]") {
    test::TempDir dir;
    records::MetricsWriter writer;
    writer.trial = "loss/focal-s2";
    writer.seed = 2;
    records::SplitScores test_scores{40, 0.75, 0.5, 0.625, 0.125, {}, records::Confusion{{"a", "b"}, {{20, 5}, {5, 10}}}};
    test_scores.per_class["a"] = {0.8, 0.8, 0.8, 25};
    test_scores.per_class["b"] = {0.6, 0.6, 0.6, 15};
    writer.test = test_scores;
    writer.valid = records::SplitScores{10, 0.5, 0.25, 0.375, 0.0, {}, std::nullopt};
    writer.best_epoch = 7;
    writer.encode_seconds = 1.5;
    writer.features = {{"text", {{"encoded", 3}}}, {"image", {{"encoded", 4}}}};
    writer.details = {{"device", "cpu"}, {"threads", {{"train", 2}}}};
    std::ofstream(dir.path() / "metrics.json") << writer.ok_json(12.25);

    const auto read = records::read_trial_metrics(dir.path());
    CHECK(read.status == TrialStatus::ok);
    CHECK(read.best_epoch == 7);
    CHECK(read.total_seconds == Approx(12.25));
    CHECK(read.encoded == 7);
    CHECK(read.valid->weighted_f1 == Approx(0.375));
    CHECK(read.test->samples == 40);
    CHECK(read.test->get({Metric::ece, {}}) == Approx(0.125));
    CHECK(read.test->get({Metric::class_f1, "b"}) == Approx(0.6));
    CHECK(read.test->per_class.at("a").support == 25);
    CHECK(read.test->confusion->matrix == std::vector<std::vector<std::int64_t>>{{20, 5}, {5, 10}});
    CHECK(records::test_summary(*read.test) ==
          "test: accuracy 0.7500, weighted F1 0.6250, macro F1 0.5000, F1 per class a 0.8000 b 0.6000");

    // A failed trial keeps what it had recorded; the evaluated model is typed too.
    writer.evaluated = records::MetricsWriter::Evaluation{"runs/x/loss/focal-s2", "text", "mean"};
    std::ofstream(dir.path() / "metrics.json") << writer.failed_json("out of memory");
    const auto failed = records::read_trial_metrics(dir.path());
    CHECK(failed.status == TrialStatus::failed);
    CHECK(failed.error == "out of memory");
    CHECK(failed.evaluated_model == "runs/x/loss/focal-s2");
    CHECK(failed.best_epoch == 7);

    // A detail may not take a typed field's name: the reader would see the wrong thing.
    writer.details["best_epoch"] = 3;
    CHECK_THROWS_WITH(writer.ok_json(1.0), Contains("detail 'best_epoch' shadows a typed field"));
}

TEST_CASE("records: store_keys.json round-trips, and a bad one says what it expects", "[records]") {
    test::TempDir dir;
    const auto file = dir.path() / "store_keys.json";
    const std::string key(64, 'a');
    const records::StoreKeys written{{"text", {key, "bfloat16"}}, {"image", {std::string(64, 'b'), "float32"}}};
    std::ofstream(file) << records::store_keys_json(written);
    const bool same = records::read_store_keys(file) == written;
    CHECK(same);

    std::ofstream(file) << R"({"audio": {"key": ")" + key + R"("}})";
    CHECK_THROWS_WITH(records::read_store_keys(file),
                      Contains("store_keys.json: unknown modality 'audio'; accepted: text, image"));
    std::ofstream(file) << R"({"text": {"key": "abc"}})";
    CHECK_THROWS_WITH(records::read_store_keys(file), Contains("'text' has no feature-store key (\"key\": 64 hex digits)"));
    std::ofstream(file) << "[1, 2]";
    CHECK_THROWS_WITH(records::read_store_keys(file), Contains("not a JSON object"));
    CHECK_THROWS_WITH(records::read_store_keys(dir.path() / "absent.json"), Contains("absent.json: cannot be read"));
}

TEST_CASE("records: counts.json of the encode step, and a bad one says where", "[records]") {
    test::TempDir dir;
    const auto file = dir.path() / "counts.json";
    std::ofstream(file) << R"({"store": "s.h5", "encoders": [{"for": "text", "plugin": "hf-text", "encoded": 12},
                                                          {"for": "image", "plugin": "hf-vit", "encoded": 0}]})";
    const auto counts = records::read_encode_counts(file);
    REQUIRE(counts.size() == 2);
    CHECK((counts[0].what == "text" && counts[0].plugin == "hf-text" && counts[0].encoded == 12));
    CHECK(counts[1].encoded == 0);
    std::ofstream(file) << R"({"store": "s.h5"})";
    CHECK(records::read_encode_counts(file).empty());

    std::ofstream(file) << R"({"encoders": [{"for": "text", "plugin": "hf-text", "encoded": 1e300}]})";
    CHECK_THROWS_WITH(records::read_encode_counts(file),
                      Contains("counts.json: encoders[0].encoded: 1e+300 is not a count; expected an integer"));
    std::ofstream(file) << R"({"encoders": [{"for": 3, "plugin": "hf-text"}]})";
    CHECK_THROWS_WITH(records::read_encode_counts(file), Contains("encoders[0].for: expected a string"));
    std::ofstream(file) << R"({"encoders": {}})";
    CHECK_THROWS_WITH(records::read_encode_counts(file), Contains("\"encoders\" is not a list"));
    std::ofstream(file) << "{\"encoders\": [";
    CHECK_THROWS_WITH(records::read_encode_counts(file), Contains("not a JSON object (the counts msa encode --counts writes)"));
    CHECK_THROWS_WITH(records::read_encode_counts(dir.path() / "absent.json"), Contains("absent.json: cannot be read"));
}

TEST_CASE("records: predictions.csv round-trips, and the hard samples are a value", "[records]") {
    test::TempDir dir;
    Predictions table;
    table.labels = {"negative", "neutral", "positive"};
    table.rows = {{"a", "train", 0, 0, {0.7, 0.2, 0.1}, 0},
                  {"b,1", "train", 1, 2, {0.1, 0.3, 0.6}, 0},
                  {"c", "train", 2, 2, {0.05, 0.05, 0.9}, 0},
                  {"d", "unlabelled", -1, 1, {0.2, 0.5, 0.3}, 0}};
    std::ofstream(dir.path() / "predictions.csv") << predictions_csv(table);
    const Predictions read = read_predictions(dir.path(), table.labels);
    REQUIRE(read.rows.size() == 4);
    CHECK(read.find("b,1")->predicted == 2);
    CHECK(read.find("b,1")->line == 3);
    CHECK(read.find("d")->label == -1);
    CHECK(read.find("c")->probabilities[2] == Approx(0.9));
    CHECK(predictions_csv(read) == predictions_csv(table));

    std::vector<Sample> pool(3);
    pool[0].id = "a", pool[0].label = 0;
    pool[1].id = "b,1", pool[1].label = 1;
    pool[2].id = "c", pool[2].label = 2;
    HardSampleCriteria criteria;
    criteria.threshold = 0.8;
    CHECK(hard_samples(pool, read, criteria).rows == std::vector<std::size_t>{1, 0}); // hardest first
    criteria.max = 1;
    CHECK(hard_samples(pool, read, criteria).rows == std::vector<std::size_t>{1});
    criteria = {};
    criteria.mode = HardSampleCriteria::Mode::neutral_confused;
    criteria.neutral = 1;
    CHECK(hard_samples(pool, read, criteria).rows == std::vector<std::size_t>{1});
    pool[2].label = 0; // labelled otherwise than in the file
    CHECK_THROWS_WITH(hard_samples(pool, read, criteria), Contains("predictions.csv:4: sample 'c' is labelled 'positive'"));
    CHECK_THROWS_WITH(read_predictions(dir.path(), {"negative", "positive"}),
                      Contains("predictions.csv:1: column 'p_neutral' is not p_<class>"));
}

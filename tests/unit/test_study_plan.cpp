// The study planner as pure functions: phases expanded into configurations and trials,
// deterministic random search and folder names, incumbents chosen from outcomes, and the
// phase as results.json records it.
#include "study/study_plan.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <ostream>

using namespace msa;
using namespace msa::study;

namespace msa::study {
// For readable failures.
std::ostream& operator<<(std::ostream& os, const Change& c) {
    os << "Change{" << static_cast<int>(c.kind) << ", phase " << c.phase << ", " << c.axis << "[" << c.element << "]";
    for (const auto& a : c.values) os << ", " << a.path << " = " << format_value(a.value);
    return os << "}";
}
} // namespace msa::study

namespace {

PhaseSpec train_phase(const std::string& name, std::size_t index, std::vector<SweepAxis> sweep,
                      std::vector<std::uint64_t> seeds = {1, 2}) {
    PhaseSpec spec;
    spec.index = index;
    spec.name = name;
    spec.where = "study.toml:" + std::to_string(10 + index) + ":1";
    spec.sweep = std::move(sweep);
    spec.seeds = std::move(seeds);
    return spec;
}

PlanContext context() {
    PlanContext c;
    c.study_seed = 42;
    c.study_folder = "/runs/study";
    return c;
}

records::SplitScores scores(double weighted_f1) {
    records::SplitScores s;
    s.weighted_f1 = weighted_f1;
    s.macro_f1 = weighted_f1 - 0.1;
    s.accuracy = weighted_f1 + 0.05;
    s.per_class["negative"].f1 = weighted_f1;
    s.per_class["positive"].f1 = weighted_f1 / 2;
    return s;
}

// Marks every trial of `config` finished with these validation weighted F1s, in order.
void finish(PlannedConfig& config, std::vector<double> valid) {
    for (std::size_t t = 0; t < config.trials.size(); ++t) {
        config.trials[t].outcome.status = TrialStatus::ok;
        config.trials[t].outcome.valid = scores(valid.at(t));
        config.trials[t].outcome.test = scores(valid.at(t) - 0.02);
    }
}

// A phase that was not run: the incumbent of `from` alone, its trials not run again,
// carries on as the phase's incumbent, and the reason is the phase's selection.
void check_carried_on(PhasePlan& plan, const PlannedConfig& incumbent) {
    REQUIRE(plan.configs.size() == 1);
    CHECK(plan.configs[0].reference);
    CHECK(plan.configs[0].trials[0].folder == incumbent.trials[0].folder);
    CHECK_FALSE(plan.reason.empty());
    choose_incumbent(plan);
    CHECK(plan.status == PhaseStatus::complete);
    CHECK(plan.incumbent == std::size_t{0});
    CHECK(plan.selection == plan.reason);
}

const Assignment* find(const std::vector<Change>& changes, const std::string& path) {
    for (const auto& change : changes)
        for (const auto& a : change.values)
            if (a.path == path) return &a;
    return nullptr;
}

} // namespace

TEST_CASE("study plan: a grid sweep gives one configuration per point, one trial per seed", "[study]") {
    const PhaseSpec spec = train_phase("architecture", 1, {{"fusion", {"concat", "gated"}}, {"train.epochs", {"5", "10"}}});
    const PhasePlan plan = plan_phase(spec, context(), nullptr);
    REQUIRE(plan.configs.size() == 4);
    CHECK(plan.configs[0].label == "fusion=concat, train.epochs=5");
    CHECK(plan.configs[3].label == "fusion=gated, train.epochs=10");
    CHECK(plan.configs[1].changes == std::vector<std::pair<std::string, std::string>>{{"fusion", "concat"},
                                                                                    {"train.epochs", "10"}});
    const PlannedConfig& config = plan.configs[2];
    CHECK(config.slug == "gated_5");
    REQUIRE(config.trials.size() == 2);
    CHECK(config.trials[0].folder == "architecture/gated_5-s1");
    CHECK(config.trials[1].folder == "architecture/gated_5-s2");
    // The sweep changes, then the trial's identity (name, seed, output folder).
    const auto& changes = config.trials[1].changes;
    REQUIRE(changes.size() == 3);
    CHECK(changes[0] == Change::sweep(1, "fusion", 1));
    CHECK(changes[1] == Change::sweep(1, "train.epochs", 0));
    CHECK(find(changes, "name")->value == Value{std::string("gated_5-s2")});
    CHECK(find(changes, "seed")->value == Value{std::int64_t{2}});
    CHECK(find(changes, "output")->value == Value{std::string("/runs/study")});
}

TEST_CASE("study plan: random search draws the same points everywhere (pinned)", "[study]") {
    PhaseSpec spec = train_phase("tuning", 2, {{"train.learning_rate", {"1e-4", "3e-4", "1e-3", "3e-3"}},
                                               {"train.batch_size", {"16", "32", "64"}}});
    spec.search = "random";
    spec.n = 4;
    const auto points = sweep_points(spec, 42);
    // msa's seeded shuffle (msa/random.hpp), not std::shuffle: these are the same with any
    // standard library, so a study resumes into the same folders anywhere.
    CHECK(points == std::vector<std::vector<std::size_t>>{{0, 1}, {0, 2}, {1, 2}, {2, 2}});
    CHECK(sweep_points(spec, 42) == points);
    CHECK(sweep_points(spec, 7) != points);
    spec.n = 100; // more than the grid: the whole grid
    CHECK(sweep_points(spec, 42).size() == 12);
}

TEST_CASE("study plan: folder names are readable, and long ones end in a stable hash (pinned)", "[study]") {
    CHECK(folder_slug("gated_3e-4") == "gated_3e-4");
    CHECK(folder_slug("text only (image zeros)") == "text-only-image-zeros");
    CHECK(folder_slug("") == "config");
    const std::string long_text(80, 'x');
    CHECK(folder_slug(long_text) == long_text);
    // FNV-1a 64 of 80 'x' is 6adea74572a74465 (checked with Python).
    CHECK(folder_slug(long_text, kLegacySlugLimit) == std::string(50, 'x') + "-6adea745");
    CHECK(folder_slug(long_text + "y").substr(0, 70) == std::string(70, 'x'));
    CHECK(folder_slug(long_text + "y").size() == 79);
    CHECK(folder_slug(long_text + "y") != folder_slug(long_text));
}

TEST_CASE("study plan: trial folders are named by the sweep's folder names, and a study begun with the "
          "older names keeps its folders", "[study]") {
    SweepAxis axis;
    axis.path = "encoders.text";
    axis.values = {"hf-text(checkpoint=../models/all-MiniLM-L6-v2,normalize=true,pooling=mean)",
                   "hf-text(checkpoint=../models/all-mpnet-base-v2,normalize=true,pooling=mean)"};
    axis.names = {"all-MiniLM-L6-v2", "all-mpnet-base-v2"};
    const PhaseSpec spec = train_phase("encoders", 1, {axis}, {1});
    PhasePlan plan = plan_phase(spec, context(), nullptr);
    REQUIRE(plan.configs.size() == 2);
    CHECK(plan.configs[0].trials.at(0).folder == "encoders/all-MiniLM-L6-v2-s1");
    CHECK(plan.configs[1].trials.at(0).folder == "encoders/all-mpnet-base-v2-s1");
    const std::string legacy = "hf-text-checkpoint-..-models-all-mpnet-base-v2-nor-"; // cut at 50
    CHECK(plan.configs[1].legacy_slug.substr(0, legacy.size()) == legacy);

    // The older folder was begun (and not the new one): the trial goes on in it, its name
    // in the manifest with it.
    const std::string old_folder = "encoders/" + plan.configs[1].legacy_slug + "-s1";
    PlanContext begun = context();
    begun.trial_exists = [&](const std::string& folder) { return folder == old_folder; };
    plan = plan_phase(spec, begun, nullptr);
    CHECK(plan.configs[0].trials.at(0).folder == "encoders/all-MiniLM-L6-v2-s1");
    CHECK(plan.configs[1].trials.at(0).folder == old_folder);
    CHECK(find(plan.configs[1].trials.at(0).changes, "name")->value ==
          Value{plan.configs[1].legacy_slug + "-s1"});
    // Both begun: the new name.
    begun.trial_exists = [](const std::string&) { return true; };
    CHECK(plan_phase(spec, begun, nullptr).configs[1].trials.at(0).folder == "encoders/all-mpnet-base-v2-s1");
}

TEST_CASE("study plan: a phase starts from the incumbent of its `from` phase", "[study]") {
    PhasePlan baseline = plan_phase(train_phase("baseline", 0, {}), context(), nullptr);
    REQUIRE(baseline.configs.size() == 1);
    CHECK(baseline.configs[0].label == "baseline");

    const PhaseSpec next_spec = [] {
        PhaseSpec s = train_phase("architecture", 1, {{"fusion", {"gated"}}});
        s.from = "baseline";
        return s;
    }();
    // Without a finished configuration there is nothing to start from.
    const PhasePlan skipped = plan_phase(next_spec, context(), &baseline);
    CHECK(skipped.status == PhaseStatus::skipped);
    CHECK(skipped.reason == "phase 'baseline' has no finished configuration to start from");

    finish(baseline.configs[0], {0.6, 0.7});
    choose_incumbent(baseline);
    REQUIRE(baseline.incumbent == std::size_t{0});
    CHECK(baseline.status == PhaseStatus::complete);
    const PhasePlan next = plan_phase(next_spec, context(), &baseline);
    REQUIRE(next.configs.size() == 1);
    // The incumbent's chain (empty for the base configuration), then this phase's sweep.
    CHECK(next.configs[0].chain == std::vector<Change>{Change::sweep(1, "fusion", 0)});
}

TEST_CASE("study plan: a distill phase gives each seed's student that seed's teacher, and a gold-label student",
          "[study]") {
    PhasePlan teacher = plan_phase(train_phase("teacher", 0, {}), context(), nullptr);
    finish(teacher.configs[0], {0.6, 0.7});
    choose_incumbent(teacher);
    PhaseSpec spec = train_phase("students", 1, {{"distill.threshold", {"0.5", "0.9"}}});
    spec.kind = PhaseKind::distill;
    spec.from = "teacher";
    spec.has_set = true;
    const PhasePlan plan = plan_phase(spec, context(), &teacher);
    REQUIRE(plan.configs.size() == 3);
    const PlannedConfig& gold = plan.configs[0];
    CHECK(gold.label == "gold labels");
    REQUIRE_FALSE(gold.chain.empty());
    CHECK(gold.chain.back() == Change::remove("distill")); // after the phase's set
    for (const auto& t : gold.trials) CHECK_FALSE(find(t.changes, "distill.teacher"));
    CHECK(plan.configs[1].label == "distill.threshold=0.5");
    for (std::size_t s = 0; s < 2; ++s) {
        const Assignment* a = find(plan.configs[2].trials[s].changes, "distill.teacher");
        REQUIRE(a);
        CHECK(format_value(a->value) ==
              format_value(Value{(context().study_folder / teacher.configs[0].trials[s].folder).string()}));
    }
    // A teacher folder named in the phase stands for every seed's.
    spec.teacher = "/models/teacher-trial";
    const PhasePlan named = plan_phase(spec, context(), &teacher);
    CHECK(format_value(find(named.configs[1].trials[0].changes, "distill.teacher")->value) == "\"/models/teacher-trial\"");
    spec.gold = false;
    CHECK(plan_phase(spec, context(), &teacher).configs.size() == 2);
}

TEST_CASE("study plan: a phase whose every trial was skipped is skipped with the reason, not failed", "[study]") {
    PhasePlan plan = plan_phase(train_phase("prompt", 0, {{"fusion", {"concat", "gated"}}}), context(), nullptr);
    REQUIRE(plan.configs.size() == 2);
    for (auto& config : plan.configs)
        for (auto& trial : config.trials) {
            trial.outcome.status = TrialStatus::skipped;
            trial.outcome.error = "prompt mlm-prompt: no model folder at /models/bert";
        }
    choose_incumbent(plan);
    CHECK(plan.status == PhaseStatus::skipped);
    CHECK(plan.reason == "prompt mlm-prompt: no model folder at /models/bert");
    CHECK_FALSE(plan.incumbent);
    // One that failed among them makes the phase failed.
    plan.configs[1].trials[0].outcome.status = TrialStatus::failed;
    plan.status = PhaseStatus::pending;
    plan.reason.clear();
    choose_incumbent(plan);
    CHECK(plan.status == PhaseStatus::failed);
}

TEST_CASE("study plan: an augmentation phase hands each trial its seed's hard samples, and keeps "
          "training without augmentation as a candidate", "[study]") {
    PhasePlan loss = plan_phase(train_phase("loss", 3, {{"loss", {"focal"}}}), context(), nullptr);
    finish(loss.configs[0], {0.7, 0.72});
    choose_incumbent(loss);

    PhaseSpec spec = train_phase("augmentation", 4, {{"augmenter", {"identity"}}});
    spec.kind = PhaseKind::augmentation;
    spec.from = "loss";
    spec.hard_threshold = 0.4;
    const PhasePlan plan = plan_phase(spec, context(), &loss);
    REQUIRE(plan.configs.size() == 2);
    CHECK(plan.configs[0].reference);
    CHECK(plan.configs[0].candidate);
    CHECK(plan.configs[0].label == "no augmentation (incumbent of loss: loss=focal)");
    const PlannedTrial& trial = plan.configs[1].trials[1];
    CHECK(trial.seed == 2);
    CHECK(find(trial.own, "augmentation.hard_samples")->value ==
          Value{std::string("/runs/study/loss/focal-s2/predictions.csv")});
    CHECK(find(trial.own, "augmentation.hard_threshold")->value == Value{0.4});
    // Validation plans leave out what only finished trials decide.
    PlanContext dry = context();
    dry.dry_run = true;
    const PhasePlan checked = plan_phase(spec, dry, &loss);
    REQUIRE(checked.configs.size() == 1);
    CHECK(checked.configs[0].trials[0].own.empty());
}

TEST_CASE("study plan: keep_incumbent lets the incumbent of `from` compete with a train phase's sweep, "
          "and keeps it on a tie", "[study]") {
    PhasePlan tuning = plan_phase(train_phase("tuning", 2, {{"train.learning_rate", {"1e-3"}}}), context(), nullptr);
    finish(tuning.configs[0], {0.7, 0.72});
    choose_incumbent(tuning);

    PhaseSpec spec = train_phase("fine-tuning", 3, {{"encoders.text.trainable_layers", {"1", "2"}}});
    spec.from = "tuning";
    spec.keep_incumbent = true;
    PhasePlan plan = plan_phase(spec, context(), &tuning);
    REQUIRE(plan.configs.size() == 3);
    CHECK(plan.configs[0].reference);
    CHECK(plan.configs[0].candidate);
    CHECK(plan.configs[0].label == "incumbent of tuning (train.learning_rate=1e-3)");
    CHECK(plan.configs[0].trials[0].folder == tuning.configs[0].trials[0].folder); // not run again
    finish(plan.configs[1], {0.69, 0.70});
    finish(plan.configs[2], {0.70, 0.72}); // a tie: the incumbent stays
    choose_incumbent(plan);
    CHECK(plan.incumbent == std::size_t{0});
    finish(plan.configs[2], {0.72, 0.73});
    choose_incumbent(plan);
    CHECK(plan.incumbent == std::size_t{2});
    // Without keep_incumbent only the sweep competes.
    spec.keep_incumbent = false;
    CHECK(plan_phase(spec, context(), &tuning).configs.size() == 2);
}

TEST_CASE("study plan: a sweep of AdamW settings alone is not run against an incumbent fitted by L-BFGS",
          "[study][selection]") {
    PhasePlan architecture = plan_phase(train_phase("architecture", 1, {{"fusion", {"linear", "concat"}}}), context(), nullptr);
    finish(architecture.configs[0], {0.72, 0.73});
    finish(architecture.configs[1], {0.70, 0.71});
    for (auto& t : architecture.configs[0].trials) t.outcome.solver = "lbfgs";
    for (auto& t : architecture.configs[1].trials) t.outcome.solver = "adamw";
    choose_incumbent(architecture);
    REQUIRE(architecture.incumbent == std::size_t{0});

    PhaseSpec spec = train_phase("tuning", 2, {{"train.learning_rate", {"3e-4", "1e-3"}}, {"train.batch_size", {"16", "64"}}});
    spec.from = "architecture";
    PhasePlan plan = plan_phase(spec, context(), &architecture);
    CHECK_THAT(plan.reason, Catch::Contains("train.learning_rate, train.batch_size") &&
                                Catch::Contains("fitted by L-BFGS"));
    check_carried_on(plan, architecture.configs[0]);
    // A phase after it starts from the same models.
    PhaseSpec loss = train_phase("loss", 3, {{"loss", {"cross-entropy"}}});
    loss.from = "tuning";
    const PhasePlan after = plan_phase(loss, context(), &plan);
    CHECK(after.status == PhaseStatus::pending);
    CHECK(after.configs.size() == 1);

    // Anything else in the sweep, or an incumbent trained by AdamW, runs as planned.
    spec.sweep.push_back({"train.l2", {"[0.1]"}});
    CHECK(plan_phase(spec, context(), &architecture).configs.size() == 4);
    spec.sweep.pop_back();
    for (auto& t : architecture.configs[0].trials) t.outcome.solver = "adamw";
    CHECK(plan_phase(spec, context(), &architecture).configs.size() == 4);
}

TEST_CASE("study plan: a sweep of layer_decay alone is not run against an incumbent that trains one encoder layer",
          "[study][selection]") {
    PhasePlan fine_tuning =
        plan_phase(train_phase("fine-tuning", 1, {{"encoders.text.trainable_layers", {"1", "2"}}}), context(), nullptr);
    finish(fine_tuning.configs[0], {0.72, 0.73});
    finish(fine_tuning.configs[1], {0.70, 0.71});
    for (auto& t : fine_tuning.configs[0].trials) t.outcome.trainable_layers = 1;
    for (auto& t : fine_tuning.configs[1].trials) t.outcome.trainable_layers = 2;
    choose_incumbent(fine_tuning);
    REQUIRE(fine_tuning.incumbent == std::size_t{0});

    PhaseSpec spec = train_phase("decay", 2, {{"train.layer_decay", {"0.8", "0.9"}}});
    spec.from = "fine-tuning";
    PhasePlan plan = plan_phase(spec, context(), &fine_tuning);
    CHECK_THAT(plan.reason, Catch::Contains("sweeps train.layer_decay") &&
                                Catch::Contains("trains one encoder layer at most"));
    check_carried_on(plan, fine_tuning.configs[0]);

    // With two trainable layers, or another axis beside it, the sweep runs.
    for (auto& t : fine_tuning.configs[0].trials) t.outcome.trainable_layers = 2;
    CHECK(plan_phase(spec, context(), &fine_tuning).configs.size() == 2);
    for (auto& t : fine_tuning.configs[0].trials) t.outcome.trainable_layers = 1;
    spec.sweep.push_back({"train.encoder_learning_rate", {"1e-4"}});
    CHECK(plan_phase(spec, context(), &fine_tuning).configs.size() == 2);
}

TEST_CASE("study plan: an ablation phase evaluates the incumbent's models and retrains on one modality",
          "[study]") {
    PhasePlan from = plan_phase(train_phase("augmentation", 4, {}), context(), nullptr);
    finish(from.configs[0], {0.7, 0.72});
    choose_incumbent(from);

    PhaseSpec spec = train_phase("ablation", 5, {}, {});
    spec.kind = PhaseKind::ablation;
    spec.from = "augmentation";
    spec.fills = {"zeros"};
    const PhasePlan plan = plan_phase(spec, context(), &from);
    std::vector<std::string> labels;
    for (const auto& c : plan.configs) labels.push_back(c.label);
    CHECK(labels == std::vector<std::string>{"text + image", "text only (image zeros)", "image only (text zeros)",
                                             "text-only retrained", "image-only retrained"});
    // One trial per model of the incumbent, evaluating that very model.
    REQUIRE(plan.configs[1].trials.size() == 2);
    CHECK(find(plan.configs[1].trials[0].own, "evaluate.model")->value ==
          Value{std::string("/runs/study/augmentation/augmentation-s1")});
    CHECK(find(plan.configs[1].trials[0].own, "evaluate.keep")->value == Value{std::string("text")});
    CHECK(find(plan.configs[3].chain, "fusion")->value == Value{std::string(builtin_defaults::text_only_fusion)});
}

TEST_CASE("study plan: a phase that cannot run here is skipped with the reason", "[study]") {
    PhaseSpec spec = train_phase("clip", 6, {});
    spec.kind = PhaseKind::clip;
    PlanContext c = context();
    c.unavailable = [](const PhaseSpec& s) -> std::optional<std::string> {
        return s.kind == PhaseKind::clip ? std::optional<std::string>("no CLIP folder") : std::nullopt;
    };
    const PhasePlan plan = plan_phase(spec, c, nullptr);
    CHECK(plan.status == PhaseStatus::skipped);
    CHECK(plan.reason == "no CLIP folder");
    CHECK(plan.configs.empty());
}

TEST_CASE("study plan: the incumbent has the best mean validation score, references only when candidates",
          "[study]") {
    PhasePlan plan = plan_phase(train_phase("architecture", 1, {{"fusion", {"concat", "gated", "tensor"}}}), context(),
                                nullptr);
    finish(plan.configs[0], {0.60, 0.80}); // mean 0.70, one lucky seed
    finish(plan.configs[1], {0.74, 0.74}); // mean 0.74
    finish(plan.configs[2], {0.50, 0.52});
    choose_incumbent(plan);
    CHECK(plan.incumbent == std::size_t{1});
    CHECK(best_trial(plan.configs[0], plan.spec.select)->folder == "architecture/concat-s2");
    CHECK(mean_valid(plan.configs[0], plan.spec.select) == Approx(0.70));

    // A reference that is not a candidate never wins; a candidate can.
    PlannedConfig reference = plan.configs[1];
    finish(reference, {0.9, 0.9});
    reference.reference = true;
    plan.configs.insert(plan.configs.begin(), reference);
    choose_incumbent(plan);
    CHECK(plan.incumbent == std::size_t{2});
    plan.configs[0].candidate = true;
    choose_incumbent(plan);
    CHECK(plan.incumbent == std::size_t{0});

    // By another metric: f1 of one class.
    plan.spec.select = {Metric::class_f1, "positive"};
    plan.configs[0].candidate = false;
    choose_incumbent(plan);
    CHECK(plan.incumbent == std::size_t{2});
}

TEST_CASE("study plan: a phase's status follows its trials", "[study]") {
    PhasePlan plan = plan_phase(train_phase("baseline", 0, {}), context(), nullptr);
    choose_incumbent(plan);
    CHECK(plan.status == PhaseStatus::pending);
    CHECK_FALSE(plan.incumbent);
    plan.configs[0].trials[0].outcome.status = TrialStatus::failed;
    plan.configs[0].trials[1].outcome.status = TrialStatus::failed;
    choose_incumbent(plan);
    CHECK(plan.status == PhaseStatus::failed);
    CHECK(plan.reason == "no trial of the phase finished");
    plan.configs[0].trials[1].outcome.status = TrialStatus::interrupted;
    choose_incumbent(plan);
    CHECK(plan.status == PhaseStatus::interrupted);
}

TEST_CASE("study plan: results.json's record of a phase: trials and mean ± std per split", "[study]") {
    PhasePlan plan = plan_phase(train_phase("baseline", 0, {}), context(), nullptr);
    finish(plan.configs[0], {0.6, 0.8});
    plan.configs[0].trials[1].outcome.seconds = 12.5;
    choose_incumbent(plan);
    const records::PhaseResult result = phase_result(plan, {"negative", "neutral", "positive"});
    CHECK(result.name == "baseline");
    CHECK(result.kind == PhaseKind::train);
    CHECK(result.status == PhaseStatus::complete);
    CHECK(result.incumbent == std::size_t{0});
    REQUIRE(result.configs.size() == 1);
    const auto& config = result.configs[0];
    CHECK(config.best_trial == "baseline/baseline-s2");
    REQUIRE(config.trials.size() == 2);
    CHECK(config.trials[1].seconds == Approx(12.5));
    CHECK(config.valid.weighted_f1->mean == Approx(0.7));
    CHECK(config.valid.weighted_f1->std == Approx(0.141421356));
    CHECK(config.valid.weighted_f1->n == 2);
    CHECK(config.test.weighted_f1->mean == Approx(0.68));
    CHECK(config.valid.per_class_f1.at("positive").mean == Approx(0.35));
    CHECK(config.valid.per_class_f1.count("neutral") == 0); // no trial has it
}

TEST_CASE("study plan: results.json gives the incumbent, and only it, its seed ensemble", "[study][ensemble]") {
    PhasePlan plan = plan_phase(train_phase("architecture", 0, {{"fusion", {"concat", "gated"}}}), context(), nullptr);
    REQUIRE(plan.configs.size() == 2);
    finish(plan.configs[0], {0.6, 0.62});
    finish(plan.configs[1], {0.7, 0.72});
    choose_incumbent(plan);
    REQUIRE(plan.incumbent == std::size_t{1});
    records::EnsembleScores ensemble;
    ensemble.trials = {"architecture/gated-s1", "architecture/gated-s2"};
    ensemble.seeds = {1, 2};
    ensemble.weighted_f1 = 0.75;
    plan.incumbent_ensemble = ensemble;
    const records::PhaseResult result = phase_result(plan, {"negative", "positive"});
    CHECK_FALSE(result.configs[0].test_ensemble);
    REQUIRE(result.configs[1].test_ensemble);
    CHECK(result.configs[1].test_ensemble->weighted_f1 == Approx(0.75));
    // Choosing uses validation only: the ensemble's score changes nothing.
    plan.incumbent_ensemble->weighted_f1 = 0.0;
    choose_incumbent(plan);
    CHECK(plan.incumbent == std::size_t{1});
}

TEST_CASE("study plan: a few-shot phase runs every sweep point at every k, one trial per draw", "[study]") {
    PhaseSpec spec = train_phase("curves", 2, {{"sampler", {"k-shot", "consistent"}}}, {});
    spec.kind = PhaseKind::few_shot;
    spec.shots = {4, 16};
    spec.draws = 3;
    PhasePlan plan = plan_phase(spec, context(), nullptr);
    REQUIRE(plan.configs.size() == 4);
    // Points of one sweep configuration share its label; `shots` tells them apart.
    CHECK(plan.configs[0].label == "sampler=k-shot");
    CHECK(plan.configs[1].label == "sampler=k-shot");
    CHECK(plan.configs[0].shots == 4);
    CHECK(plan.configs[1].shots == 16);
    CHECK(plan.configs[2].label == "sampler=consistent");
    CHECK(plan.configs[1].slug == "k16_k-shot");
    const PlannedConfig& config = plan.configs[1];
    REQUIRE(config.trials.size() == 3);
    for (std::size_t d = 0; d < 3; ++d) {
        // Draw d trains with seed d: its own training set and validation rows.
        CHECK(config.trials[d].seed == d + 1);
        CHECK(config.trials[d].folder == "curves/k16_k-shot-s" + std::to_string(d + 1));
        const Assignment* k = find(config.trials[d].changes, "few_shot.k");
        REQUIRE(k);
        CHECK(format_value(k->value) == "16");
    }
    // Curves, not a winner: no later phase starts from a few-shot phase.
    for (auto& c : plan.configs) finish(c, {0.5, 0.6, 0.7});
    choose_incumbent(plan);
    CHECK_FALSE(plan.incumbent);
    CHECK(plan.status == PhaseStatus::complete);
    const records::PhaseResult result = phase_result(plan, {"negative", "positive"});
    CHECK(result.configs[1].shots == 16);

    // k = 0: one zero-shot trial (few_shot.k = 0) with the label descriptions, nothing drawn.
    spec.shots = {0, 4};
    spec.descriptions = {{"negative", {"sad", "angry"}}, {"positive", {"glad"}}};
    const PhasePlan zero = plan_phase(spec, context(), nullptr);
    REQUIRE(zero.configs.size() == 4);
    CHECK(zero.configs[0].shots == 0);
    CHECK(zero.configs[0].slug == "k0_k-shot");
    REQUIRE(zero.configs[0].trials.size() == 1);
    const auto& changes = zero.configs[0].trials[0].changes;
    REQUIRE(find(changes, "few_shot.k"));
    CHECK(format_value(find(changes, "few_shot.k")->value) == "0");
    REQUIRE(find(changes, "zero_shot.descriptions.negative"));
    CHECK(format_value(find(changes, "zero_shot.descriptions.negative")->value) == "[\"sad\", \"angry\"]");
    CHECK(zero.configs[1].trials.size() == 3);
}

namespace {

// Marks the trials finished, each with this many trained parameters.
void finish(PlannedConfig& config, std::vector<double> valid, std::int64_t parameters) {
    finish(config, std::move(valid));
    for (auto& t : config.trials) t.outcome.parameters = parameters;
}

} // namespace

TEST_CASE("study plan: select_folds trains every seed on every validation fold, in folders of their own",
          "[study][selection]") {
    PhaseSpec spec = train_phase("architecture", 1, {{"fusion", {"linear", "gated"}}}, {1, 2});
    spec.select_folds = 3;
    const PhasePlan plan = plan_phase(spec, context(), nullptr);
    REQUIRE(plan.configs.size() == 2);
    const auto& trials = plan.configs[1].trials;
    REQUIRE(trials.size() == 6);
    CHECK(trials[0].folder == "architecture/gated-s1-f0");
    CHECK(trials[5].folder == "architecture/gated-s2-f2");
    CHECK(trials[4].seed == 2);
    CHECK(trials[4].fold == std::int64_t{1});
    CHECK(find(trials[4].changes, "split.valid_folds")->value == Value{std::int64_t{3}});
    CHECK(find(trials[4].changes, "split.valid_fold")->value == Value{std::int64_t{1}});
    CHECK(find(trials[4].changes, "name")->value == Value{std::string("gated-s2-f1")});
    // Without select_folds no trial names a fold.
    spec.select_folds = 0;
    const PhasePlan plain = plan_phase(spec, context(), nullptr);
    CHECK(plain.configs[1].trials.size() == 2);
    CHECK_FALSE(plain.configs[1].trials[0].fold);
    CHECK(find(plain.configs[1].trials[0].changes, "split.valid_folds") == nullptr);

    // The mean over seeds × folds selects; results.json records each trial's fold.
    PhasePlan run = plan_phase([&] { auto s = spec; s.select_folds = 3; return s; }(), context(), nullptr);
    finish(run.configs[0], {0.70, 0.71, 0.72, 0.70, 0.71, 0.72});
    finish(run.configs[1], {0.60, 0.90, 0.60, 0.60, 0.90, 0.60}); // one lucky fold per seed: mean 0.70
    choose_incumbent(run);
    CHECK(run.incumbent == std::size_t{0});
    const records::PhaseResult result = phase_result(run, {"negative", "positive"});
    CHECK(result.configs[1].trials[2].fold == std::int64_t{2});
    CHECK(result.configs[1].valid.weighted_f1->n == 6);
}

TEST_CASE("study plan: phases after a cross-validated one use its trial of the same seed and fold",
          "[study][selection]") {
    PhaseSpec tuning_spec = train_phase("tuning", 2, {{"train.learning_rate", {"1e-3"}}}, {1, 2});
    tuning_spec.select_folds = 2;
    PhasePlan tuning = plan_phase(tuning_spec, context(), nullptr);
    finish(tuning.configs[0], {0.7, 0.71, 0.72, 0.73});
    choose_incumbent(tuning);

    PhaseSpec augmentation = train_phase("augmentation", 3, {{"augmenter", {"identity"}}}, {1, 2});
    augmentation.kind = PhaseKind::augmentation;
    augmentation.from = "tuning";
    augmentation.select_folds = 2;
    const PhasePlan plan = plan_phase(augmentation, context(), &tuning);
    const PlannedTrial& trial = plan.configs[1].trials[3]; // seed 2, fold 1
    CHECK(trial.folder == "augmentation/identity-s2-f1");
    CHECK(find(trial.own, "augmentation.hard_samples")->value ==
          Value{std::string("/runs/study/tuning/1e-3-s2-f1/predictions.csv")});

    // An ablation evaluates each of the incumbent's models on that model's own split.
    PhaseSpec ablation = train_phase("ablation", 4, {}, {});
    ablation.kind = PhaseKind::ablation;
    ablation.from = "tuning";
    ablation.fills = {"zeros"};
    const PhasePlan evaluated = plan_phase(ablation, context(), &tuning);
    REQUIRE(evaluated.configs[1].trials.size() == 4);
    const PlannedTrial& model = evaluated.configs[1].trials[1];
    CHECK(model.folder == "ablation/text-zeros-s1-f1");
    CHECK(find(model.own, "evaluate.model")->value == Value{std::string("/runs/study/tuning/1e-3-s1-f1")});
    CHECK(find(model.changes, "split.valid_fold")->value == Value{std::int64_t{1}});
    CHECK(find(model.changes, "split.valid_folds")->value == Value{std::int64_t{2}});
}

TEST_CASE("study plan: the one-SE rule keeps the simplest configuration within one standard error of the best",
          "[study][selection]") {
    PhasePlan plan = plan_phase(train_phase("architecture", 1, {{"fusion", {"linear", "concat", "tensor"}}}, {1, 2, 3}),
                                context(), nullptr);
    finish(plan.configs[0], {0.700, 0.705, 0.710}, 4995);    // mean 0.705
    finish(plan.configs[1], {0.690, 0.710, 0.730}, 427011);  // mean 0.710, SE 0.0115
    finish(plan.configs[2], {0.680, 0.690, 0.700}, 2000000); // mean 0.690
    choose_incumbent(plan);
    CHECK(plan.incumbent == std::size_t{0});
    CHECK_THAT(plan.selection, Catch::Contains("one-SE rule: kept fusion=linear"));
    CHECK_THAT(plan.selection, Catch::Contains("4995 trained parameters against 427011"));
    CHECK(phase_result(plan, {"negative", "positive"}).selection == plan.selection);

    // Beyond one standard error the best mean stays.
    finish(plan.configs[0], {0.680, 0.685, 0.690}, 4995); // mean 0.685: 0.025 below
    choose_incumbent(plan);
    CHECK(plan.incumbent == std::size_t{1});
    CHECK(plan.selection.empty());

    // select_rule = "best" keeps the best mean.
    finish(plan.configs[0], {0.700, 0.705, 0.710}, 4995);
    plan.spec.select_rule = SelectRule::best;
    choose_incumbent(plan);
    CHECK(plan.incumbent == std::size_t{1});
    CHECK(plan.selection.empty());

    // One trial per configuration: no standard error, the best mean stays.
    PhasePlan single = plan_phase(train_phase("architecture", 1, {{"fusion", {"linear", "concat"}}}, {1}), context(),
                                  nullptr);
    finish(single.configs[0], {0.70}, 4995);
    finish(single.configs[1], {0.71}, 427011);
    choose_incumbent(single);
    CHECK(single.incumbent == std::size_t{1});
}

TEST_CASE("study plan: for the one-SE rule no augmentation is simpler than any augmenter", "[study][selection]") {
    PhasePlan loss = plan_phase(train_phase("loss", 3, {{"loss", {"focal"}}}, {1, 2}), context(), nullptr);
    finish(loss.configs[0], {0.70, 0.72}, 1000);
    choose_incumbent(loss);
    PhaseSpec spec = train_phase("augmentation", 4, {{"augmenter", {"identity", "clip-tags"}}}, {1, 2});
    spec.kind = PhaseKind::augmentation;
    spec.from = "loss";
    PhasePlan plan = plan_phase(spec, context(), &loss);
    REQUIRE(plan.configs.size() == 3);
    finish(plan.configs[1], {0.70, 0.74}, 1000); // mean 0.72, SE 0.02: the reference (0.71) is within it
    finish(plan.configs[2], {0.69, 0.70}, 1000);
    choose_incumbent(plan);
    CHECK(plan.incumbent == std::size_t{0});
    CHECK_THAT(plan.selection, Catch::Contains("as simpler: no augmenter"));
    const auto [augmented, parameters] = config_complexity(plan, plan.configs[1]);
    CHECK(augmented == 1);
    CHECK(parameters == Approx(1000));
}

TEST_CASE("study plan: a phase sweeping only class_bias takes the incumbent's model of the same seed and fold",
          "[study][class_bias]") {
    PhaseSpec tuning_spec = train_phase("fine-tuning", 2, {{"train.learning_rate", {"1e-3"}}}, {1, 2});
    tuning_spec.select_folds = 2;
    PhasePlan tuning = plan_phase(tuning_spec, context(), nullptr);
    finish(tuning.configs[0], {0.7, 0.71, 0.72, 0.73});
    tuning.configs[0].trials[2].outcome.status = TrialStatus::failed; // seed 2, fold 0
    choose_incumbent(tuning);

    PhaseSpec spec = train_phase("thresholds", 3, {{"train.class_bias", {"macro_f1"}}}, {1, 2});
    spec.from = "fine-tuning";
    spec.keep_incumbent = true;
    spec.select_folds = 2;
    const PhasePlan plan = plan_phase(spec, context(), &tuning);
    REQUIRE(plan.configs.size() == 2);
    const auto& trials = plan.configs[1].trials;
    REQUIRE(trials.size() == 4);
    CHECK(find(trials[1].own, "train.reuse_model")->value == Value{std::string("/runs/study/fine-tuning/1e-3-s1-f1")});
    CHECK(find(trials[3].own, "train.reuse_model")->value == Value{std::string("/runs/study/fine-tuning/1e-3-s2-f1")});
    // No finished model of that seed and fold: the trial trains its own.
    CHECK(find(trials[2].own, "train.reuse_model") == nullptr);
    // Any other setting in the sweep, or a `set`, trains another model.
    spec.sweep.push_back({"train.learning_rate", {"3e-4"}});
    CHECK(find(plan_phase(spec, context(), &tuning).configs[1].trials[0].own, "train.reuse_model") == nullptr);
    spec.sweep.pop_back();
    spec.has_set = true;
    CHECK(find(plan_phase(spec, context(), &tuning).configs[1].trials[0].own, "train.reuse_model") == nullptr);
}

TEST_CASE("study plan: an incumbent carried through phases is labelled by its configuration and the phase "
          "that trained it", "[study]") {
    PhasePlan tuning = plan_phase(train_phase("tuning", 2, {{"train.learning_rate", {"1e-3"}}}), context(), nullptr);
    finish(tuning.configs[0], {0.7, 0.72});
    choose_incumbent(tuning);
    PhaseSpec loss_spec = train_phase("loss", 3, {{"loss", {"acb"}}});
    loss_spec.from = "tuning";
    loss_spec.keep_incumbent = true;
    PhasePlan loss = plan_phase(loss_spec, context(), &tuning);
    CHECK(loss.configs[0].label == "incumbent of tuning (train.learning_rate=1e-3)");
    finish(loss.configs[1], {0.6, 0.61});
    choose_incumbent(loss);
    REQUIRE(loss.incumbent == std::size_t{0});

    PhaseSpec augmentation = train_phase("augmentation", 4, {{"augmenter", {"identity"}}});
    augmentation.kind = PhaseKind::augmentation;
    augmentation.from = "loss";
    PhasePlan augmented = plan_phase(augmentation, context(), &loss);
    CHECK(augmented.configs[0].label == "no augmentation (incumbent of loss: train.learning_rate=1e-3, trained in tuning)");
    finish(augmented.configs[1], {0.6, 0.61});
    choose_incumbent(augmented);
    REQUIRE(augmented.incumbent == std::size_t{0});

    PhaseSpec fine_tuning = train_phase("fine-tuning", 5, {{"encoders.text.trainable_layers", {"2"}}});
    fine_tuning.from = "augmentation";
    fine_tuning.keep_incumbent = true;
    const PhasePlan plan = plan_phase(fine_tuning, context(), &augmented);
    CHECK(plan.configs[0].label == "incumbent of augmentation (train.learning_rate=1e-3, trained in tuning)");
    CHECK(plan.configs[0].trials[0].folder == tuning.configs[0].trials[0].folder);
}

TEST_CASE("study plan: a finished trial's progress line gives the phase's ETA from its pace", "[study]") {
    PhasePlan phase = plan_phase(train_phase("tuning", 1, {{"train.learning_rate", {"1e-4", "3e-4"}}}), context(),
                                 nullptr);
    PlannedTrial& trial = phase.configs.at(0).trials.at(0);
    finish(phase.configs.at(0), {0.7241, 0.7});
    const std::string head = "[tuning 2/4] tuning/1e-4-s1: valid weighted_f1 0.7241, test weighted F1 0.7041 (41.2 s";
    // 2 of 4 trials in 60 s of the phase: 2 more at that pace.
    CHECK(progress_line(phase, 2, 4, trial, 41.2, 60.0) == head + "; phase ETA 1 min 00 s)");
    // Too early to tell (under 10 s, or the first trial), and nothing left.
    CHECK(progress_line(phase, 2, 4, trial, 41.2, 9.0) == head + ")");
    CHECK(progress_line(phase, 1, 4, trial, 41.2, 30.0) ==
          "[tuning 1/4] tuning/1e-4-s1: valid weighted_f1 0.7241, test weighted F1 0.7041 (41.2 s)");
    CHECK(progress_line(phase, 4, 4, trial, 41.2, 300.0) ==
          "[tuning 4/4] tuning/1e-4-s1: valid weighted_f1 0.7241, test weighted F1 0.7041 (41.2 s)");
    trial.outcome.status = TrialStatus::failed;
    trial.outcome.error = "worker killed by signal 9\nmore";
    CHECK(progress_line(phase, 2, 4, trial, 3.0, 20.0) ==
          "[tuning 2/4] tuning/1e-4-s1: failed: worker killed by signal 9 (3.0 s; phase ETA 20.0 s)");
}

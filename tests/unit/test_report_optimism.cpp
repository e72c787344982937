// The reports' selection and optimism (report_tables.hpp, PhaseOptimism): how far each
// incumbent stands from its runner-up and from the incumbent it started from, in standard
// errors, and how much its validation score flatters it, on hand-made results.
#include "report/markdown_report.hpp"
#include "report/report_tables.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

using Catch::Matchers::Contains;
using msa::records::ConfigResult;
using msa::records::PhaseResult;
using msa::records::Stat;
using msa::records::StudyResults;
using msa::report::optimism_table;
using msa::report::optimism_warning;
using msa::report::phase_optimism;

namespace {

// A configuration scored by weighted F1, the default `select`.
ConfigResult config(const std::string& label, Stat valid, Stat test = {}, bool reference = false) {
    ConfigResult c;
    c.label = label;
    c.valid.weighted_f1 = valid;
    if (test.n > 0) c.test.weighted_f1 = test;
    c.reference = reference;
    c.best_trial = label + "-s1";
    return c;
}

PhaseResult phase(const std::string& name, const std::string& from, std::vector<ConfigResult> configs,
                  std::size_t incumbent, msa::PhaseKind kind = msa::PhaseKind::train) {
    PhaseResult p;
    p.name = name;
    p.kind = kind;
    p.from = from;
    p.status = msa::PhaseStatus::complete;
    p.configs = std::move(configs);
    p.incumbent = incumbent;
    return p;
}

// A study whose phase `encoders` (one configuration, valid 0.700 ± 0.010 over 3 seeds) is
// followed by `tuning`, made of `configs`.
StudyResults after_encoders(std::vector<ConfigResult> configs, std::size_t incumbent) {
    StudyResults results;
    results.study = "s";
    results.labels = {"negative", "positive"};
    results.phases.push_back(
        phase("encoders", "", {config("encoders.image=vit", {0.70, 0.01, 3}, {0.66, 0.01, 3})}, 0));
    results.phases.push_back(phase("tuning", "encoders", std::move(configs), incumbent));
    return results;
}

} // namespace

TEST_CASE("selection and optimism: a clear winner stands more than one standard error from its runner-up and its start",
          "[report][optimism]") {
    StudyResults results = after_encoders({config("lr=0.001", {0.72, 0.01, 3}),
                                           config("lr=0.003", {0.75, 0.01, 3}, {0.71, 0.02, 3}),
                                           config("lr=0.01", {0.70, 0.02, 3})},
                                          1);
    const auto o = phase_optimism(results, results.phases[1]);
    REQUIRE(o);
    CHECK(o->incumbent->label == "lr=0.003");
    CHECK(o->valid.mean == Approx(0.75));
    REQUIRE(o->optimism);
    CHECK(*o->optimism == Approx(0.04));
    // SE = sqrt(0.01²/3 + 0.01²/3) = 0.00816: the runner-up is 0.03 behind, 3.7 SE.
    REQUIRE(o->runner_up);
    CHECK(o->runner_up->config->label == "lr=0.001");
    CHECK(o->runner_up->difference == Approx(0.03));
    REQUIRE(o->runner_up->standard_errors);
    CHECK(*o->runner_up->standard_errors == Approx(3.674).epsilon(0.001));
    REQUIRE(o->from);
    CHECK(o->from->config->label == "encoders.image=vit");
    CHECK(*o->from->standard_errors == Approx(6.124).epsilon(0.001));
    CHECK_FALSE(o->kept_from);
    CHECK_FALSE(o->within_one_se_of_from());
    CHECK(optimism_warning(results, results.phases[1]).empty());

    const auto table = optimism_table(results);
    REQUIRE(table);
    CHECK(table->headers == std::vector<std::string>{"phase", "metric", "incumbent", "runner-up", "valid", "test",
                                                     "optimism", "gap to runner-up (SE)",
                                                     "gap to the incumbent of from (SE)"});
    REQUIRE(table->rows.size() == 2);
    // The first phase: no other configuration, nothing it started from.
    CHECK(table->rows[0] == std::vector<std::string>{"encoders", "weighted F1", "encoders.image=vit", "none",
                                                     "0.700 ± 0.010", "0.660 ± 0.010", "+0.040", "—", "—"});
    CHECK(table->rows[1] == std::vector<std::string>{"tuning", "weighted F1", "lr=0.003", "lr=0.001", "0.750 ± 0.010",
                                                     "0.710 ± 0.020", "+0.040", "+3.7", "+6.1"});
    CHECK_THAT(table->note, Contains("sqrt(sd1²/n1 + sd2²/n2)") && Contains("with 3 seeds a gap is a rough guide"));
    // The final incumbent's optimism is its phase's.
    CHECK(msa::report::study_optimism_line(results).empty());
    results.final_incumbent = "lr=0.003-s1";
    CHECK_THAT(msa::report::study_optimism_line(results), Contains("(lr=0.003, phase tuning)") && Contains(", +0.040;"));
}

TEST_CASE("selection and optimism: an incumbent within one standard error of the one it started from is a warning",
          "[report][optimism]") {
    // 0.005 above the incumbent of encoders: 0.6 SE.
    StudyResults results = after_encoders({config("lr=0.001", {0.705, 0.01, 3}, {0.67, 0.01, 3}),
                                           config("lr=0.003", {0.69, 0.01, 3})},
                                          0);
    results.final_incumbent = "lr=0.001-s1";
    const auto o = phase_optimism(results, results.phases[1]);
    REQUIRE(o);
    REQUIRE(o->from);
    CHECK(*o->from->standard_errors == Approx(0.612).epsilon(0.001));
    CHECK(o->within_one_se_of_from());
    const std::string warning = optimism_warning(results, results.phases[1]);
    CHECK(warning == "Warning: in phase tuning, the incumbent is within one standard error of the incumbent of "
                     "encoders (gap +0.6 SE on valid weighted F1): the difference may be noise.");
    // The first phase has nothing to be within one standard error of.
    CHECK(optimism_warning(results, results.phases[0]).empty());

    // Under the table and in the phase's own section.
    const std::string md = msa::report::markdown_report(results, {});
    const auto table = md.find("### Selection and optimism");
    const auto section = md.find("## Phase tuning");
    REQUIRE(table != std::string::npos);
    REQUIRE(section != std::string::npos);
    CHECK(md.find("Warning: in phase tuning", table) < md.find("## Phase encoders"));
    CHECK(md.find("Warning: in phase tuning", section) != std::string::npos);
    CHECK_THAT(md, Contains("Optimism of the final incumbent (lr=0.001, phase tuning): valid weighted F1 0.705 ± 0.010 "
                            "against test 0.670 ± 0.010, +0.035; its test score is the one to quote.\n"));

    // Worse than the start, but not by one standard error: a warning too.
    results.phases[1].configs[0].valid.weighted_f1 = Stat{0.695, 0.01, 3};
    CHECK_THAT(optimism_warning(results, results.phases[1]), Contains("(gap -0.6 SE on valid weighted F1)"));
}

TEST_CASE("selection and optimism: a sweep point that is the incumbent of from again is that model kept, no warning",
          "[report][optimism]") {
    // tuning's first point is encoders' configuration: deterministic training, equal scores.
    StudyResults results = after_encoders({config("lr=0.001", {0.70, 0.01, 3}, {0.66, 0.01, 3}),
                                           config("lr=0.003", {0.69, 0.01, 3}, {0.65, 0.01, 3})},
                                          0);
    const auto o = phase_optimism(results, results.phases[1]);
    REQUIRE(o);
    CHECK(o->kept_from);
    CHECK_FALSE(o->from);
    CHECK(optimism_warning(results, results.phases[1]).empty());
    CHECK(optimism_table(results)->rows[1].back() == "kept");
    // Equal on validation but not on test: another model, within noise of the start.
    results.phases[1].configs[0].test.weighted_f1 = Stat{0.67, 0.01, 3};
    CHECK_FALSE(phase_optimism(results, results.phases[1])->kept_from);
    CHECK_THAT(optimism_warning(results, results.phases[1]), Contains("(gap +0.0 SE on valid weighted F1)"));
}

TEST_CASE("selection and optimism: with one seed there is no standard error, and the table says why",
          "[report][optimism]") {
    StudyResults results;
    results.phases.push_back(phase("baseline", "", {config("concat", {0.70, 0, 1}, {0.68, 0, 1})}, 0));
    results.phases.push_back(
        phase("architecture", "baseline", {config("gated", {0.72, 0, 1}, {0.69, 0, 1}), config("late", {0.71, 0, 1})}, 0));
    const auto o = phase_optimism(results, results.phases[1]);
    REQUIRE(o);
    REQUIRE(o->runner_up);
    CHECK(o->runner_up->difference == Approx(0.01));
    CHECK_FALSE(o->runner_up->standard_errors);
    CHECK_FALSE(o->from->standard_errors);
    // Not measured is not within one standard error.
    CHECK_FALSE(o->within_one_se_of_from());
    CHECK(optimism_warning(results, results.phases[1]).empty());
    auto table = optimism_table(results);
    REQUIRE(table);
    CHECK(table->rows[1] == std::vector<std::string>{"architecture", "weighted F1", "gated", "late", "0.720 ± 0.000",
                                                     "0.690 ± 0.000", "+0.030", "—", "—"});
    CHECK_THAT(table->note, Contains("—: a configuration with one seed has no standard deviation"));
    CHECK(table->note.find("standard error 0") == std::string::npos);

    // Three seeds beside one: the single seed's sd is no spread, so still none.
    results.phases[1].configs[0].valid.weighted_f1 = Stat{0.72, 0.01, 3};
    CHECK_FALSE(phase_optimism(results, results.phases[1])->runner_up->standard_errors);

    // Seeds that all scored the same: a standard error of 0, another reason.
    results.phases[1].configs[0].valid.weighted_f1 = Stat{0.72, 0, 3};
    results.phases[1].configs[1].valid.weighted_f1 = Stat{0.71, 0, 3};
    results.phases[0].configs[0].valid.weighted_f1 = Stat{0.70, 0, 3};
    table = optimism_table(results);
    CHECK_THAT(table->note, Contains("—: every seed of both configurations scored the same (standard error 0)."));
    CHECK(table->note.find("one seed") == std::string::npos);
}

TEST_CASE("selection and optimism: the incumbent of from competes as a reference, as runner-up or kept",
          "[report][optimism]") {
    StudyResults results;
    results.phases.push_back(phase("loss", "", {config("loss=cross-entropy", {0.72, 0.014, 3}, {0.67, 0.01, 3})}, 0));
    results.phases.push_back(phase("augmentation", "loss",
                                   {config("no augmentation (incumbent of loss: loss=cross-entropy)", {0.72, 0.014, 3},
                                           {0.67, 0.01, 3}, /*reference=*/true),
                                    config("augmenter=identity", {0.74, 0.01, 3}, {0.66, 0.01, 3}),
                                    config("augmenter=eda", {0.70, 0.02, 3})},
                                   1, msa::PhaseKind::augmentation));
    auto o = phase_optimism(results, results.phases[1]);
    REQUIRE(o);
    REQUIRE(o->runner_up);
    CHECK(o->runner_up->config->label == "no augmentation (incumbent of loss: loss=cross-entropy)");
    // The reference is the incumbent of `from`: both gaps are the same comparison.
    REQUIRE(o->from);
    CHECK(*o->from->standard_errors == Approx(*o->runner_up->standard_errors));
    CHECK(*o->from->standard_errors == Approx(0.02 / std::sqrt(0.014 * 0.014 / 3 + 0.01 * 0.01 / 3)));

    // No augmentation won: the incumbent of loss is kept, which is no change to warn about.
    results.phases[1].incumbent = 0;
    results.phases[1].configs[1].valid.weighted_f1 = Stat{0.715, 0.01, 3};
    o = phase_optimism(results, results.phases[1]);
    REQUIRE(o);
    CHECK(o->kept_from);
    CHECK_FALSE(o->from);
    CHECK(o->runner_up->config->label == "augmenter=identity");
    CHECK(optimism_warning(results, results.phases[1]).empty());
    const auto table = optimism_table(results);
    REQUIRE(table);
    CHECK(table->rows[1].back() == "kept");
    CHECK_THAT(table->note, Contains("Kept: the incumbent of from stays, as no configuration beat it on validation"));
}

TEST_CASE("selection and optimism: a phase that selects by one class's F1 is compared on it", "[report][optimism]") {
    StudyResults results = after_encoders({config("lr=0.001", {0.72, 0.01, 3}), config("lr=0.003", {0.70, 0.01, 3})}, 1);
    PhaseResult& tuning = results.phases[1];
    tuning.select = "f1.neutral";
    results.phases[0].configs[0].valid.per_class_f1["neutral"] = Stat{0.30, 0.02, 3};
    tuning.configs[0].valid.per_class_f1["neutral"] = Stat{0.35, 0.02, 3};
    tuning.configs[1].valid.per_class_f1["neutral"] = Stat{0.40, 0.02, 3};
    tuning.configs[1].test.per_class_f1["neutral"] = Stat{0.33, 0.03, 3};
    const auto o = phase_optimism(results, tuning);
    REQUIRE(o);
    CHECK(o->metric.str() == "f1.neutral");
    CHECK(*o->optimism == Approx(0.07));
    CHECK(o->runner_up->difference == Approx(0.05));
    CHECK(o->from->difference == Approx(0.10));
    CHECK(optimism_table(results)->rows[1][1] == "F1 neutral");

    // The runner-up and the gaps follow the select metric's order; every metric `select`
    // accepts is higher-is-better, so no phase ranks the other way round yet.
    for (const std::string& name : msa::metric_names(msa::metric_select)) {
        const auto metric = msa::parse_metric(name == "f1.<label>" ? "f1.neutral" : name, msa::metric_select);
        REQUIRE(metric);
        CHECK(metric->higher_is_better());
    }
}

TEST_CASE("selection and optimism: phases without an incumbent of their own, or none finished, have no row",
          "[report][optimism]") {
    StudyResults results = after_encoders({config("lr=0.001", {0.72, 0.01, 3})}, 0);
    results.phases.push_back(
        phase("ablation", "tuning", {config("keep=text", {0.60, 0.01, 3})}, 0, msa::PhaseKind::ablation));
    PhaseResult failed = phase("loss", "tuning", {ConfigResult{}}, 0);
    failed.incumbent.reset();
    results.phases.push_back(failed);
    CHECK_FALSE(phase_optimism(results, results.phases[2]));
    CHECK_FALSE(phase_optimism(results, results.phases[3]));
    CHECK(optimism_table(results)->rows.size() == 2);

    // No test score: the optimism is a dash, and the study has no optimism line.
    results.final_incumbent = "lr=0.001-s1";
    const auto table = optimism_table(results);
    CHECK(table->rows[1][5] == "—");
    CHECK(table->rows[1][6] == "—");
    CHECK(msa::report::study_optimism_line(results).empty());

    results.phases.erase(results.phases.begin(), results.phases.begin() + 2);
    CHECK_FALSE(optimism_table(results));
}

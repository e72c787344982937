// The study reports: report.md and report.html from tests/fixtures/report-study (a
// results.json with a skipped phase, a phase with no finished trial, an ablation, and a
// configuration labelled <b>&"), and clear errors for a missing or malformed results.json.
#include "report/report_charts.hpp"
#include "report/report_tables.hpp"
#include "report/write_reports.hpp"

#include "test_helpers.hpp"

#include <msa/error.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using msa::report::write_reports;

namespace {

// A copy of the fixture study: the reports are written into the folder.
fs::path copy_fixture(const msa::test::TempDir& dir) {
    const fs::path study = dir.path() / "report-fixture";
    fs::copy(fs::path(MSA_FIXTURE_DIR) / "report-study", study, fs::copy_options::recursive);
    return study;
}

std::string read_text(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
    return n;
}

// The message of the msa::Error that writing the reports of `study` throws.
std::string report_error(const fs::path& study) {
    try {
        write_reports(study);
    } catch (const msa::Error& e) {
        return e.what();
    }
    FAIL("write_reports(" << study << ") did not throw");
    return {};
}

} // namespace

TEST_CASE("report.md: the study header and the phase table with every phase's incumbent") {
    msa::test::TempDir dir;
    const fs::path study = copy_fixture(dir);
    const auto written = write_reports(study);
    CHECK(written.markdown == study / "report.md");
    CHECK(written.warnings.empty());
    const std::string md = read_text(written.markdown);

    CHECK_THAT(md, Contains("# Study report-fixture\n"));
    CHECK_THAT(md, Contains("- **status:** complete\n"));
    CHECK_THAT(md, Contains("- **wall time:** 13 min 32 s\n"));
    CHECK_THAT(md, Contains("- **feature store:** 100.0% hit rate (9,624 from the store, 0 encoded)\n"));
    CHECK_THAT(md, Contains("- **phases:** 5 (3 complete, 1 failed, 1 skipped)\n"));
    CHECK_THAT(md, Contains("- **final incumbent:** architecture/gated-s2 (phase architecture, fusion=gated)\n"));
    CHECK_THAT(md, Contains("may hold \\<b\\>\\&\" and must be shown"));

    CHECK_THAT(md, Contains("| phase | kind | from | status | configs | trials | incumbent | valid weighted F1 | "
                            "valid macro F1 | test weighted F1 | test macro F1 | test F1 negative | test F1 neutral | "
                            "test F1 positive |\n|---|---|---|---|---|---|---|---:|"));
    CHECK_THAT(md, Contains("| baseline | train | — | complete | 1 | 2/2 | fusion=concat | 0.653 ± 0.007 | 0.546 ± 0.008 | "
                            "0.650 ± 0.007 | 0.543 ± 0.008 | 0.550 ± 0.030 | 0.316 ± 0.043 | 0.762 ± 0.012 |\n"));
    CHECK_THAT(md, Contains("| architecture | train | baseline | complete | 3 | 5/6 | fusion=gated | 0.712 ± 0.010 | "
                            "0.618 ± 0.012 | 0.697 ± 0.014 | 0.584 ± 0.012 | 0.593 ± 0.020 | 0.334 ± 0.049 | "
                            "0.783 ± 0.009 |\n"));
    // A phase with no finished trial, and a skipped one with its reason.
    CHECK_THAT(md, Contains("| loss | train | architecture | failed: every trial failed | 1 | 0/2 | none finished | — | — | "
                            "— | — | — | — | — |\n"));
    // Ablation and clip phases evaluate the incumbent of their `from`: none of their own,
    // though results.json names the ablation's best configuration.
    CHECK_THAT(md, Contains("| ablation | ablation | architecture | complete | 4 | 4/4 | none of its own | — | — | — | — "
                            "| — | — | — |\n"));
    CHECK_THAT(md, Contains("| clip | clip | architecture | skipped: no clip checkpoint: set clip = \"\\<folder\\>\" in "
                            "the manifest | 0 | 0/0 | none of its own |"));

    // Every mean ± std has 3 decimals.
    const std::regex stat(R"((\d+\.\d+) ± (\d+\.\d+))");
    std::size_t stats = 0;
    for (auto it = std::sregex_iterator(md.begin(), md.end(), stat); it != std::sregex_iterator(); ++it, ++stats) {
        INFO((*it)[0].str());
        CHECK((*it)[1].str().size() == 5);
        CHECK((*it)[2].str().size() == 5);
    }
    CHECK(stats > 50);
}

TEST_CASE("report.md: a table per phase, the incumbent marked, unfinished trials with their errors") {
    msa::test::TempDir dir;
    const fs::path study = copy_fixture(dir);
    const std::string md = read_text(write_reports(study).markdown);

    CHECK_THAT(md, Contains("## Phase architecture\n\nKind train, from baseline, incumbent by valid weighted\\_f1. "
                            "Status: complete.\n"));
    CHECK_THAT(md, Contains("| configuration | seeds | valid weighted F1 | valid macro F1 | valid accuracy | "
                            "valid F1 negative | valid F1 neutral | valid F1 positive | test weighted F1 | "));
    CHECK_THAT(md, Contains("| fusion=gated ★ | 2/2 | 0.712 ± 0.010 | 0.618 ± 0.012 | 0.709 ± 0.009 | 0.593 ± 0.011 | "
                            "0.455 ± 0.052 | 0.805 ± 0.006 | 0.697 ± 0.014 |"));
    // The label <b>&" is escaped, not markup; its failed seed is listed with the error's first line.
    CHECK_THAT(md, Contains("| fusion=\\<b\\>\\&\" | 1/2 | 0.601 ± 0.000 |"));
    CHECK_THAT(md, Contains("Trials that did not finish:\n\n- architecture/odd-s2 (seed 2): failed: plugin '\\<b\\>\\&\"' "
                            "threw: out of memory\n"));
    CHECK(md.find("<b>") == std::string::npos);
    CHECK(md.find("at fusion.forward") == std::string::npos);

    // No incumbent: every configuration's metrics are "—" and both seeds are listed.
    CHECK_THAT(md, Contains("## Phase loss\n\nKind train, from architecture, incumbent by valid f1.neutral. "
                            "Status: failed: every trial failed.\n"));
    CHECK_THAT(md, Contains("| loss=focal | 0/2 | — | — |"));
    CHECK_THAT(md, Contains("No incumbent: no configuration finished a trial."));
    CHECK_THAT(md, Contains("- loss/focal-s1 (seed 1): failed: worker exited with signal 9 (killed)\n"
                            "- loss/focal-s2 (seed 2): failed: worker exited with signal 9 (killed)\n"));

    // The skipped phase has its reason and no table.
    CHECK_THAT(md, Contains("## Phase clip\n\nKind clip, from architecture, no incumbent of its own. "
                            "Status: skipped: no clip checkpoint: set clip = \"\\<folder\\>\" in the manifest. "
                            "No configurations were run.\n\nWritten by"));
}

TEST_CASE("reports: each incumbent's seed ensemble beside its seeds' mean ± std, or why it was not scored",
          "[report][ensemble]") {
    msa::test::TempDir dir;
    const fs::path study = copy_fixture(dir);
    const auto written = write_reports(study);
    const std::string md = read_text(written.markdown);
    CHECK_THAT(md, Contains("- **seed ensemble:** test weighted F1 0.711 of the final incumbent's seeds 1, 2 averaged "
                            "(each seed alone: 0.697 ± 0.014)\n"));
    CHECK_THAT(md, Contains("### Seed ensembles of the incumbents (test)\n\n| phase | incumbent | seeds | "
                            "test weighted F1 (seeds) | test weighted F1 (ensemble) | test macro F1 (seeds) | "
                            "test macro F1 (ensemble) | test accuracy (seeds) | test accuracy (ensemble) | "
                            "test F1 negative (seeds) | test F1 negative (ensemble) | "));
    CHECK_THAT(md, Contains("| architecture | fusion=gated | seeds 1, 2 | 0.697 ± 0.014 | 0.711 | 0.584 ± 0.012 | "
                            "0.596 | 0.691 ± 0.010 | 0.706 | 0.593 ± 0.020 | 0.606 | 0.334 ± 0.049 | 0.348 | "
                            "0.783 ± 0.009 | 0.797 |\n"));
    CHECK_THAT(md, Contains("| baseline | fusion=concat | seeds 1, 2 | 0.650 ± 0.007 | — | 0.543 ± 0.008 | — |"));
    CHECK_THAT(md, Contains("—: not scored; the phase's section says why."));
    // Under each phase's table: the ensemble, or why it is not there and how to get it.
    CHECK_THAT(md, Contains("Seed ensemble of the incumbent (seeds 1, 2, their test probabilities averaged, 350 test "
                            "rows): test weighted F1 0.711 (seeds 0.697 ± 0.014), macro F1 0.596 (seeds 0.584 ± "
                            "0.012), accuracy 0.706 (seeds 0.691 ± 0.010); F1 negative 0.606 (seeds 0.593 ± 0.020), "
                            "neutral 0.348 (seeds 0.334 ± 0.049), positive 0.797 (seeds 0.783 ± 0.009).\n"));
    CHECK_THAT(md, Contains("Seed ensemble of the incumbent (seeds 1, 2): not scored: the seeds' test splits differ "
                            "(seed 1 (baseline/concat-s1) and seed 2 (baseline/concat-s2) share 41 of 350 and 350 test "
                            "rows): each seed drew its own split; set \\[split\\] test\\_seed so that every seed is "
                            "tested on the same rows.\n"));
    // Phases without an incumbent of their own, or none finished, have no ensemble line.
    CHECK(count(md, "Seed ensemble of the incumbent") == 2);

    const std::string html = read_text(written.html);
    CHECK_THAT(html, Contains("<h3 id=\"ensembles\">Seed ensembles of the incumbents (test)</h3>"));
    CHECK_THAT(html, Contains("<td>architecture</td><td>fusion=gated</td><td>seeds 1, 2</td><td class=\"num\">0.697 ± "
                              "0.014</td><td class=\"num\">0.711</td>"));
    CHECK_THAT(html, Contains("<p class=\"ensemble\">Seed ensemble of the incumbent (seeds 1, 2): not scored: the "
                              "seeds&#39; test splits differ"));
    CHECK_THAT(html, Contains("<dt>seed ensemble</dt><dd>test weighted F1 0.711 of the final incumbent&#39;s seeds 1, 2"));
}

TEST_CASE("reports: each incumbent's optimism and its gaps in standard errors, under the phase table",
          "[report][optimism]") {
    msa::test::TempDir dir;
    const auto written = write_reports(copy_fixture(dir));
    const std::string md = read_text(written.markdown);
    CHECK_THAT(md, Contains("### Selection and optimism\n\n| phase | metric | incumbent | runner-up | valid | test | "
                            "optimism | gap to runner-up (SE) | gap to the incumbent of from (SE) |\n"
                            "|---|---|---|---|---:|---:|---:|---:|---:|\n"
                            "| baseline | weighted F1 | fusion=concat | none | 0.653 ± 0.007 | 0.650 ± 0.007 | +0.003 | — "
                            "| — |\n"
                            "| architecture | weighted F1 | fusion=gated | fusion=late | 0.712 ± 0.010 | 0.697 ± 0.014 | "
                            "+0.015 | +2.1 | +6.6 |\n"));
    // The failed phase has no incumbent, ablation and clip none of their own: no rows.
    CHECK(md.find("| loss | f1.neutral") == std::string::npos);
    CHECK_THAT(md, Contains("Optimism of the final incumbent (fusion=gated, phase architecture): valid weighted F1 "
                            "0.712 ± 0.010 against test 0.697 ± 0.014, +0.015; its test score is the one to quote.\n"));
    // Both gaps stand clear of one standard error: no warning.
    CHECK(md.find("Warning:") == std::string::npos);
    // Before the seed ensembles.
    CHECK(md.find("### Selection and optimism") < md.find("### Seed ensembles"));

    const std::string html = read_text(written.html);
    CHECK_THAT(html, Contains("<h3 id=\"optimism\">Selection and optimism</h3>"));
    CHECK_THAT(html, Contains("<td>architecture</td><td>weighted F1</td><td>fusion=gated</td><td>fusion=late</td>"
                              "<td class=\"num\">0.712 ± 0.010</td>"));
}

TEST_CASE("reports: a phase whose incumbent the one-SE rule chose says so in its section", "[report][selection]") {
    msa::test::TempDir dir;
    const fs::path study = copy_fixture(dir);
    nlohmann::json results = nlohmann::json::parse(read_text(study / "results.json"));
    const std::string why = "one-SE rule: kept fusion=gated (weighted_f1 0.7120 against the best mean 0.7150, within "
                            "one standard error (0.0100)) of fusion=late, as simpler: 812 trained parameters against "
                            "2051";
    results["phases"][1]["selection"] = why;
    std::ofstream(study / "results.json") << results.dump(2);
    const auto written = write_reports(study);
    std::string escaped = why; // Markdown: weighted\_f1
    escaped.replace(escaped.find("_f1"), 1, "\\_");
    CHECK(count(read_text(written.markdown), escaped + "\n\n") == 1);
    CHECK(count(read_text(written.html), "<p>" + why + "</p>") == 1);
}

TEST_CASE("report.md: the ablation table compares each configuration with the full model") {
    msa::test::TempDir dir;
    const std::string md = read_text(write_reports(copy_fixture(dir)).markdown);
    CHECK_THAT(md, Contains("| configuration | seeds | test accuracy | test macro F1 | test weighted F1 | "
                            "Δ test weighted F1 | test F1 negative | test F1 neutral | test F1 positive | "
                            "valid weighted F1 |\n"));
    CHECK_THAT(md, Contains("## Phase ablation\n\nKind ablation, from architecture, no incumbent of its own. "
                            "Status: complete.\n"));
    CHECK_THAT(md, Contains("| keep=both | 1/1 | 0.691 ± 0.000 | 0.598 ± 0.000 | 0.688 ± 0.000 | -0.009 | "
                            "0.593 ± 0.000 | 0.418 ± 0.000 | 0.783 ± 0.000 | 0.718 ± 0.000 |\n"));
    CHECK_THAT(md, Contains("| keep=image, fill=mean | 1/1 | 0.594 ± 0.000 | 0.451 ± 0.000 | 0.562 ± 0.000 | -0.135 |"));
    CHECK_THAT(md, Contains("Δ: against the full model, fusion=gated of phase architecture (mean test weighted F1 0.697)."));
    CHECK(md.find("★", md.find("## Phase ablation")) == std::string::npos);
    // The final incumbent's test confusion matrix, from its metrics.json.
    CHECK_THAT(md, Contains("| true \\\\ predicted | negative | neutral | positive |\n|---|---:|---:|---:|\n"
                            "| negative | "));
}

TEST_CASE("report.html: self-contained, with every chart as inline SVG and every label escaped") {
    msa::test::TempDir dir;
    const fs::path study = copy_fixture(dir);
    const std::string html = read_text(write_reports(study).html);

    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK_THAT(html, Contains("<meta charset=\"utf-8\">") && Contains("<style>"));
    // Nothing fetched, nothing run: the only URL is the SVG namespace.
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("src=") == std::string::npos);
    CHECK(html.find("href=") == std::string::npos);
    CHECK(count(html, "http") == count(html, "xmlns=\"http://www.w3.org/2000/svg\""));

    // (a) evolution, (b) per-class bars, (c) ablation radar, (d) test and valid
    // confusion, (e) two training charts for each of baseline and architecture. The
    // incumbent charts leave out the ablation and clip phases, which have none.
    CHECK(count(html, "<svg ") == 9);
    CHECK(count(html, "</svg>") == 9);
    CHECK_THAT(html, Contains("<title>Evolution of the incumbents&#39; test F1</title>"));
    CHECK_THAT(html, Contains("<title>Per-class test F1 of each phase&#39;s incumbent</title>"));
    CHECK_THAT(html, Contains("<title>ablation: test metrics of each configuration</title>"));
    CHECK(count(html, ">architecture</text>") == 2);
    CHECK(count(html, ">ablation</text>") == 0);
    CHECK(count(html, ">clip</text>") == 0);
    // A chart's title (its first <title>) says each word once.
    for (auto at = html.find("<svg "); at != std::string::npos; at = html.find("<svg ", at + 1)) {
        const auto start = html.find("<title>", at) + 7;
        const std::string title = html.substr(start, html.find("</title>", start) - start);
        std::set<std::string> words;
        const std::regex word("[A-Za-z][A-Za-z0-9]*");
        for (auto it = std::sregex_iterator(title.begin(), title.end(), word); it != std::sregex_iterator(); ++it) {
            std::string w = it->str();
            std::transform(w.begin(), w.end(), w.begin(), [](unsigned char c) { return std::tolower(c); });
            INFO(title);
            CHECK((w.size() <= 3 || words.insert(w).second));
        }
    }
    CHECK_THAT(html, Contains("<title>Confusion matrix: architecture/gated-s2, test split</title>"));
    CHECK_THAT(html, Contains("<title>Confusion matrix: architecture/gated-s2, validation split</title>"));
    CHECK_THAT(html, Contains("<title>baseline (fusion=concat): validation weighted F1</title>"));
    CHECK_THAT(html, Contains("<title>architecture (fusion=gated): loss</title>"));
    // Charts carry their axis labels and legends.
    CHECK(count(html, ">Legend</text>") == 9);
    CHECK_THAT(html, Contains(">phase</text>") && Contains(">epoch</text>") && Contains(">predicted class</text>") &&
                         Contains(">true class</text>"));
    CHECK_THAT(html, Contains(">F1 neutral</text>"));
    CHECK_THAT(html, Contains(">best epoch 4</text>"));

    // Phases without a training curve say why; those without an incumbent have none to show.
    CHECK_THAT(html, Contains("loss: no training curve (no finished trial)."));
    CHECK(html.find("ablation: no training curve") == std::string::npos);
    CHECK(html.find("<tr class=\"incumbent\"><td>keep=both") == std::string::npos);

    // <b>&" is text everywhere: tables, chart legends and tooltips, the description.
    CHECK(html.find("<b>") == std::string::npos);
    CHECK_THAT(html, Contains("<td>fusion=&lt;b&gt;&amp;&quot;</td>"));
    CHECK_THAT(html, Contains("<li>architecture/odd-s2 (seed 2): failed: plugin &#39;&lt;b&gt;&amp;&quot;&#39; threw"));
    CHECK_THAT(html, Contains("<tr class=\"incumbent\"><td>fusion=gated ★</td>"));
    CHECK_THAT(html, Contains("may hold &lt;b&gt;&amp;&quot; and must be shown"));
}

TEST_CASE("a chart title leaves out a part whose words the rest of the title has") {
    using msa::report::chart_title;
    using msa::report::TitlePart;
    const auto ablation = [](const std::string& phase) {
        return chart_title({{"Ablation"}, {phase}, {"test metrics of each configuration", ": "}});
    };
    CHECK(ablation("modalities") == "Ablation modalities: test metrics of each configuration");
    CHECK(ablation("ablation") == "ablation: test metrics of each configuration");
    CHECK(ablation("Ablation-2") == "Ablation-2: test metrics of each configuration");
    CHECK(ablation("final-ABLATION") == "final-ABLATION: test metrics of each configuration");
    // Words, not substrings: "ablations" and "a" say something "Ablation" does not.
    CHECK(ablation("ablations") == "Ablation ablations: test metrics of each configuration");
    CHECK(ablation("a") == "Ablation a: test metrics of each configuration");

    // An aside keeps its brackets only after another part.
    const auto curve = [](const std::string& phase, const std::string& label, const std::string& what) {
        return chart_title({{phase}, {label, " (", ")"}, {what, ": "}});
    };
    CHECK(curve("baseline", "fusion=concat", "loss") == "baseline (fusion=concat): loss");
    CHECK(curve("loss", "loss=acb", "validation weighted F1") == "loss=acb: validation weighted F1");
    CHECK(curve("loss", "Loss=ACB", "loss") == "Loss=ACB");
    CHECK(curve("augmentation", "no augmentation (incumbent of loss: loss=acb)", "validation weighted F1") ==
          "no augmentation (incumbent of loss: loss=acb): validation weighted F1");
    CHECK(curve("baseline", "", "loss") == "baseline: loss");

    CHECK(chart_title({{"Confusion matrix"}, {"architecture/gated-s2", ": "}, {"test split", ", "}}) ==
          "Confusion matrix: architecture/gated-s2, test split");
    CHECK(chart_title({{"Confusion matrix"}, {"confusion-matrix/x", ": "}}) == "confusion-matrix/x");
    CHECK(chart_title({}).empty());
}

TEST_CASE("reports are written for a study interrupted before any phase, and replace older ones") {
    msa::test::TempDir dir;
    dir.write("early/results.json", R"({"study": "early", "labels": ["a", "b"], "status": "interrupted",
                                        "final_incumbent": null, "phases": []})");
    dir.write("early/report.md", "an older report");
    const auto written = write_reports(dir.path() / "early");
    const std::string md = read_text(written.markdown);
    CHECK_THAT(md, Contains("- **status:** interrupted\n"));
    CHECK_THAT(md, Contains("- **final incumbent:** none (no phase finished a trial)\n"));
    CHECK_THAT(md, Contains("The study has no phases."));
    const std::string html = read_text(written.html);
    CHECK_THAT(html, Contains("No confusion matrix: the study has no final incumbent."));
    CHECK_THAT(html, Contains("no values to show"));
    CHECK(!fs::exists(dir.path() / "early" / "report.md.partial"));
}

TEST_CASE("a trial file that cannot be read is a warning, and the reports are still written") {
    msa::test::TempDir dir;
    const fs::path study = copy_fixture(dir);
    std::ofstream(study / "baseline" / "concat-s1" / "history.csv")
        << "epoch,train_loss,valid_loss,valid_accuracy,valid_macro_f1,valid_weighted_f1,learning_rate,seconds\n"
           "1,0.9,0.8,0.5,0.4,x,0.001,2\n";
    fs::remove(study / "architecture" / "gated-s2" / "metrics.json");
    const auto written = write_reports(study);
    REQUIRE(written.warnings.size() == 2);
    CHECK_THAT(written.warnings[0], Contains("concat-s1/history.csv:2: valid_weighted_f1 'x' is not a number"));
    CHECK_THAT(written.warnings[1], Contains("final incumbent: ") && Contains("gated-s2/metrics.json not found"));
    const std::string html = read_text(written.html);
    CHECK_THAT(html, Contains("<h2>Trial files that could not be read</h2>"));
    CHECK_THAT(html, Contains("No confusion matrix: "));
    CHECK(count(html, "<svg ") == 5); // no confusion matrices, no baseline curves
    CHECK_THAT(read_text(written.markdown), Contains("## Trial files that could not be read"));
}

TEST_CASE("a missing or malformed results.json is an error naming the file and the problem") {
    msa::test::TempDir dir;
    const fs::path study = dir.path() / "study";
    CHECK_THAT(report_error(study), Contains(study.string() + " is not a folder"));

    fs::create_directories(study);
    const std::string file = (study / "results.json").string();
    CHECK_THAT(report_error(study), Contains(file + " not found: `msa run` writes it"));

    auto error_for = [&](const std::string& json) {
        dir.write("study/results.json", json);
        return report_error(study);
    };
    CHECK_THAT(error_for(R"({"study": "s", "labels": [)"),
               Contains(file + ": not valid JSON: parse error at line 1, column 27"));
    CHECK_THAT(error_for("[1, 2]"), Contains(file + ": (top level): expected an object, found an array"));
    CHECK_THAT(error_for(R"({"labels": [], "status": "complete", "phases": []})"),
               Contains(file + ": study: missing (required)"));
    CHECK_THAT(error_for(R"({"study": 3, "labels": [], "status": "complete", "phases": []})"),
               Contains(file + ": study: expected a string, found an integer"));
    const std::string head = R"({"study": "s", "labels": ["a", "b"], "status": "complete", "phases": [)";
    CHECK_THAT(error_for(head + R"({"name": "p", "kind": "train", "status": "complete", "configs": "x"}]})"),
               Contains(file + ": phases[0].configs: expected an array, found a string"));
    CHECK_THAT(error_for(head + R"({"name": "p", "kind": "train", "status": "complete", "configs": [], "incumbent": 0}]})"),
               Contains(file + ": phases[0].incumbent: 0 is not an index into the phase's 0 configs"));
    const std::string config = R"({"label": "c", "trials": [{"folder": "p/c-s1", "seed": 1, "status": "ok"}],
                                   "valid": {"accuracy": {"mean": "0.5", "std": 0, "n": 1}}})";
    CHECK_THAT(error_for(head + R"({"name": "p", "kind": "train", "status": "complete", "configs": [)" + config + "]}]}"),
               Contains(file + ": phases[0].configs[0].valid.accuracy.mean: expected a number, found a string"));
}

TEST_CASE("a few-shot phase's learning curves: a row per configuration, a column per k, a log-scaled chart") {
    using namespace msa::records;
    PhaseResult phase;
    phase.name = "curves";
    phase.kind = msa::PhaseKind::few_shot;
    const auto point = [](const std::string& label, std::int64_t k, double f1) {
        ConfigResult c;
        c.label = label;
        c.shots = k;
        c.trials.resize(5);
        c.test.weighted_f1 = Stat{f1, 0.02, 5};
        c.test.macro_f1 = Stat{f1 - 0.1, 0.03, 5};
        return c;
    };
    // Curves come in the phase's order, k sorted; a point a curve lacks is a dash.
    phase.configs = {point("sampler=k-shot", 16, 0.61), point("sampler=k-shot", 4, 0.45),
                     point("sampler=consistent", 4, 0.40)};
    const auto table = msa::report::learning_curve_table(phase, msa::Metric::weighted_f1);
    REQUIRE(table);
    CHECK(table->headers == std::vector<std::string>{"configuration", "k = 4", "k = 16"});
    REQUIRE(table->rows.size() == 2);
    CHECK(table->rows[0] == std::vector<std::string>{"sampler=k-shot", "0.450 ± 0.020", "0.610 ± 0.020"});
    CHECK(table->rows[1] == std::vector<std::string>{"sampler=consistent", "0.400 ± 0.020", "—"});
    CHECK_THAT(table->note, Contains("over 5 draws") && Contains("never the validation split"));
    CHECK(msa::report::learning_curve_table(phase, msa::Metric::macro_f1)->rows[0][2] == "0.510 ± 0.030");
    // k on a log scale: 4 and 16 are the axis ends, ticked with their values.
    const std::string svg = msa::report::learning_curve_chart(phase, msa::Metric::weighted_f1);
    CHECK_THAT(svg, Contains("Learning curves") && Contains("log scale") && Contains(">4</text>") &&
                        Contains(">16</text>") && Contains("sampler=consistent"));
    phase.kind = msa::PhaseKind::train;
    CHECK_FALSE(msa::report::learning_curve_table(phase, msa::Metric::weighted_f1));
}

TEST_CASE("a distill phase's students beside the gold-label one: pool, kept per class, teacher, test F1 and its gain") {
    using namespace msa::records;
    StudyResults results;
    results.labels = {"negative", "positive"};
    PhaseResult phase;
    phase.name = "students";
    phase.kind = msa::PhaseKind::distill;
    ConfigResult gold;
    gold.label = "gold labels";
    gold.test.weighted_f1 = Stat{0.62, 0.02, 3};
    ConfigResult student;
    student.label = "distill.threshold=0.7";
    student.test.weighted_f1 = Stat{0.55, 0.01, 3};
    student.distill = ConfigResult::Distill{511, {{"negative", 61.3}, {"positive", 212}}, 0.53, 0.815};
    phase.configs = {gold, student};
    const auto table = msa::report::distill_table(results, phase);
    REQUIRE(table);
    CHECK(table->headers == std::vector<std::string>{"student", "pool", "kept negative", "kept positive",
                                                     "teacher coverage", "teacher accuracy", "test weighted F1",
                                                     "vs gold labels"});
    REQUIRE(table->rows.size() == 2);
    CHECK(table->rows[0] == std::vector<std::string>{"gold labels", "—", "—", "—", "—", "—", "0.620 ± 0.020", "—"});
    CHECK(table->rows[1] == std::vector<std::string>{"distill.threshold=0.7", "511", "61", "212", "0.530", "0.815",
                                                     "0.550 ± 0.010", "-0.070"});
    phase.kind = msa::PhaseKind::train;
    CHECK_FALSE(msa::report::distill_table(results, phase));
}

TEST_CASE("a distill phase that sweeps the threshold draws kept posts and student F1 against it") {
    using namespace msa::records;
    PhaseResult phase;
    phase.name = "students";
    phase.kind = msa::PhaseKind::distill;
    ConfigResult gold;
    gold.label = "gold labels";
    gold.test.weighted_f1 = Stat{0.62, 0.02, 3};
    phase.configs.push_back(gold);
    for (const auto& [threshold, kept, f1] : {std::tuple{"0.5", 450.0, 0.54}, std::tuple{"0.9", 100.0, 0.47}}) {
        ConfigResult c;
        c.label = std::string("distill.threshold=") + threshold;
        c.changes = {{"distill.threshold", threshold}};
        c.test.weighted_f1 = Stat{f1, 0.01, 3};
        c.distill = ConfigResult::Distill{511, {{"negative", kept / 2}, {"positive", kept / 2}}, 0.5, 0.8};
        phase.configs.push_back(c);
    }
    const auto charts = msa::report::distill_threshold_charts(phase);
    REQUIRE(charts.size() == 2);
    CHECK_THAT(charts[0], Contains("Pool posts kept against the threshold") && Contains("distill.threshold"));
    CHECK_THAT(charts[1], Contains("Students against the threshold") && Contains("gold labels"));
    // One threshold is no curve.
    phase.configs.pop_back();
    CHECK(msa::report::distill_threshold_charts(phase).empty());
}

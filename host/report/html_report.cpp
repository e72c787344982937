// report.html: the page layout around the tables (report_tables) and charts
// (report_charts). Every text from results.json passes through svg::escape.
#include "report/html_report.hpp"

#include "report/report_charts.hpp"
#include "report/report_tables.hpp"
#include "report/svg_charts.hpp"

#include <fmt/format.h>

#include <iterator>

namespace msa::report {

namespace {

using svg::escape;

constexpr const char* style = R"css(
body { font-family: system-ui, sans-serif; color: #222; max-width: 1360px; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ddd; } h3 { font-size: 1.05rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; vertical-align: top; white-space: nowrap; }
th { background: #f3f3f3; }
td.long { white-space: normal; min-width: 18rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.incumbent td { background: #fff6d6; font-weight: 600; }
.note { color: #555; font-size: .85rem; }
.warning { color: #8a4b00; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
svg.chart { max-width: 100%; height: auto; border: 1px solid #e3e3e3; }
)css";

void write_table(std::string& html, const Table& table) {
    auto out = std::back_inserter(html);
    html += "<div class=\"scroll\"><table>\n<thead><tr>";
    for (const auto& header : table.headers) fmt::format_to(out, "<th>{}</th>", escape(header));
    html += "</tr></thead>\n<tbody>\n";
    for (std::size_t r = 0; r < table.rows.size(); ++r) {
        html += r < table.highlighted.size() && table.highlighted[r] ? "<tr class=\"incumbent\">" : "<tr>";
        for (std::size_t c = 0; c < table.rows[r].size(); ++c) {
            // Long texts (a skipped phase's reason) wrap; names and numbers stay on one line.
            const std::string& cell = table.rows[r][c];
            const char* kind = c >= table.text_columns ? " class=\"num\"" : cell.size() > 40 ? " class=\"long\"" : "";
            fmt::format_to(out, "<td{}>{}</td>", kind, escape(cell));
        }
        html += "</tr>\n";
    }
    html += "</tbody></table></div>\n";
    if (!table.note.empty()) fmt::format_to(out, "<p class=\"note\">{}</p>\n", escape(table.note));
}

void write_charts(std::string& html, const StudyResults& results, const StudyArtifacts& artifacts) {
    auto out = std::back_inserter(html);
    html += "<h2 id=\"charts\">Charts</h2>\n<div class=\"charts\">\n";
    html += phase_evolution_chart(results) + "\n" + per_class_chart(results) + "\n</div>\n";

    for (const auto& phase : results.phases)
        if (phase.kind == PhaseKind::ablation && !phase.configs.empty())
            html += "<div class=\"charts\">\n" + ablation_chart(results, phase) + "\n</div>\n";

    html += "<h3>Final incumbent</h3>\n";
    const auto* metrics = artifacts.final_metrics ? &*artifacts.final_metrics : nullptr;
    if (metrics && metrics->confusion(/*test_split=*/true)) {
        html += "<div class=\"charts\">\n";
        html += confusion_chart(*metrics->confusion(true), results.final_incumbent, "test split") + "\n";
        if (const Confusion* valid = metrics->confusion(/*test_split=*/false))
            html += confusion_chart(*valid, results.final_incumbent, "validation split") + "\n";
        html += "</div>\n";
    } else {
        fmt::format_to(out, "<p class=\"note\">No confusion matrix: {}.</p>\n", escape(artifacts.final_missing));
    }

    html += "<h3>Training curves of each phase's incumbent</h3>\n";
    for (std::size_t p = 0; p < results.phases.size(); ++p) {
        const PhaseResult& phase = results.phases[p];
        const IncumbentFiles& files = artifacts.phases[p];
        if (!phase.has_own_incumbent()) continue;
        if (files.history.empty()) {
            fmt::format_to(out, "<p class=\"note\">{}: no training curve ({}).</p>\n", escape(phase.name),
                           escape(files.missing));
            continue;
        }
        const std::string& label = phase.incumbent_config()->label;
        const auto best_epoch = files.metrics ? files.metrics->best_epoch : std::nullopt;
        html += "<div class=\"charts\">\n";
        for (const auto& chart : training_curve_charts(phase.name, label, files.history, best_epoch))
            html += chart + "\n";
        html += "</div>\n";
    }
}

void write_phase(std::string& html, const StudyResults& results, const PhaseResult& phase) {
    auto out = std::back_inserter(html);
    fmt::format_to(out, "<h2>Phase {}</h2>\n", escape(phase.name));
    fmt::format_to(out, "<p>{}</p>\n", escape(phase_description(phase)));
    if (phase.kind == PhaseKind::few_shot && !phase.configs.empty()) {
        html += "<div class=\"charts\">\n";
        for (const Metric metric : {Metric::weighted_f1, Metric::macro_f1})
            html += learning_curve_chart(phase, metric) + "\n";
        html += "</div>\n";
        for (const Metric metric : {Metric::weighted_f1, Metric::macro_f1})
            if (const auto curve = learning_curve_table(phase, metric)) write_table(html, *curve);
    }
    if (const auto table = phase_configs_table(results, phase)) write_table(html, *table);
    // The one-SE rule kept a simpler configuration than the best mean: say which and why.
    if (!phase.selection.empty()) fmt::format_to(out, "<p>{}</p>\n", escape(phase.selection));
    if (const std::string warning = optimism_warning(results, phase); !warning.empty())
        fmt::format_to(out, "<p class=\"warning\">{}</p>\n", escape(warning));
    if (const auto table = distill_table(results, phase)) {
        html += "<p>Distillation:</p>\n";
        write_table(html, *table);
        if (const auto charts = distill_threshold_charts(phase); !charts.empty()) {
            html += "<div class=\"charts\">\n";
            for (const auto& chart : charts) html += chart + "\n";
            html += "</div>\n";
        }
    }
    if (const std::string line = ensemble_line(results, phase); !line.empty())
        fmt::format_to(out, "<p class=\"ensemble\">{}</p>\n", escape(line));
    const auto unfinished = unfinished_trials(phase);
    if (!unfinished.empty()) {
        html += "<p>Trials that did not finish:</p>\n<ul>\n";
        for (const auto& line : unfinished) fmt::format_to(out, "<li>{}</li>\n", escape(line));
        html += "</ul>\n";
    }
}

} // namespace

std::string html_report(const StudyResults& results, const StudyArtifacts& artifacts) {
    std::string html;
    auto out = std::back_inserter(html);
    fmt::format_to(out,
                   "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                   "<title>Study {} — msa report</title>\n<style>{}</style>\n</head>\n<body>\n",
                   escape(results.study), style);
    fmt::format_to(out, "<h1>Study {}</h1>\n<dl class=\"facts\">\n", escape(results.study));
    for (const auto& [name, value] : study_facts(results))
        fmt::format_to(out, "<dt>{}</dt><dd>{}</dd>\n", escape(name), escape(value));
    html += "</dl>\n<h2 id=\"phases\">Phases</h2>\n";
    if (results.phases.empty())
        html += "<p>The study has no phases.</p>\n";
    else
        write_table(html, phase_table(results));
    if (const auto table = optimism_table(results)) {
        html += "<h3 id=\"optimism\">Selection and optimism</h3>\n";
        write_table(html, *table);
        for (const auto& phase : results.phases)
            if (const std::string warning = optimism_warning(results, phase); !warning.empty())
                fmt::format_to(out, "<p class=\"warning\">{}</p>\n", escape(warning));
        if (const std::string line = study_optimism_line(results); !line.empty())
            fmt::format_to(out, "<p>{}</p>\n", escape(line));
    }
    if (const auto table = ensemble_table(results)) {
        html += "<h3 id=\"ensembles\">Seed ensembles of the incumbents (test)</h3>\n";
        write_table(html, *table);
    }
    write_charts(html, results, artifacts);
    for (const auto& phase : results.phases) write_phase(html, results, phase);
    if (!artifacts.warnings.empty()) {
        html += "<h2>Trial files that could not be read</h2>\n<ul>\n";
        for (const auto& warning : artifacts.warnings) fmt::format_to(out, "<li>{}</li>\n", escape(warning));
        html += "</ul>\n";
    }
    html += "<p class=\"note\">Written by <code>msa report</code> from results.json.</p>\n</body>\n</html>\n";
    return html;
}

} // namespace msa::report

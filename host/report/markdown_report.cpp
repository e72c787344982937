// report.md: header, phase table, selection and optimism, the final incumbent's confusion
// matrix, then one section per phase. Labels come from manifests, so every cell is escaped.
#include "report/markdown_report.hpp"

#include "report/report_tables.hpp"

#include <fmt/format.h>

#include <iterator>

namespace msa::report {

namespace {

// Text that Markdown shows as written: its markup characters backslash-escaped (HTML
// tags too, as `\<b>`), and line breaks, which would end a table row, as spaces.
std::string escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
        case '\\': case '`': case '*': case '_': case '[': case ']': case '<': case '>': case '&': case '|':
            out += '\\';
            out += c;
            break;
        case '\n': case '\r': out += ' '; break;
        default: out += c;
        }
    }
    return out;
}

void write_table(std::string& md, const Table& table) {
    auto out = std::back_inserter(md);
    auto row = [&](const std::vector<std::string>& cells) {
        md += "|";
        for (const auto& cell : cells) fmt::format_to(out, " {} |", escape(cell));
        md += "\n";
    };
    row(table.headers);
    md += "|";
    for (std::size_t c = 0; c < table.headers.size(); ++c) md += c < table.text_columns ? "---|" : "---:|";
    md += "\n";
    for (const auto& cells : table.rows) row(cells);
    if (!table.note.empty()) fmt::format_to(out, "\n{}\n", escape(table.note));
    md += "\n";
}

void write_confusion(std::string& md, const Confusion& confusion) {
    Table table;
    table.headers.push_back("true \\ predicted");
    table.headers.insert(table.headers.end(), confusion.labels.begin(), confusion.labels.end());
    for (std::size_t r = 0; r < confusion.labels.size(); ++r) {
        std::vector<std::string> cells{confusion.labels[r]};
        for (auto count : confusion.matrix[r]) cells.push_back(std::to_string(count));
        table.rows.push_back(std::move(cells));
    }
    write_table(md, table);
}

void write_phase(std::string& md, const StudyResults& results, const PhaseResult& phase) {
    auto out = std::back_inserter(md);
    fmt::format_to(out, "## Phase {}\n\n", escape(phase.name));
    fmt::format_to(out, "{}\n\n", escape(phase_description(phase)));
    for (const Metric metric : {Metric::weighted_f1, Metric::macro_f1})
        if (const auto curve = learning_curve_table(phase, metric)) {
            fmt::format_to(out, "Learning curves, test {}:\n\n", metric_title(metric));
            write_table(md, *curve);
        }
    if (const auto table = phase_configs_table(results, phase)) write_table(md, *table);
    // The one-SE rule kept a simpler configuration than the best mean: say which and why.
    if (!phase.selection.empty()) fmt::format_to(out, "{}\n\n", escape(phase.selection));
    if (const std::string warning = optimism_warning(results, phase); !warning.empty())
        fmt::format_to(out, "{}\n\n", escape(warning));
    if (const auto table = distill_table(results, phase)) {
        md += "Distillation:\n\n";
        write_table(md, *table);
    }
    if (const std::string line = ensemble_line(results, phase); !line.empty())
        fmt::format_to(out, "{}\n\n", escape(line));
    const auto unfinished = unfinished_trials(phase);
    if (!unfinished.empty()) {
        md += "Trials that did not finish:\n\n";
        for (const auto& line : unfinished) fmt::format_to(out, "- {}\n", escape(line));
        md += "\n";
    }
}

} // namespace

std::string markdown_report(const StudyResults& results, const StudyArtifacts& artifacts) {
    std::string md;
    auto out = std::back_inserter(md);
    fmt::format_to(out, "# Study {}\n\n", escape(results.study));
    for (const auto& [name, value] : study_facts(results)) fmt::format_to(out, "- **{}:** {}\n", escape(name), escape(value));
    md += "\n## Phases\n\n";
    if (results.phases.empty())
        md += "The study has no phases.\n\n";
    else
        write_table(md, phase_table(results));
    if (const auto table = optimism_table(results)) {
        md += "### Selection and optimism\n\n";
        write_table(md, *table);
        for (const auto& phase : results.phases)
            if (const std::string warning = optimism_warning(results, phase); !warning.empty())
                fmt::format_to(out, "{}\n\n", escape(warning));
        if (const std::string line = study_optimism_line(results); !line.empty())
            fmt::format_to(out, "{}\n\n", escape(line));
    }
    if (const auto table = ensemble_table(results)) {
        md += "### Seed ensembles of the incumbents (test)\n\n";
        write_table(md, *table);
    }

    if (artifacts.final_metrics && artifacts.final_metrics->confusion(/*test_split=*/true)) {
        fmt::format_to(out, "## Final incumbent: confusion matrix (test)\n\n{} (rows: true class, columns: predicted).\n\n",
                       escape(results.final_incumbent));
        write_confusion(md, *artifacts.final_metrics->confusion(/*test_split=*/true));
    }
    for (const auto& phase : results.phases) write_phase(md, results, phase);

    if (!artifacts.warnings.empty()) {
        md += "## Trial files that could not be read\n\n";
        for (const auto& warning : artifacts.warnings) fmt::format_to(out, "- {}\n", escape(warning));
        md += "\n";
    }
    md += "Written by `msa report` from results.json; the charts are in report.html.\n";
    return md;
}

} // namespace msa::report

// `msa report RUN_DIR`: writes report.md and report.html again from a study folder's
// results.json and trial folders, e.g. after a newer msa improved the reports.
#include "cli/commands.hpp"

#include "report/write_reports.hpp"

#include <iostream>

namespace msa::cli {

Command add_report_command(CLI::App& app) {
    auto folder = std::make_shared<std::string>();
    CLI::App* sub = app.add_subcommand(
        "report", "Write report.md and report.html of a study folder from its results.json (see docs/studies.md)");
    sub->add_option("RUN_DIR", *folder, "The study folder, runs/<study>, holding results.json")->required();
    return {sub, [folder] {
                const auto written = report::write_reports(*folder);
                for (const auto& warning : written.warnings) std::cerr << "warning: " << warning << "\n";
                std::cout << "report: " << written.markdown.string() << "\n"
                          << "report: " << written.html.string() << "\n";
                return 0;
            }};
}

} // namespace msa::cli

// Writing a study's reports. Each file is written beside its final name and renamed, so a
// reader (or a browser reloading) never sees half a report.
#include "report/write_reports.hpp"

#include "report/html_report.hpp"
#include "report/markdown_report.hpp"
#include "report/study_artifacts.hpp"
#include "records/results_file.hpp"
#include "util/atomic_file.hpp"

#include <msa/error.hpp>

#include <fmt/format.h>

namespace msa::report {

WrittenReports write_reports(const std::filesystem::path& study_folder) {
    if (!std::filesystem::is_directory(study_folder))
        throw Error(fmt::format("{} is not a folder: expected a study folder (runs/<study>) holding results.json",
                                study_folder.string()));
    const StudyResults results = read_study_results(study_folder / "results.json");
    const StudyArtifacts artifacts = read_study_artifacts(results, study_folder);
    WrittenReports written{study_folder / "report.md", study_folder / "report.html", artifacts.warnings};
    write_file_atomically(written.markdown, markdown_report(results, artifacts));
    write_file_atomically(written.html, html_report(results, artifacts));
    return written;
}

} // namespace msa::report

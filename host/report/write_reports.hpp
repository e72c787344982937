// The study reports: report.md and report.html in a study folder, from its results.json
// and trial folders (docs/studies.md). `msa report` and `msa run` call this.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace msa::report {

struct WrittenReports {
    std::filesystem::path markdown;
    std::filesystem::path html;
    // Trial files that exist but could not be read; the reports were written without them.
    std::vector<std::string> warnings;
};

// Reads `study_folder`/results.json and the trial files it names, and writes (replacing)
// `study_folder`/report.md and report.html. Throws msa::Error when the folder or
// results.json is missing or malformed, or a report cannot be written; the message names
// the file and what is wrong.
WrittenReports write_reports(const std::filesystem::path& study_folder);

} // namespace msa::report

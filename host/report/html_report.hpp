// report.html: the report's tables and its SVG charts in one self-contained page
// (inline CSS, no scripts, nothing fetched).
#pragma once

#include "report/study_artifacts.hpp"
#include "records/results_file.hpp"

#include <string>

namespace msa::report {

// The reports read the run-folder records.
using namespace msa::records;

std::string html_report(const StudyResults& results, const StudyArtifacts& artifacts);

} // namespace msa::report

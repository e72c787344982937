// report.md: a study's results as Markdown tables, readable as plain text too.
#pragma once

#include "report/study_artifacts.hpp"
#include "records/results_file.hpp"

#include <string>

namespace msa::report {

// The reports read the run-folder records.
using namespace msa::records;

std::string markdown_report(const StudyResults& results, const StudyArtifacts& artifacts);

} // namespace msa::report

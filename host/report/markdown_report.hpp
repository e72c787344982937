// report.md: a study's results as Markdown tables, readable as plain text too.
#pragma once

#include "report/study_artifacts.hpp"
#include "report/study_results.hpp"

#include <string>

namespace msa::report {

std::string markdown_report(const StudyResults& results, const StudyArtifacts& artifacts);

} // namespace msa::report

// Messages for dataset problems.
#include "data/data_problem.hpp"

#include <algorithm>
#include <map>

namespace msa::data {
namespace {

std::string error_text(const DataProblem& p, std::size_t others, const std::string& others_summary) {
    std::string text = p.to_string();
    if (others > 0)
        text += "\n(and " + with_thousands(others) + " more problem" + (others == 1 ? "" : "s") +
                (others_summary.empty() ? "" : ": " + others_summary) + ")";
    return text;
}

} // namespace

std::string DataProblem::to_string() const {
    std::string s = file;
    if (line > 0) s += ":" + std::to_string(line);
    if (!s.empty()) s += ": ";
    if (!sample_id.empty()) s += "sample '" + sample_id + "': ";
    return s + message;
}

DatasetError::DatasetError(DataProblem problem, std::size_t others, const std::string& others_summary)
    : Error(error_text(problem, others, others_summary)), problem_(std::move(problem)) {}

std::string count_kinds(const std::vector<const DataProblem*>& problems) {
    std::map<std::string, std::size_t> counts;
    for (const DataProblem* p : problems) ++counts[p->kind];
    std::vector<std::pair<std::string, std::size_t>> sorted(counts.begin(), counts.end());
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    std::string s;
    for (const auto& [kind, n] : sorted) s += (s.empty() ? "" : ", ") + with_thousands(n) + " " + kind;
    return s;
}

std::string with_thousands(std::size_t n) {
    std::string digits = std::to_string(n), out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

} // namespace msa::data

// What is wrong with a dataset's input, said precisely enough to find and fix it.
#pragma once

#include <msa/error.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace msa::data {

struct DataProblem {
    std::string kind;      // short category, for summaries: "missing image", "empty text", ...
    std::string file;      // the list that names the sample (train.txt, labelResult.txt, *.jsonl)
    std::size_t line = 0;  // 1-based line in `file`; 0 when the problem is the file as a whole
    std::string sample_id; // empty when the line could not be read that far
    std::string message;   // what is wrong, which of the sample's own files, what would be accepted

    // "file:line: sample 'id': message"
    std::string to_string() const;
};

// A dataset that cannot be read: a missing or malformed list file (always), or the
// first bad sample when `dataset.on_error = "fail"`.
class DatasetError : public Error {
public:
    // `others` counts further problems found after the first, summarised as `others_summary`.
    explicit DatasetError(DataProblem problem, std::size_t others = 0, const std::string& others_summary = "");
    const DataProblem& problem() const noexcept { return problem_; }

private:
    DataProblem problem_;
};

// "2 missing image, 1 empty text": the problems counted by kind, most frequent first.
std::string count_kinds(const std::vector<const DataProblem*>& problems);

// "4,869": counts in messages read better with separators.
std::string with_thousands(std::size_t n);

} // namespace msa::data

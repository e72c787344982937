// What each format's list reader hands to the checks every format shares (internal to
// host/data: the readers only parse lists; dataset_reader.cpp checks the files).
#pragma once

#include "data/data_problem.hpp"

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace msa::data::detail {

// One row of a list, as written there: nothing is checked against the disk yet.
struct SampleRow {
    std::string file; // the list that names it
    std::size_t line = 0;
    std::string id;
    std::string group;                  // empty: the id (an original sample)
    std::optional<std::string> label;   // a label name; nullopt when unlabelled
    std::filesystem::path image;        // absolute
    std::filesystem::path text_file;    // absolute; empty when the text is inline
    std::optional<std::string> text;    // inline UTF-8 text (jsonl "text")
    std::optional<DataProblem> problem; // set when the row itself is malformed
};

struct RowList {
    std::vector<SampleRow> rows; // in list order; malformed rows included, with `problem`
    // Rows a format's own rules leave out on purpose (MVSA label merging), by reason.
    std::map<std::string, std::size_t> excluded;
    std::string excluded_from; // the list they were left out of, for the log line
};

// Each throws DatasetError for a list that cannot be read at all.
RowList read_guid_tag_rows(const std::filesystem::path& root);
RowList read_mvsa_rows(const std::filesystem::path& root);
RowList read_jsonl_rows(const std::filesystem::path& root);

// A problem with the row's list position and id filled in.
DataProblem row_problem(const SampleRow& row, std::string kind, std::string message);

} // namespace msa::data::detail

// Reading a dataset into Samples, by `dataset.format`, under the bad-input policy
// `dataset.on_error`: every sample is checked up front (list line, label, image header
// and end, text decoding), so a run never starts on data it would trip over later.
#pragma once

#include "data/data_problem.hpp"
#include "manifest/study.hpp"

#include <msa/sample.hpp>

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace msa::data {

struct Dataset {
    std::vector<Sample> samples;       // in list order (guid-tag: train.txt, then test_without_label.txt)
    std::vector<std::string> labels;   // class names; Sample::label indexes them
    std::string text_encoding;         // what the text files were read as ("utf-8", "gb18030", or as named)
    std::size_t listed = 0;            // rows the lists named, skipped ones included
    std::vector<DataProblem> skipped;  // one per sample left out (on_error = "skip")
    std::vector<DataProblem> warnings; // samples kept but worth a look (a PNG named .jpg)
    // Rows a format's own rules leave out on purpose (MVSA label merging), by reason.
    std::map<std::string, std::size_t> excluded;

    std::size_t labelled() const;
    std::size_t unlabelled() const;
    std::vector<std::size_t> class_counts() const; // per label index, labelled samples only
};

// Reads `config.root` as `config.format` ("guid-tag", "mvsa", "jsonl"). Warnings, and
// with on_error = "skip" each skipped sample plus a summary line ("skipped 3 of 4,012
// samples: 2 missing image, 1 empty text"), go to `log`, one line each. Throws
// DatasetError naming the first problem when on_error = "fail" and any sample is bad, or
// when a list file is missing or malformed; ConfigError for an unknown format, policy or
// encoding.
Dataset read_dataset(const DatasetConfig& config, std::ostream& log);

// The same, logging to std::cerr.
Dataset read_dataset(const DatasetConfig& config);

// One line of a `guid,tag` list read against a dataset (msa predict): the sample the
// guid names, or why it cannot be read.
struct ListedSample {
    std::size_t line = 0;               // 1-based, in the list
    std::string guid;                   // empty when the line is too malformed to tell
    std::optional<Sample> sample;       // as read_dataset reads it: same text, same encoding
    std::optional<DataProblem> problem; // set when `sample` is not; file:line are the list's
};

// Every non-blank line of `list_file` after its header, in order. A guid is looked up
// among the samples of the dataset `config` describes; in the guid-tag layout a guid that
// neither of its lists names is read from data/{guid}.jpg|txt, unlabelled (a folder with
// data/ and no train.txt is such pairs alone: new posts to predict). Samples are
// checked as read_dataset checks them, whatever `on_error` says: a bad row comes back
// with its problem (malformed line, unknown guid, missing or corrupt image, bad text),
// for the caller to report. Throws DatasetError when the list or the dataset's own lists
// cannot be read, ConfigError for a bad format, policy or encoding.
std::vector<ListedSample> read_listed_samples(const DatasetConfig& config, const std::filesystem::path& list_file,
                                              std::ostream& log);

} // namespace msa::data

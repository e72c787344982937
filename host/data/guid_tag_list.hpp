// `guid,tag` CSV lists: the mvsa-ecnu train/test lists and given split files.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace msa::data {

struct GuidTagLine {
    std::size_t line = 0; // 1-based
    std::string guid;
    std::string tag;
    std::string error; // set when the line is malformed: says what was found and expected
};

// Every non-blank line after the header, in file order; malformed lines come back with
// `error` set, so that the caller's bad-input policy decides. Throws DatasetError when
// the file cannot be read or its header is not `guid,tag`: with no trustworthy columns
// there is no single line to skip.
std::vector<GuidTagLine> read_guid_tag_list(const std::filesystem::path& file);

// True for ids that are safe inside a file name: letters, digits, '.', '_', '-', not
// starting with '.'.
bool is_path_safe_id(const std::string& id);

} // namespace msa::data

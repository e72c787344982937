// `guid,tag` CSV lists.
#include "data/guid_tag_list.hpp"

#include "data/data_problem.hpp"

#include <fstream>

namespace msa::data {
namespace {

std::string trim(const std::string& s) {
    const auto begin = s.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos) return "";
    return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

} // namespace

bool is_path_safe_id(const std::string& id) {
    if (id.empty() || id.front() == '.') return false;
    for (const char c : id)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    return true;
}

std::vector<GuidTagLine> read_guid_tag_list(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        std::error_code ec;
        throw DatasetError({"missing list", file.string(), 0, "",
                            std::filesystem::exists(file, ec) ? "cannot read the list file"
                                                              : "list file not found (a CSV with header 'guid,tag')"});
    }
    std::vector<GuidTagLine> lines;
    std::string text;
    std::size_t number = 0;
    bool header_seen = false;
    while (std::getline(in, text)) {
        ++number;
        if (number == 1 && text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3); // a UTF-8 BOM from spreadsheets
        const std::string line = trim(text);
        if (line.empty()) continue;
        const auto comma = line.find(',');
        if (!header_seen) {
            header_seen = true;
            const bool ok = comma != std::string::npos && trim(line.substr(0, comma)) == "guid" &&
                            trim(line.substr(comma + 1)) == "tag";
            if (!ok)
                throw DatasetError(
                    {"bad header", file.string(), number, "",
                     "the header is '" + line + "'; expected 'guid,tag' (one id and one label per line)"});
            continue;
        }
        GuidTagLine row;
        row.line = number;
        if (comma == std::string::npos) {
            row.guid = line;
            row.error = "malformed line '" + line + "': expected 'guid,tag' (2 fields), found 1 field";
        } else if (line.find(',', comma + 1) != std::string::npos) {
            row.guid = trim(line.substr(0, comma));
            std::size_t fields = 1;
            for (const char c : line) fields += c == ',';
            row.error = "malformed line '" + line + "': expected 'guid,tag' (2 fields), found " +
                        std::to_string(fields) + " fields";
        } else {
            row.guid = trim(line.substr(0, comma));
            row.tag = trim(line.substr(comma + 1));
            if (!is_path_safe_id(row.guid))
                row.error =
                    "malformed line '" + line + "': the guid '" + row.guid +
                    "' must be non-empty and use only letters, digits, '.', '_' and '-' (it names the sample's files)";
        }
        if (!row.error.empty() && !is_path_safe_id(row.guid)) row.guid.clear();
        lines.push_back(std::move(row));
    }
    if (!header_seen)
        throw DatasetError({"bad header", file.string(), 0, "",
                            "the list is empty; expected the header 'guid,tag' and one line per sample"});
    return lines;
}

} // namespace msa::data

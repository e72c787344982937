// The original MVSA layout: labelResult.txt (tab-separated: `ID` then one `text,image`
// label pair per annotator; one annotator in MVSA-Single, three in MVSA-Multiple) and
// data/{ID}.jpg, data/{ID}.txt.
//
// Labels are merged as the MVSA literature does (Niu et al. 2016; Xu & Mao 2017 and the
// papers that reuse their preprocessing):
//   1. Per annotator, text and image labels merge: equal -> that label; one neutral and
//      one positive/negative -> the non-neutral one; positive vs negative -> no label
//      from this annotator.
//   2. One annotator (MVSA-Single): the merged label, or the row is left out.
//      Several (MVSA-Multiple): the merged label that more than half of ALL annotators
//      gave (2 of 3); an annotator without a merged label votes for nothing. No
//      majority -> the row is left out.
// Rows left out by these rules are not problems: they are counted per reason and
// logged, the way papers report "4,511 of 5,129 pairs kept".
#include "data/guid_tag_list.hpp"
#include "data/sample_rows.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>

namespace msa::data::detail {
namespace {

const std::vector<std::string> kMvsaLabels{"positive", "neutral", "negative"};

std::string trim(const std::string& s) {
    const auto begin = s.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos) return "";
    return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

std::vector<std::string> split_tabs(const std::string& line) {
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (;;) {
        const auto tab = line.find('\t', start);
        fields.push_back(trim(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start)));
        if (tab == std::string::npos) return fields;
        start = tab + 1;
    }
}

// Step 1 above; nullopt for positive vs negative.
std::optional<std::string> merge_pair(const std::string& text, const std::string& image) {
    if (text == image) return text;
    if (text == "neutral") return image;
    if (image == "neutral") return text;
    return std::nullopt;
}

} // namespace

RowList read_mvsa_rows(const std::filesystem::path& root) {
    namespace fs = std::filesystem;
    const fs::path file = root / "labelResult.txt";
    const fs::path data = root / "data";
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        std::error_code ec;
        throw DatasetError({"missing list", file.string(), 0, "",
                            fs::exists(file, ec) ? "cannot read the list file"
                                                 : "labelResult.txt not found (format \"mvsa\": tab-separated 'ID' and "
                                                   "one 'text,image' label pair per annotator)"});
    }
    RowList list;
    list.excluded_from = file.string();
    std::size_t annotators = 0; // from the header, else from the first row
    std::string text;
    std::size_t number = 0;
    while (std::getline(in, text)) {
        ++number;
        if (number == 1 && text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
        if (trim(text).empty()) continue;
        const std::vector<std::string> fields = split_tabs(text);
        if (lower(fields[0]) == "id" && list.rows.empty() && annotators == 0) {
            if (fields.size() < 2)
                throw DatasetError({"bad header", file.string(), number, "",
                                    "the header '" + trim(text) +
                                        "' names no annotator; expected 'ID\\ttext,image' "
                                        "(MVSA-Single) or 'ID' and three 'text,image' columns (MVSA-Multiple)"});
            annotators = fields.size() - 1;
            continue;
        }
        if (annotators == 0) annotators = std::max<std::size_t>(1, fields.size() - 1);

        SampleRow row;
        row.file = file.string();
        row.line = number;
        row.id = is_path_safe_id(fields[0]) ? fields[0] : "";
        row.image = data / (fields[0] + ".jpg");
        row.text_file = data / (fields[0] + ".txt");
        const auto malformed = [&](const std::string& why) {
            row.problem = row_problem(row, "malformed line", "malformed line: " + why);
            list.rows.push_back(std::move(row));
        };
        if (row.id.empty()) {
            malformed("the ID '" + fields[0] + "' must be non-empty and use only letters, digits, '.', '_' and '-'");
            continue;
        }
        if (fields.size() != annotators + 1) {
            malformed("expected the ID and " + std::to_string(annotators) + " tab-separated 'text,image' pair" +
                      (annotators == 1 ? "" : "s") + ", found " + std::to_string(fields.size()) + " fields");
            continue;
        }
        std::vector<std::optional<std::string>> merged;
        std::string bad;
        for (std::size_t a = 1; a <= annotators && bad.empty(); ++a) {
            const auto comma = fields[a].find(',');
            if (comma == std::string::npos || fields[a].find(',', comma + 1) != std::string::npos) {
                bad = "annotator " + std::to_string(a) + " gives '" + fields[a] +
                      "'; expected 'text,image', e.g. 'positive,neutral'";
                break;
            }
            const std::string t = lower(trim(fields[a].substr(0, comma))), i = lower(trim(fields[a].substr(comma + 1)));
            for (const std::string& label : {t, i})
                if (std::find(kMvsaLabels.begin(), kMvsaLabels.end(), label) == kMvsaLabels.end())
                    bad = "annotator " + std::to_string(a) + " gives the label '" + label +
                          "'; MVSA labels are positive, neutral and negative";
            merged.push_back(merge_pair(t, i));
        }
        if (!bad.empty()) {
            row.problem = row_problem(row, "unknown label", bad);
            list.rows.push_back(std::move(row));
            continue;
        }
        if (annotators == 1) {
            if (!merged[0]) {
                ++list.excluded["text and image labels conflict (positive vs negative)"];
                continue;
            }
            row.label = *merged[0];
        } else {
            std::optional<std::string> winner;
            for (const std::string& label : kMvsaLabels) {
                const auto votes = std::count(merged.begin(), merged.end(), std::optional<std::string>(label));
                if (std::size_t(votes) * 2 > annotators) winner = label;
            }
            if (!winner) {
                ++list.excluded["no majority among the annotators"];
                continue;
            }
            row.label = *winner;
        }
        list.rows.push_back(std::move(row));
    }
    if (number == 0)
        throw DatasetError({"bad header", file.string(), 0, "",
                            "labelResult.txt is empty; expected 'ID\\ttext,image' and one line per sample"});
    return list;
}

} // namespace msa::data::detail

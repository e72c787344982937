// The `guid-tag` layout (mvsa-ecnu): train.txt (labelled) and test_without_label.txt
// (tag `null`, optional), CSV with header `guid,tag`; data/{guid}.jpg and data/{guid}.txt.
#include "data/guid_tag_list.hpp"
#include "data/sample_rows.hpp"

namespace msa::data::detail {

RowList read_guid_tag_rows(const std::filesystem::path& root) {
    namespace fs = std::filesystem;
    const fs::path data = root / "data";
    RowList list;
    const auto add_list = [&](const fs::path& file, bool labelled) {
        for (GuidTagLine& line : read_guid_tag_list(file)) {
            SampleRow row;
            row.file = file.string();
            row.line = line.line;
            row.id = line.guid;
            row.image = data / (line.guid + ".jpg");
            row.text_file = data / (line.guid + ".txt");
            if (!line.error.empty()) {
                row.problem = row_problem(row, "malformed line", line.error);
            } else if (labelled) {
                row.label = line.tag; // "null" here is reported as an unknown label
            } else if (line.tag != "null" && !line.tag.empty()) {
                row.problem =
                    row_problem(row, "unexpected label",
                                "tag '" + line.tag + "' in " + file.filename().string() +
                                    ", whose rows are unlabelled: expected 'null' (labelled rows belong in train.txt)");
            }
            list.rows.push_back(std::move(row));
        }
    };
    add_list(root / "train.txt", true);
    std::error_code ec;
    if (fs::exists(root / "test_without_label.txt", ec)) add_list(root / "test_without_label.txt", false);
    return list;
}

} // namespace msa::data::detail

// The `jsonl` layout: one JSON object per line,
//   {"id": "...", "text": "..." | "text_file": "...", "image": "...", "label": "positive" | null}
// with an optional "group" (the source id of an augmented copy). `dataset.root` is a
// .jsonl file, or a folder whose *.jsonl files are read in name order; relative paths
// are relative to the folder of the file that states them.
#include "data/sample_rows.hpp"
#include "util/suggest.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

namespace msa::data::detail {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kKeys{"id", "text", "text_file", "image", "label", "group"};

// Ids end up in `guid,tag` prediction files: no separators or control characters.
bool is_csv_safe_id(const std::string& id) {
    if (id.empty() || id.front() == ' ' || id.back() == ' ') return false;
    return std::none_of(id.begin(), id.end(), [](char c) { return c == ',' || static_cast<unsigned char>(c) < 0x20; });
}

std::vector<fs::path> jsonl_files(const fs::path& root) {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) return {root};
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(root, ec))
        if (entry.path().extension() == ".jsonl" && entry.is_regular_file(ec)) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    if (files.empty())
        throw DatasetError({"missing list", root.string(), 0, "",
                            "no *.jsonl file in the dataset folder (format \"jsonl\": one JSON object per line, or "
                            "set dataset.root to the .jsonl file itself)"});
    return files;
}

void read_file(const fs::path& file, RowList& list) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw DatasetError({"missing list", file.string(), 0, "", "cannot read the .jsonl file"});
    const fs::path base = file.parent_path();
    std::string text;
    std::size_t number = 0;
    while (std::getline(in, text)) {
        ++number;
        if (number == 1 && text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
        if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
        SampleRow row;
        row.file = file.string();
        row.line = number;
        const auto malformed = [&](const std::string& why) {
            row.problem = row_problem(row, "malformed line", why);
            list.rows.push_back(std::move(row));
        };
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(text);
        } catch (const nlohmann::json::parse_error& e) {
            malformed("not valid JSON at byte " + std::to_string(e.byte) +
                      "; expected one object per line, e.g. {\"id\": \"1\", \"text\": \"...\", \"image\": \"1.jpg\", "
                      "\"label\": \"positive\"}");
            continue;
        } catch (const nlohmann::json::exception& e) {
            // out_of_range: a number beyond a double (1e400), which has no position.
            malformed(std::string("not valid JSON: ") + e.what() + "; numbers must fit a double");
            continue;
        }
        if (!j.is_object()) {
            malformed(std::string("a JSON ") + j.type_name() +
                      " where an object is expected ({\"id\": ..., \"text\": ..., \"image\": ..., \"label\": ...})");
            continue;
        }
        // The id first, so that later complaints can name the sample.
        if (const auto id = j.find("id"); id != j.end()) {
            if (id->is_string())
                row.id = id->get<std::string>();
            else if (id->is_number_integer())
                row.id = id->dump();
        }
        std::string why;
        for (const auto& [key, value] : j.items()) {
            (void)value;
            if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
                why = "unknown key '" + key + "'" + did_you_mean(key, kKeys) + "; accepted: " + join(kKeys);
                break;
            }
        }
        const auto string_field = [&](const char* key, bool required) -> std::optional<std::string> {
            const auto it = j.find(key);
            if (it == j.end() || it->is_null()) {
                if (required && why.empty()) why = std::string("missing \"") + key + "\"";
                return std::nullopt;
            }
            if (!it->is_string()) {
                if (why.empty()) why = std::string("\"") + key + "\" must be a string, found " + it->type_name();
                return std::nullopt;
            }
            return it->get<std::string>();
        };
        const auto id_value = j.find("id");
        if (why.empty() && id_value == j.end())
            why = "missing \"id\"";
        else if (why.empty() && row.id.empty())
            why = "\"id\" must be a non-empty string or an integer";
        else if (why.empty() && !is_csv_safe_id(row.id))
            why = "the id '" + row.id + "' may not contain ',', control characters, or leading/trailing spaces";
        const auto image = string_field("image", true);
        const auto inline_text = string_field("text", false);
        const auto text_file = string_field("text_file", false);
        const auto label = string_field("label", false);
        const auto group = string_field("group", false);
        if (why.empty() && inline_text && text_file) why = "both \"text\" and \"text_file\"; give one of them";
        if (why.empty() && !inline_text && !text_file) why = "missing \"text\" (or \"text_file\", a path to the text)";
        if (why.empty() && image && image->empty()) why = "\"image\" is empty; expected a path to a JPEG or PNG file";
        if (why.empty() && text_file && text_file->empty())
            why = "\"text_file\" is empty; expected a path to a text file";
        if (!why.empty()) {
            malformed(why);
            continue;
        }
        row.image = (base / *image).lexically_normal();
        if (text_file) row.text_file = (base / *text_file).lexically_normal();
        row.text = inline_text;
        row.label = label;
        if (group) row.group = *group;
        list.rows.push_back(std::move(row));
    }
}

} // namespace

RowList read_jsonl_rows(const fs::path& root) {
    RowList list;
    for (const fs::path& file : jsonl_files(root)) read_file(file, list);
    return list;
}

} // namespace msa::data::detail

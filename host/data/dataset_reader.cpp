// Reading a dataset: the checks every format shares, the encoding choice, the policy.
#include "data/dataset_reader.hpp"

#include "data/guid_tag_list.hpp"
#include "data/sample_rows.hpp"
#include "util/suggest.hpp"

#include <msa/media/image.hpp>
#include <msa/media/text.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <unordered_map>

namespace msa::data {
namespace detail {

DataProblem row_problem(const SampleRow& row, std::string kind, std::string message) {
    return {std::move(kind), row.file, row.line, row.id, std::move(message)};
}

} // namespace detail

namespace {

namespace fs = std::filesystem;
using detail::SampleRow;

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

bool is_blank(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); });
}

bool is_ascii(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x80; });
}

std::optional<media::ImageFormat> format_named_by(const fs::path& path) {
    const std::string ext = lower(path.extension().string());
    if (ext == ".jpg" || ext == ".jpeg" || ext == ".jpe" || ext == ".jfif") return media::ImageFormat::jpeg;
    if (ext == ".png") return media::ImageFormat::png;
    return std::nullopt;
}

// The image check: header and end only (probe_image), never a full decode.
std::optional<DataProblem> check_image(const SampleRow& row, std::size_t index,
                                       std::vector<std::pair<std::size_t, DataProblem>>& warnings) {
    std::error_code ec;
    if (!fs::exists(row.image, ec))
        return detail::row_problem(row, "missing image", "image not found: " + row.image.string());
    media::ImageInfo info;
    try {
        info = media::probe_image(row.image.string());
    } catch (const Error& e) {
        // probe_image says "<path>: <kind>: <reason>"; the kind names the summary's category.
        const std::string what = e.what();
        const std::string rest =
            what.rfind(row.image.string() + ": ", 0) == 0 ? what.substr(row.image.string().size() + 2) : what;
        std::string kind = "unreadable image";
        if (rest.rfind("truncated", 0) == 0)
            kind = "truncated image";
        else if (rest.rfind("corrupt", 0) == 0)
            kind = "corrupt image";
        else if (rest.rfind("not an image", 0) == 0)
            kind = "not an image";
        return detail::row_problem(row, kind, "image " + what);
    }
    const auto named = format_named_by(row.image);
    if (info.format != media::ImageFormat::jpeg && info.format != media::ImageFormat::png) {
        return detail::row_problem(row, "unsupported image format",
                                   "image " + row.image.string() + " is " + media::to_string(info.format) +
                                       (named ? std::string(" though named ") + row.image.extension().string() : "") +
                                       "; JPEG and PNG are accepted (convert it, e.g. with `convert in.gif out.png`)");
    }
    if (named && *named != info.format)
        warnings.emplace_back(index, detail::row_problem(row, "image named as another format",
                                                         "image " + row.image.string() + " is " +
                                                             media::to_string(info.format) + " though named " +
                                                             row.image.extension().string() +
                                                             "; kept, since both JPEG and PNG decode"));
    return std::nullopt;
}

// The bytes of a text file, or the problem with it.
std::optional<DataProblem> load_text(const SampleRow& row, std::string& bytes) {
    std::error_code ec;
    const fs::file_status status = fs::status(row.text_file, ec);
    if (!fs::exists(status))
        return detail::row_problem(row, "missing text", "text file not found: " + row.text_file.string());
    // A folder or a device (/dev/zero) is no text file: reading one fails or never ends.
    if (!fs::is_regular_file(status))
        return detail::row_problem(row, "unreadable text",
                                   "the text file " + row.text_file.string() + " is " +
                                       (fs::is_directory(status) ? "a folder" : "not a regular file") +
                                       "; expected a file holding the post's text");
    std::ifstream in(row.text_file, std::ios::binary);
    if (!in) return detail::row_problem(row, "unreadable text", "cannot read the text file " + row.text_file.string());
    // Copied by the stream, not by a streambuf iterator: libstdc++'s filebuf throws on a
    // read error, and only the stream catches it. A short copy is the sign of one.
    std::ostringstream content;
    content << in.rdbuf();
    bytes = std::move(content).str();
    if (const auto size = fs::file_size(row.text_file, ec); ec || bytes.size() != size)
        return detail::row_problem(row, "unreadable text",
                                   "reading the text file " + row.text_file.string() + " failed after " +
                                       std::to_string(bytes.size()) + " bytes");
    return std::nullopt;
}

void trim_trailing_newline(std::string& text) {
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (!text.empty() && text.back() == '\r') text.pop_back();
}

detail::RowList read_rows(const std::string& format, const fs::path& root) {
    if (format == "guid-tag") return detail::read_guid_tag_rows(root);
    if (format == "mvsa") return detail::read_mvsa_rows(root);
    if (format == "jsonl") return detail::read_jsonl_rows(root);
    throw ConfigError("", "unknown dataset.format '" + format + "'" +
                              did_you_mean(format, {"guid-tag", "mvsa", "jsonl"}) +
                              "; accepted: guid-tag, mvsa, jsonl");
}

} // namespace

std::size_t Dataset::labelled() const {
    return std::size_t(std::count_if(samples.begin(), samples.end(), [](const Sample& s) { return s.label >= 0; }));
}

std::size_t Dataset::unlabelled() const { return samples.size() - labelled(); }

std::vector<std::size_t> Dataset::class_counts() const {
    std::vector<std::size_t> counts(labels.size(), 0);
    for (const Sample& s : samples)
        if (s.label >= 0 && std::size_t(s.label) < counts.size()) ++counts[std::size_t(s.label)];
    return counts;
}

Dataset read_dataset(const DatasetConfig& config) { return read_dataset(config, std::cerr); }

namespace {

// The dataset-wide settings checked before any file is read; returns the encoding, lowercased.
std::string checked_encoding(const DatasetConfig& config) {
    if (config.on_error != "fail" && config.on_error != "skip")
        throw ConfigError("", "unknown dataset.on_error '" + config.on_error + "'; accepted: fail, skip");
    if (config.labels.size() < 2) throw ConfigError("", "dataset.labels needs at least two class names");
    const std::string encoding = lower(config.encoding);
    if (encoding != "auto") {
        try {
            media::decode_text("", encoding); // an unknown name fails here, before any file is read
        } catch (const Error& e) {
            throw ConfigError("", std::string("dataset.encoding: ") + e.what());
        }
    }
    return encoding;
}

// What the checks every format shares made of each row: its first problem, or its
// label index and UTF-8 text.
struct CheckedRows {
    std::vector<std::optional<DataProblem>> problems;
    std::vector<int> labels;
    std::vector<std::string> texts;
    std::vector<std::pair<std::size_t, DataProblem>> warnings; // with their row, in row order
    std::string encoding; // what the text files were read as
};

// Checks `rows` (list position, unique id, label, image, text). The "auto" encoding is
// decided by the first `voters` rows alone, so that rows read besides a dataset's own
// lists (msa predict) decode exactly as the dataset does.
CheckedRows check_rows(const DatasetConfig& config, const std::string& encoding, const std::vector<SampleRow>& rows,
                       std::size_t voters, std::ostream& log) {
    CheckedRows checked;
    auto& problems = checked.problems;
    auto& warnings = checked.warnings;
    problems.resize(rows.size());
    checked.labels.assign(rows.size(), -1);
    checked.texts.resize(rows.size());
    std::vector<std::string> bytes(rows.size());

    // List-level checks, the sample's image, its text bytes: the first problem per row.
    std::unordered_map<std::string, std::size_t> first_row;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const SampleRow& row = rows[i];
        auto& problem = problems[i];
        problem = row.problem;
        const auto [it, fresh] = row.id.empty() ? std::pair{first_row.end(), false} : first_row.emplace(row.id, i);
        if (!problem && !row.id.empty() && !fresh) {
            const SampleRow& first = rows[it->second];
            problem = detail::row_problem(row, "duplicate id",
                                          "duplicate id '" + row.id + "', first listed at " + first.file + ":" +
                                              std::to_string(first.line) + "; every id must be unique");
        }
        if (!problem && row.label) {
            const auto label = std::find(config.labels.begin(), config.labels.end(), *row.label);
            if (label != config.labels.end()) {
                checked.labels[i] = int(label - config.labels.begin());
            } else {
                std::string message = "unknown label '" + *row.label + "'" + did_you_mean(*row.label, config.labels) +
                                      "; accepted: " + join(config.labels) + " (dataset.labels)";
                if (config.format == "guid-tag" && (*row.label == "null" || row.label->empty()))
                    message += "; unlabelled rows belong in test_without_label.txt";
                else if (config.format == "jsonl" && *row.label == "null")
                    message += "; an unlabelled sample has \"label\": null, not the string \"null\"";
                problem = detail::row_problem(row, "unknown label", message);
            }
        }
        if (!problem) problem = check_image(row, i, warnings);
        if (!problem && !row.text_file.empty()) problem = load_text(row, bytes[i]);
    }

    // Encoding "auto" is decided for the dataset as a whole, not file by file: a short
    // GBK text can be valid UTF-8 by accident (mvsa-ecnu 3323 and 4499), and only the
    // other texts of the same dataset tell. ASCII-only texts read the same either way.
    std::size_t utf8 = 0, not_utf8 = 0;
    for (std::size_t i = 0; i < std::min(voters, rows.size()); ++i)
        if (!problems[i] && !rows[i].text_file.empty() && !is_ascii(bytes[i]))
            ++(media::is_valid_utf8(bytes[i]) ? utf8 : not_utf8);
    std::string read_as = encoding;
    if (encoding == "auto") {
        read_as = not_utf8 > utf8 ? "gb18030" : "utf-8";
        if (not_utf8 > 0)
            log << "note: texts read as " << (not_utf8 > utf8 ? "GB18030" : "UTF-8")
                << " (dataset.encoding = \"auto\": " << with_thousands(not_utf8) << " of "
                << with_thousands(utf8 + not_utf8) << " non-ASCII texts are not valid UTF-8"
                << (not_utf8 > utf8 ? "" : "; those fall back to GB18030, each with a warning") << ")\n";
    }
    checked.encoding = read_as;

    auto& texts = checked.texts;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (problems[i]) continue;
        const SampleRow& row = rows[i];
        if (row.text_file.empty()) {
            texts[i] = row.text.value_or("");
            if (is_blank(texts[i])) problems[i] = detail::row_problem(row, "empty text", "\"text\" is empty");
            continue;
        }
        try {
            if (encoding == "auto" && is_ascii(bytes[i])) {
                texts[i] = std::move(bytes[i]); // the same in UTF-8 and GB18030
            } else if (encoding == "auto" && read_as == "utf-8" && !media::is_valid_utf8(bytes[i])) {
                texts[i] = media::decode_text(bytes[i], "gb18030");
                warnings.emplace_back(
                    i, detail::row_problem(row, "text read as GB18030",
                                           "text file " + row.text_file.string() +
                                               " is not valid UTF-8 unlike most texts here; read as GB18030"));
            } else if (encoding == "auto" && read_as == "gb18030" && media::is_valid_utf8(bytes[i]) &&
                       !is_ascii(bytes[i])) {
                try {
                    texts[i] = media::decode_text(bytes[i], "gb18030");
                } catch (const Error&) { // valid UTF-8 but impossible as GB18030: it was UTF-8 after all
                    texts[i] = media::decode_text(bytes[i], "utf-8");
                    warnings.emplace_back(
                        i, detail::row_problem(row, "text read as UTF-8",
                                               "text file " + row.text_file.string() +
                                                   " is not valid GB18030 unlike most texts here; read as UTF-8"));
                }
            } else {
                texts[i] = media::decode_text(bytes[i], read_as);
            }
        } catch (const Error& e) {
            problems[i] =
                detail::row_problem(row, "undecodable text", "text file " + row.text_file.string() + ": " + e.what());
            continue;
        }
        trim_trailing_newline(texts[i]);
        if (is_blank(texts[i]))
            problems[i] = detail::row_problem(
                row, "empty text", "text file " + row.text_file.string() + " holds no text (empty or only whitespace)");
    }

    // In list order, whichever check raised them.
    std::stable_sort(warnings.begin(), warnings.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return checked;
}

Sample make_sample(const SampleRow& row, std::string text, int label) {
    return {row.id, std::move(text), row.image.string(), label, row.group.empty() ? row.id : row.group};
}

} // namespace

Dataset read_dataset(const DatasetConfig& config, std::ostream& log) {
    const std::string encoding = checked_encoding(config);
    const bool skip = config.on_error == "skip";
    const fs::path root = fs::absolute(config.root).lexically_normal();

    detail::RowList list = read_rows(config.format, root);
    const std::vector<SampleRow>& rows = list.rows;
    CheckedRows checked = check_rows(config, encoding, rows, rows.size(), log);
    const auto& problems = checked.problems;
    Dataset dataset;
    dataset.labels = config.labels;
    dataset.listed = rows.size();
    dataset.excluded = list.excluded;
    dataset.text_encoding = checked.encoding;

    for (auto& [row, warning] : checked.warnings) {
        log << "warning: " << warning.to_string() << "\n";
        dataset.warnings.push_back(std::move(warning));
    }
    if (!list.excluded.empty()) {
        std::size_t total = 0;
        std::string reasons;
        for (const auto& [reason, n] : list.excluded) {
            total += n;
            reasons += (reasons.empty() ? "" : ", ") + with_thousands(n) + " " + reason;
        }
        log << "note: " << list.excluded_from << ": " << with_thousands(total) << (total == 1 ? " row" : " rows")
            << " left out by the MVSA label-merging rules: " << reasons << "\n";
    }

    std::vector<const DataProblem*> found;
    for (const auto& p : problems)
        if (p) found.push_back(&*p);
    if (!found.empty() && !skip) {
        const std::vector<const DataProblem*> others(found.begin() + 1, found.end());
        DataProblem first = *found.front();
        first.message += " [dataset.on_error = \"skip\" would leave such samples out and list them]";
        throw DatasetError(std::move(first), others.size(), count_kinds(others));
    }
    for (const DataProblem* p : found) {
        log << "skipped: " << p->to_string() << "\n";
        dataset.skipped.push_back(*p);
    }
    if (!found.empty())
        log << "skipped " << with_thousands(found.size()) << " of " << with_thousands(rows.size())
            << " samples: " << count_kinds(found) << "\n";

    dataset.samples.reserve(rows.size() - found.size());
    for (std::size_t i = 0; i < rows.size(); ++i)
        if (!problems[i])
            dataset.samples.push_back(make_sample(rows[i], std::move(checked.texts[i]), checked.labels[i]));
    return dataset;
}

std::vector<ListedSample> read_listed_samples(const DatasetConfig& config, const fs::path& list_file,
                                              std::ostream& log) {
    const std::string encoding = checked_encoding(config);
    const fs::path root = fs::absolute(config.root).lexically_normal();
    // Predicting needs no labelled list: a guid-tag folder of new posts may hold data/ alone.
    std::error_code ec;
    const bool pairs_only = config.format == "guid-tag" && fs::is_directory(root / "data", ec) &&
                            !fs::exists(root / "train.txt", ec);
    std::vector<SampleRow> rows = pairs_only ? std::vector<SampleRow>{} : read_rows(config.format, root).rows;
    const std::size_t dataset_rows = rows.size();
    std::unordered_map<std::string, std::size_t> row_of; // the first row of each id
    for (std::size_t i = 0; i < rows.size(); ++i)
        if (!rows[i].id.empty()) row_of.emplace(rows[i].id, i);

    const std::string list_name = list_file.string();
    std::vector<ListedSample> listed;
    std::vector<std::optional<std::size_t>> row_of_line; // per listed line: its row, if any
    for (const GuidTagLine& line : read_guid_tag_list(list_file)) {
        ListedSample& entry = listed.emplace_back();
        entry.line = line.line;
        entry.guid = line.guid;
        std::optional<std::size_t>& row = row_of_line.emplace_back();
        if (!line.error.empty()) {
            entry.problem = DataProblem{"malformed line", list_name, line.line, line.guid, line.error};
        } else if (const auto it = row_of.find(line.guid); it != row_of.end()) {
            row = it->second;
        } else if (config.format == "guid-tag") {
            // A pair in data/ that neither list names (mvsa-ecnu has 857) is read like a
            // listed one, unlabelled.
            SampleRow extra;
            extra.file = list_name;
            extra.line = line.line;
            extra.id = line.guid;
            extra.image = root / "data" / (line.guid + ".jpg");
            extra.text_file = root / "data" / (line.guid + ".txt");
            if (!fs::exists(extra.image, ec) && !fs::exists(extra.text_file, ec)) {
                entry.problem = DataProblem{"unknown guid", list_name, line.line, line.guid,
                                            "no sample '" + line.guid + "' in the dataset " + root.string() +
                                                (pairs_only ? ": it has no train.txt, and data/"
                                                            : ": train.txt and test_without_label.txt do not list "
                                                              "it and data/") +
                                                line.guid + ".jpg and data/" + line.guid + ".txt do not exist"};
                continue;
            }
            row = rows.size();
            row_of.emplace(line.guid, rows.size());
            rows.push_back(std::move(extra));
        } else {
            entry.problem = DataProblem{"unknown guid", list_name, line.line, line.guid,
                                        "no sample '" + line.guid + "' in the dataset " + root.string() + " (format " +
                                            config.format + ")"};
        }
    }

    // Every row of the dataset is checked, not only the listed ones: the encoding is the
    // dataset's choice, and only all of its texts make it.
    CheckedRows checked = check_rows(config, encoding, rows, dataset_rows, log);
    std::vector<bool> used(rows.size(), false);
    for (const auto& row : row_of_line)
        if (row) used[*row] = true;
    for (const auto& [row, warning] : checked.warnings)
        if (used[row]) log << "warning: " << warning.to_string() << "\n";
    for (std::size_t k = 0; k < listed.size(); ++k) {
        const auto& row = row_of_line[k];
        if (!row) continue;
        if (const auto& problem = checked.problems[*row])
            // Said at the list's line, where the reader will look.
            listed[k].problem = DataProblem{problem->kind, list_name, listed[k].line, listed[k].guid, problem->message};
        else
            listed[k].sample = make_sample(rows[*row], checked.texts[*row], checked.labels[*row]);
    }
    return listed;
}

} // namespace msa::data

// Reading a dataset: the checks every format shares, the encoding choice, the policy.
#include "data/dataset_reader.hpp"

#include "data/sample_rows.hpp"
#include "util/suggest.hpp"

#include <msa/media/image.hpp>
#include <msa/media/text.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>
#include <iterator>
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

// "2 missing image, 1 empty text": most frequent first.
std::string count_kinds(const std::vector<const DataProblem*>& problems) {
    std::map<std::string, std::size_t> counts;
    for (const DataProblem* p : problems) ++counts[p->kind];
    std::vector<std::pair<std::string, std::size_t>> sorted(counts.begin(), counts.end());
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    std::string s;
    for (const auto& [kind, n] : sorted) s += (s.empty() ? "" : ", ") + with_thousands(n) + " " + kind;
    return s;
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
    if (!fs::exists(row.text_file, ec))
        return detail::row_problem(row, "missing text", "text file not found: " + row.text_file.string());
    std::ifstream in(row.text_file, std::ios::binary);
    if (!in) return detail::row_problem(row, "unreadable text", "cannot read the text file " + row.text_file.string());
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
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

Dataset read_dataset(const DatasetConfig& config, std::ostream& log) {
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
    const bool skip = config.on_error == "skip";
    const fs::path root = fs::absolute(config.root).lexically_normal();

    detail::RowList list = read_rows(config.format, root);
    std::vector<SampleRow>& rows = list.rows;
    std::vector<std::optional<DataProblem>> problems(rows.size());
    std::vector<int> labels(rows.size(), -1);
    std::vector<std::string> bytes(rows.size());
    Dataset dataset;
    dataset.labels = config.labels;
    dataset.listed = rows.size();
    dataset.excluded = list.excluded;

    // List-level checks, the sample's image, its text bytes: the first problem per row.
    std::vector<std::pair<std::size_t, DataProblem>> warnings; // with their row
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
                labels[i] = int(label - config.labels.begin());
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
    for (std::size_t i = 0; i < rows.size(); ++i)
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
    dataset.text_encoding = read_as;

    std::vector<std::string> texts(rows.size());
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
    for (auto& [row, warning] : warnings) {
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
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (problems[i]) continue;
        SampleRow& row = rows[i];
        Sample sample;
        sample.id = row.id;
        sample.text = std::move(texts[i]);
        sample.image_path = row.image.string();
        sample.label = labels[i];
        sample.group = row.group.empty() ? row.id : row.group;
        dataset.samples.push_back(std::move(sample));
    }
    return dataset;
}

} // namespace msa::data

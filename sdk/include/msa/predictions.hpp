// A trial's predictions (predictions.csv in its run folder), with the one writer the host
// uses and the one reader everything else uses, and the hard samples among a pool.
//
// predictions.csv: header `id,split,label,predicted,p_<class>...` with one p_ column per
// class of the study (any order when read); label and predicted are class names (label
// empty for unlabelled rows), p_* probabilities in [0, 1]. Fields may be double-quoted
// ("" inside quotes is a quote).
#pragma once

#include <msa/error.hpp>
#include <msa/sample.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace msa {

// One row: a sample's split, its label and the predicted class (indices into the study's
// classes; -1 for no label) and the probability of every class.
struct Prediction {
    std::string id;
    std::string split; // train, valid, test, augmented, unlabelled or unused
    int label = -1;
    int predicted = -1;
    std::vector<double> probabilities; // by class index
    std::size_t line = 0;              // in the file it was read from (0 when not read)
};

struct Predictions {
    std::vector<std::string> labels; // the study's classes, in class-index order
    std::vector<Prediction> rows;
    std::string source; // the file read, for messages; empty when built in memory

    // The row of `id`, or nullptr.
    const Prediction* find(const std::string& id) const {
        for (const auto& row : rows)
            if (row.id == id) return &row;
        return nullptr;
    }
};

// A CSV field, quoted when it holds a comma, a quote or a line break.
inline std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

namespace detail {

// One line of CSV: fields, or why it cannot be read.
inline std::optional<std::string> split_csv(const std::string& line, std::vector<std::string>& fields) {
    fields.assign(1, std::string{});
    bool quoted = false, was_quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c != '"') fields.back() += c;
            else if (i + 1 < line.size() && line[i + 1] == '"') fields.back() += '"', ++i;
            else quoted = false;
        } else if (c == ',') {
            fields.emplace_back();
            was_quoted = false;
        } else if (c == '"' && fields.back().empty() && !was_quoted) {
            quoted = was_quoted = true;
        } else if (was_quoted) {
            return "text after a closing quote in field " + std::to_string(fields.size());
        } else {
            fields.back() += c;
        }
    }
    if (quoted) return "a quoted field is not closed (field " + std::to_string(fields.size()) + ")";
    return std::nullopt;
}

inline std::string join_names(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
}

} // namespace detail

// predictions.csv's text. A row's `predicted` is written as given.
inline std::string predictions_csv(const Predictions& predictions) {
    std::ostringstream out;
    out << "id,split,label,predicted";
    for (const auto& name : predictions.labels) out << ",p_" << name;
    out << "\n";
    const auto name_of = [&](int c) { return c >= 0 ? predictions.labels.at(static_cast<std::size_t>(c)) : ""; };
    for (const auto& row : predictions.rows) {
        out << csv_field(row.id) << "," << row.split << "," << name_of(row.label) << ","
            << name_of(row.predicted);
        for (double p : row.probabilities) out << "," << static_cast<float>(p);
        out << "\n";
    }
    return out.str();
}

// Reads `file` (predictions.csv, or a run folder that holds one), checked line by line
// against the study's classes `labels`. Every problem is an Error with file:line.
inline Predictions read_predictions(std::filesystem::path file, const std::vector<std::string>& labels) {
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) file /= "predictions.csv";
    std::ifstream in(file);
    if (!in) throw Error("cannot read " + file.string() + " (an earlier trial's predictions.csv or its run folder)");
    const std::string name = file.string();
    const auto fail = [&](std::size_t line, const std::string& message) {
        return Error(name + ":" + std::to_string(line) + ": " + message);
    };
    const auto class_index = [&](const std::string& label) {
        const auto it = std::find(labels.begin(), labels.end(), label);
        return it == labels.end() ? -1 : static_cast<int>(it - labels.begin());
    };

    std::string line;
    std::vector<std::string> fields;
    if (!std::getline(in, line)) throw fail(1, "the file is empty; expected the header id,split,label,predicted,p_<class>...");
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (auto problem = detail::split_csv(line, fields)) throw fail(1, *problem);
    const std::vector<std::string> fixed{"id", "split", "label", "predicted"};
    if (fields.size() < fixed.size() || !std::equal(fixed.begin(), fixed.end(), fields.begin()))
        throw fail(1, "expected the header id,split,label,predicted,p_<class>..., found '" + line + "'");
    std::vector<int> column_class(fields.size(), -1);
    std::vector<bool> has_column(labels.size(), false);
    for (std::size_t f = fixed.size(); f < fields.size(); ++f) {
        const int c = fields[f].rfind("p_", 0) == 0 ? class_index(fields[f].substr(2)) : -1;
        if (c < 0)
            throw fail(1, "column '" + fields[f] + "' is not p_<class> for a class of this study (" +
                              detail::join_names(labels) + "); predictions of a study with other classes?");
        if (has_column[static_cast<std::size_t>(c)]) throw fail(1, "column '" + fields[f] + "' appears twice");
        has_column[static_cast<std::size_t>(c)] = true;
        column_class[f] = c;
    }
    for (std::size_t c = 0; c < labels.size(); ++c)
        if (!has_column[c])
            throw fail(1, "no column p_" + labels[c] + " for class '" + labels[c] +
                              "'; predictions of a study with other classes?");
    const std::size_t width = fields.size();

    Predictions out;
    out.labels = labels;
    out.source = name;
    std::unordered_map<std::string, std::size_t> first_line;
    for (std::size_t number = 2; std::getline(in, line); ++number) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        if (auto problem = detail::split_csv(line, fields)) throw fail(number, *problem);
        if (fields.size() != width)
            throw fail(number, "expected " + std::to_string(width) + " fields as in the header, found " +
                                   std::to_string(fields.size()));
        Prediction row;
        row.id = fields[0];
        row.split = fields[1];
        row.line = number;
        if (row.id.empty()) throw fail(number, "empty id");
        if (!fields[2].empty() && (row.label = class_index(fields[2])) < 0)
            throw fail(number, "unknown label '" + fields[2] + "'; accepted: " + detail::join_names(labels) + " or empty");
        if ((row.predicted = class_index(fields[3])) < 0)
            throw fail(number, "unknown predicted class '" + fields[3] + "'; accepted: " + detail::join_names(labels));
        row.probabilities.assign(labels.size(), 0.0);
        for (std::size_t f = fixed.size(); f < width; ++f) {
            const std::string& text = fields[f];
            char* end = nullptr;
            errno = 0;
            const double p = std::strtod(text.c_str(), &end);
            if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !(p >= 0.0 && p <= 1.0))
                throw fail(number, "column " + std::to_string(f + 1) + " (p_" +
                                       labels[static_cast<std::size_t>(column_class[f])] + ") is '" + text +
                                       "'; expected a probability in [0, 1]");
            row.probabilities[static_cast<std::size_t>(column_class[f])] = p;
        }
        if (const auto [it, fresh] = first_line.emplace(row.id, number); !fresh)
            throw fail(number, "id '" + row.id + "' appears again (first at line " + std::to_string(it->second) + ")");
        out.rows.push_back(std::move(row));
    }
    return out;
}

// Which pool samples an earlier trial found hard.
struct HardSampleCriteria {
    enum class Mode {
        low_confidence,   // p(true class) < threshold
        neutral_confused, // misclassified, with the true or the predicted class `neutral`
    };
    Mode mode = Mode::low_confidence;
    double threshold = 0.5;
    int neutral = -1;     // neutral_confused: the neutral class's index
    std::size_t max = 0;  // keep at most this many, hardest first; 0 = all
};

// What hard_samples found: the hard pool indices, hardest first (lowest p of the true
// class; ties in pool order), and how many pool samples the predictions cover.
struct HardSamples {
    std::vector<std::size_t> rows;
    std::size_t found = 0;
};

// The hard samples of `pool` under `criteria`. Pool samples absent from the predictions
// are not hard; when none of the pool's ids is there, or a row's label disagrees with the
// pool's, it is an Error (predictions of another trial or dataset?).
inline HardSamples hard_samples(const std::vector<Sample>& pool, const Predictions& predictions,
                                const HardSampleCriteria& criteria) {
    struct Hard {
        std::size_t index;
        double p_true;
    };
    const auto num_classes = static_cast<int>(predictions.labels.size());
    const std::string source = predictions.source.empty() ? std::string("the predictions") : predictions.source;
    std::unordered_map<std::string, const Prediction*> by_id;
    for (const auto& row : predictions.rows) by_id.emplace(row.id, &row);
    std::vector<Hard> hard;
    HardSamples out;
    for (std::size_t i = 0; i < pool.size(); ++i) {
        const auto it = by_id.find(pool[i].id);
        if (it == by_id.end()) continue;
        const Prediction* row = it->second;
        ++out.found;
        const int label = pool[i].label;
        if (label < 0 || label >= num_classes) continue; // no true class: never hard
        if (row->label >= 0 && row->label != label)
            throw Error(source + ":" + std::to_string(row->line) + ": sample '" + pool[i].id + "' is labelled '" +
                        predictions.labels[static_cast<std::size_t>(row->label)] + "' here but '" +
                        predictions.labels[static_cast<std::size_t>(label)] +
                        "' in the training pool; predictions of another dataset or split?");
        const double p_true = row->probabilities.at(static_cast<std::size_t>(label));
        const bool is_hard = criteria.mode == HardSampleCriteria::Mode::neutral_confused
                                 ? row->predicted != label && (label == criteria.neutral || row->predicted == criteria.neutral)
                                 : p_true < criteria.threshold;
        if (is_hard) hard.push_back({i, p_true});
    }
    if (out.found == 0 && !pool.empty())
        throw Error("none of the " + std::to_string(pool.size()) + " training pool ids appears in " + source + " (" +
                    std::to_string(predictions.rows.size()) + " rows); predictions of another trial or dataset?");
    std::stable_sort(hard.begin(), hard.end(), [](const Hard& a, const Hard& b) { return a.p_true < b.p_true; });
    if (criteria.max > 0 && hard.size() > criteria.max) hard.resize(criteria.max);
    for (const auto& h : hard) out.rows.push_back(h.index);
    return out;
}

} // namespace msa

// hard-mining: the samples an earlier trial found hard, read from its predictions.csv,
// alone or appended to the whole pool (oversampling them).
//
// predictions.csv (written by the trainer): header `id,split,label,predicted,p_<class>...`
// with one p_ column per class of the study (any order); label and predicted are class
// names (label empty for unlabelled rows), p_* probabilities in [0, 1]. Fields may be
// double-quoted ("" inside quotes is a quote). The file is read when the sampler selects,
// so it may be written by an earlier phase of the same study.
//
// A pool sample is hard when it is in the file and
//   low-confidence:   p(true class) < threshold
//   neutral-confused: it was misclassified and its true or predicted class is `neutral`.
// Hard samples are ordered hardest first (lowest p of the true class; ties in pool order)
// and `max` keeps the first max of them. Pool samples absent from the file are not hard;
// when none of the pool's ids is in the file, or the file's label of a sample disagrees
// with the pool's, it is an error (predictions of another trial or dataset?), and so is
// an empty selection.
//
// | parameter    | type   | default          | meaning                                                  |
// | predictions  | path   | required         | predictions.csv, or a trial folder that holds one        |
// | mode         | string | "low-confidence" | "low-confidence" or "neutral-confused"                    |
// | threshold    | float  | 0.5              | low-confidence: hard below this p of the true class [0,1] |
// | neutral      | string | "neutral"        | neutral-confused: the neutral class's name                |
// | max          | int    | 0                | keep at most this many hard samples, hardest first; 0 = all |
// | include_rest | bool   | false            | return the whole pool with the hard samples appended again |
#include <msa/plugin.hpp>
#include <msa/sampler.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>

namespace {

namespace fs = std::filesystem;

// One line of CSV: fields, or why it cannot be read.
std::optional<std::string> split_csv(const std::string& line, std::vector<std::string>& fields) {
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

std::string format_real(double x) {
    std::ostringstream os;
    os << x;
    return os.str();
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
}

struct Prediction {
    std::size_t line = 0;
    int label = -1; // -1: unlabelled row
    int predicted = -1;
    std::vector<double> p; // by class index
};

// The predictions file, checked line by line against the study's classes.
std::unordered_map<std::string, Prediction> read_predictions(const fs::path& file,
                                                             const std::vector<std::string>& labels) {
    std::ifstream in(file);
    if (!in) throw msa::Error("hard-mining sampler: cannot read " + file.string());
    const std::string name = file.string();
    auto fail = [&](std::size_t line, const std::string& message) -> msa::Error {
        return msa::Error(name + ":" + std::to_string(line) + ": " + message);
    };
    auto class_index = [&](const std::string& label) {
        const auto it = std::find(labels.begin(), labels.end(), label);
        return it == labels.end() ? -1 : static_cast<int>(it - labels.begin());
    };

    std::string line;
    std::vector<std::string> fields;
    if (!std::getline(in, line)) throw fail(1, "the file is empty; expected the header id,split,label,predicted,p_<class>...");
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (auto problem = split_csv(line, fields)) throw fail(1, *problem);
    const std::vector<std::string> fixed{"id", "split", "label", "predicted"};
    if (fields.size() < fixed.size() || !std::equal(fixed.begin(), fixed.end(), fields.begin()))
        throw fail(1, "expected the header id,split,label,predicted,p_<class>..., found '" + line + "'");
    std::vector<int> column_class(fields.size(), -1);
    std::vector<bool> has_column(labels.size(), false);
    for (std::size_t f = fixed.size(); f < fields.size(); ++f) {
        const int c = fields[f].rfind("p_", 0) == 0 ? class_index(fields[f].substr(2)) : -1;
        if (c < 0)
            throw fail(1, "column '" + fields[f] + "' is not p_<class> for a class of this study (" + join(labels) +
                              "); predictions of a study with other classes?");
        if (has_column[static_cast<std::size_t>(c)]) throw fail(1, "column '" + fields[f] + "' appears twice");
        has_column[static_cast<std::size_t>(c)] = true;
        column_class[f] = c;
    }
    for (std::size_t c = 0; c < labels.size(); ++c)
        if (!has_column[c])
            throw fail(1, "no column p_" + labels[c] + " for class '" + labels[c] +
                              "'; predictions of a study with other classes?");
    const std::size_t width = fields.size();

    std::unordered_map<std::string, Prediction> out;
    for (std::size_t number = 2; std::getline(in, line); ++number) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        if (auto problem = split_csv(line, fields)) throw fail(number, *problem);
        if (fields.size() != width)
            throw fail(number, "expected " + std::to_string(width) + " fields as in the header, found " +
                                   std::to_string(fields.size()));
        const std::string& id = fields[0];
        if (id.empty()) throw fail(number, "empty id");
        Prediction row;
        row.line = number;
        if (!fields[2].empty() && (row.label = class_index(fields[2])) < 0)
            throw fail(number, "unknown label '" + fields[2] + "'; accepted: " + join(labels) + " or empty");
        if ((row.predicted = class_index(fields[3])) < 0)
            throw fail(number, "unknown predicted class '" + fields[3] + "'; accepted: " + join(labels));
        row.p.assign(labels.size(), 0.0);
        for (std::size_t f = fixed.size(); f < width; ++f) {
            const std::string& text = fields[f];
            char* end = nullptr;
            errno = 0;
            const double p = std::strtod(text.c_str(), &end);
            if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !(p >= 0.0 && p <= 1.0))
                throw fail(number, "column " + std::to_string(f + 1) + " (p_" +
                                       labels[static_cast<std::size_t>(column_class[f])] + ") is '" + text +
                                       "'; expected a probability in [0, 1]");
            row.p[static_cast<std::size_t>(column_class[f])] = p;
        }
        if (const auto it = out.find(id); it != out.end())
            throw fail(number, "id '" + id + "' appears again (first at line " + std::to_string(it->second.line) + ")");
        out.emplace(id, std::move(row));
    }
    return out;
}

class HardMiningSampler final : public msa::Sampler {
public:
    explicit HardMiningSampler(const msa::Properties& props)
        : predictions_(props.get_string("predictions")), where_predictions_(props.where("predictions")),
          neutral_mode_(props.get_string("mode") == "neutral-confused"), max_(props.get_int("max")),
          include_rest_(props.get_bool("include_rest")) {
        // Each mode reads only its own setting, so the host reports the other one as ignored.
        if (neutral_mode_) {
            neutral_ = props.get_string("neutral");
            where_neutral_ = props.where("neutral");
        } else {
            threshold_ = props.get_real("threshold");
        }
        if (predictions_.empty())
            throw msa::ConfigError(where_predictions_, "predictions is empty; give the predictions.csv of an "
                                                       "earlier trial, or its run folder");
    }

    std::vector<std::size_t> select(const std::vector<msa::Sample>& pool,
                                    const msa::SamplerContext& context) override {
        const auto& labels = context.labels;
        if (static_cast<std::int64_t>(labels.size()) != context.num_classes)
            throw msa::Error("hard-mining sampler needs the study's " + std::to_string(context.num_classes) +
                             " class names; the host passed " + std::to_string(labels.size()));
        int neutral = -1;
        if (neutral_mode_) {
            neutral = static_cast<int>(std::find(labels.begin(), labels.end(), neutral_) - labels.begin());
            if (neutral == static_cast<int>(labels.size()))
                throw msa::ConfigError(where_neutral_, "hard-mining sampler: neutral = '" + neutral_ +
                                                           "' is not a class of this study; accepted: " +
                                                           join(labels));
        }
        const fs::path file = predictions_file();
        const auto predictions = read_predictions(file, labels);

        struct Hard {
            std::size_t index;
            double p_true;
        };
        std::vector<Hard> hard;
        std::size_t found = 0;
        for (std::size_t i = 0; i < pool.size(); ++i) {
            const auto it = predictions.find(pool[i].id);
            if (it == predictions.end()) continue;
            ++found;
            const Prediction& row = it->second;
            const int label = pool[i].label;
            if (label < 0 || label >= context.num_classes) continue; // no true class: never hard
            if (row.label >= 0 && row.label != label)
                throw msa::Error(file.string() + ":" + std::to_string(row.line) + ": sample '" + pool[i].id +
                                 "' is labelled '" + labels[static_cast<std::size_t>(row.label)] +
                                 "' here but '" + labels[static_cast<std::size_t>(label)] +
                                 "' in the training pool; predictions of another dataset or split?");
            const double p_true = row.p[static_cast<std::size_t>(label)];
            const bool is_hard = neutral_mode_
                                     ? row.predicted != label && (label == neutral || row.predicted == neutral)
                                     : p_true < threshold_;
            if (is_hard) hard.push_back({i, p_true});
        }
        if (found == 0 && !pool.empty())
            throw msa::ConfigError(where_predictions_,
                                   "hard-mining sampler: none of the " + std::to_string(pool.size()) +
                                       " training pool ids appears in " + file.string() +
                                       " (" + std::to_string(predictions.size()) +
                                       " rows); predictions of another trial or dataset?");
        std::stable_sort(hard.begin(), hard.end(), [](const Hard& a, const Hard& b) { return a.p_true < b.p_true; });
        if (max_ > 0 && hard.size() > static_cast<std::size_t>(max_)) hard.resize(static_cast<std::size_t>(max_));
        if (hard.empty() && !include_rest_)
            throw msa::Error("hard-mining sampler: no pool sample is hard in " + file.string() + " (mode " +
                             (neutral_mode_ ? "neutral-confused, neutral = '" + neutral_ + "'"
                                            : "low-confidence, threshold " + format_real(threshold_)) +
                             "; " + std::to_string(found) + " of " + std::to_string(pool.size()) +
                             " pool samples found there), so there is nothing to train on; " +
                             (neutral_mode_ ? "use mode low-confidence" : "raise threshold") +
                             " or set include_rest = true");

        std::vector<std::size_t> chosen;
        if (include_rest_)
            for (std::size_t i = 0; i < pool.size(); ++i) chosen.push_back(i);
        for (const auto& h : hard) chosen.push_back(h.index);
        return chosen;
    }

private:
    fs::path predictions_file() const {
        fs::path file = predictions_;
        std::error_code ec;
        if (fs::is_directory(file, ec)) file /= "predictions.csv";
        if (!fs::is_regular_file(file, ec))
            throw msa::ConfigError(where_predictions_,
                                   "hard-mining sampler: predictions file not found: " + file.string() +
                                       " (give an earlier trial's predictions.csv or its run folder)");
        return file;
    }

    std::string predictions_;
    std::string where_predictions_;
    bool neutral_mode_;
    std::int64_t max_;
    bool include_rest_;
    double threshold_ = 0.5;
    std::string neutral_;
    std::string where_neutral_;
};

void register_plugins(msa::Registry& registry) {
    registry.add_sampler(
        {"hard-mining",
         "The samples an earlier trial found hard (from its predictions.csv), alone or oversampled within the pool.",
         {msa::ParamSpec::path("predictions", "", "An earlier trial's predictions.csv, or its run folder").required(),
          msa::ParamSpec::choice("mode", "low-confidence", {"low-confidence", "neutral-confused"},
                                 "Hard = low p of the true class, or misclassified to/from the neutral class"),
          msa::ParamSpec::real("threshold", 0.5, "low-confidence: hard when p of the true class is below this")
              .range(0.0, 1.0),
          msa::ParamSpec::string("neutral", "neutral", "neutral-confused: the name of the neutral class"),
          msa::ParamSpec::integer("max", 0, "Keep at most this many hard samples, hardest first; 0 = all")
              .range(0, 100'000'000),
          msa::ParamSpec::boolean("include_rest", false,
                                  "Return the whole pool with the hard samples appended again (oversampling)")}},
        [](const msa::Properties& props) { return std::make_shared<HardMiningSampler>(props); });
}

} // namespace

MSA_PLUGIN(register_plugins)

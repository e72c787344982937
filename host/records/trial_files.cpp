// metrics.json, history.csv and store_keys.json of a trial folder (see trial_files.hpp).
#include "records/trial_files.hpp"

#include "records/metrics_writer.hpp"

#include <msa/error.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <sstream>
#include <string_view>

namespace msa::records {

namespace {

using nlohmann::json;

// history.csv's columns, in order; the reader finds them by name.
constexpr std::array<const char*, 8> history_columns{"epoch",          "train_loss",        "valid_loss",
                                                     "valid_accuracy", "valid_macro_f1",    "valid_weighted_f1",
                                                     "learning_rate",  "seconds"};
// history.csv's per-class columns: valid_f1_<label>.
constexpr std::string_view class_f1_prefix = "valid_f1_";

std::vector<std::string> split_csv_line(const std::string& line) {
    // history.csv holds numbers only, so no quoting to undo.
    std::vector<std::string> fields;
    std::string field;
    std::istringstream in(line);
    while (std::getline(in, field, ',')) fields.push_back(field);
    if (!line.empty() && line.back() == ',') fields.emplace_back();
    return fields;
}

// A count (samples, support, parameters, layers): a JSON integer from 0 to 2^53. The range
// keeps sums of counts exact and finite; a float is refused rather than cast, since
// nlohmann's cast of a float outside the integer's range is undefined behaviour.
std::int64_t count_value(const json& value, const std::string& where) {
    constexpr std::int64_t limit = std::int64_t{1} << 53;
    if (value.is_number_unsigned() ? value.get<std::uint64_t>() <= static_cast<std::uint64_t>(limit)
                                   : value.is_number_integer() && value.get<std::int64_t>() >= 0)
        return value.get<std::int64_t>();
    const std::string found = value.is_number() ? value.dump() : std::string("a ") + value.type_name();
    throw Error(fmt::format("{}: {} is not a count; expected an integer from 0 to 2^53", where, found));
}

// The count at object[key], or `absent` when the key is missing.
std::int64_t count_at(const json& object, const char* key, std::int64_t absent, const std::string& where) {
    const auto it = object.find(key);
    return it == object.end() ? absent : count_value(*it, where + "." + key);
}

// "confusion": {"labels": [...], "matrix": [[...]]} of one split, when present.
std::optional<Confusion> read_confusion(const json& split, const std::string& where) {
    const auto it = split.find("confusion");
    if (it == split.end() || it->is_null()) return std::nullopt;
    const auto malformed = [&] {
        return Error(where + ".confusion: expected {\"labels\": [names], \"matrix\": [[counts]]}");
    };
    Confusion confusion;
    try {
        confusion.labels = it->at("labels").get<std::vector<std::string>>();
        const json& matrix = it->at("matrix");
        if (!matrix.is_array()) throw malformed();
        for (const auto& row : matrix) {
            if (!row.is_array()) throw malformed();
            auto& counts = confusion.matrix.emplace_back();
            for (const auto& count : row) counts.push_back(count_value(count, where + ".confusion.matrix"));
        }
    } catch (const json::exception&) {
        throw malformed();
    }
    const std::size_t n = confusion.labels.size();
    bool square = confusion.matrix.size() == n;
    for (const auto& row : confusion.matrix) square = square && row.size() == n;
    if (!square) throw Error(fmt::format("{}.confusion: the matrix is not {} × {}, one row and column per label", where, n, n));
    return confusion;
}

double number_at(const json& object, const char* key, const std::string& where) {
    const auto it = object.find(key);
    if (it == object.end() || !it->is_number()) throw Error(where + "." + key + ": expected a number");
    return it->get<double>();
}

// metrics.json's "valid" or "test", when present.
std::optional<SplitScores> read_split(const json& metrics, const char* split, const std::string& file) {
    const auto it = metrics.find(split);
    if (it == metrics.end() || !it->is_object()) return std::nullopt;
    const std::string where = file + ": " + split;
    SplitScores scores;
    scores.samples = count_at(*it, "samples", 0, where);
    scores.accuracy = number_at(*it, "accuracy", where);
    scores.macro_f1 = number_at(*it, "macro_f1", where);
    scores.weighted_f1 = number_at(*it, "weighted_f1", where);
    scores.ece = it->value("ece", 0.0);
    if (const auto per_class = it->find("per_class"); per_class != it->end() && per_class->is_object())
        for (const auto& [label, value] : per_class->items()) {
            if (!value.is_object()) continue;
            const std::string at = where + ".per_class." + label;
            scores.per_class[label] = {value.value("precision", 0.0), value.value("recall", 0.0),
                                       number_at(value, "f1", at), count_at(value, "support", 0, at)};
        }
    scores.confusion = read_confusion(*it, where);
    return scores;
}

json split_json(const SplitScores& scores) {
    json per_class = json::object();
    for (const auto& [label, c] : scores.per_class)
        per_class[label] = {{"precision", c.precision}, {"recall", c.recall}, {"f1", c.f1}, {"support", c.support}};
    json out{{"samples", scores.samples},         {"accuracy", scores.accuracy}, {"macro_f1", scores.macro_f1},
             {"weighted_f1", scores.weighted_f1}, {"ece", scores.ece},           {"per_class", per_class}};
    if (scores.confusion)
        out["confusion"] = {{"labels", scores.confusion->labels}, {"matrix", scores.confusion->matrix}};
    return out;
}

// The typed members' keys: details may not use them.
constexpr std::array<const char*, 10> typed_keys{"trial", "seed",    "status",   "error",     "valid",
                                                 "test",  "best_epoch", "seconds", "evaluated", "features"};

json metrics_json(const MetricsWriter& m, const char* status) {
    json out{{"trial", m.trial}, {"seed", m.seed}, {"status", status}};
    for (const char* key : typed_keys)
        if (m.details.contains(key))
            throw Error(std::string("metrics.json detail '") + key + "' shadows a typed field (a bug in msa)");
    out.update(m.details);
    if (m.valid) out["valid"] = split_json(*m.valid);
    if (m.test) out["test"] = split_json(*m.test);
    if (m.best_epoch) out["best_epoch"] = *m.best_epoch;
    if (m.evaluated)
        out["evaluated"] = {{"model", m.evaluated->model}, {"keep", m.evaluated->keep}, {"fill", m.evaluated->fill}};
    if (!m.features.empty()) out["features"] = m.features;
    json seconds = json::object();
    if (m.encode_seconds) seconds["encode"] = *m.encode_seconds;
    if (m.train_seconds) seconds["train"] = *m.train_seconds;
    if (!seconds.empty()) out["seconds"] = seconds;
    return out;
}

} // namespace

std::optional<double> SplitScores::get(const MetricName& metric) const {
    switch (metric.metric) {
    case Metric::accuracy: return accuracy;
    case Metric::macro_f1: return macro_f1;
    case Metric::weighted_f1: return weighted_f1;
    case Metric::class_f1: {
        const auto it = per_class.find(metric.label);
        if (it == per_class.end()) return std::nullopt;
        return it->second.f1;
    }
    case Metric::ece: return ece;
    case Metric::loss: return std::nullopt;
    }
    return std::nullopt;
}

TrialMetrics read_trial_metrics(const std::filesystem::path& trial_folder) {
    const auto file = trial_folder / "metrics.json";
    std::ifstream in(file);
    if (!in) throw Error(fmt::format("{} not found", file.string()));
    json metrics;
    try {
        metrics = json::parse(in);
    } catch (const json::exception& e) { // parse_error, or out_of_range for a number beyond a double
        throw Error(fmt::format("{}: not valid JSON ({})", file.string(), e.what()));
    }
    if (!metrics.is_object()) throw Error(fmt::format("{}: expected a JSON object", file.string()));
    // Every value is read with its expected type; one of another type (json's type_error)
    // is this file's problem, said as such.
    try {
        TrialMetrics result;
        const std::string status = metrics.value("status", "");
        if (status != "ok" && status != "failed")
            throw Error(fmt::format("{}: status '{}'; expected \"ok\" or \"failed\"", file.string(), status));
        result.status = status == "ok" ? TrialStatus::ok : TrialStatus::failed;
        if (const auto it = metrics.find("error"); it != metrics.end() && it->is_string()) result.error = it->get<std::string>();
        result.valid = read_split(metrics, "valid", file.string());
        result.test = read_split(metrics, "test", file.string());
        if (const auto it = metrics.find("best_epoch"); it != metrics.end() && !it->is_null())
            result.best_epoch = count_value(*it, file.string() + ": best_epoch");
        if (const auto it = metrics.find("seconds"); it != metrics.end() && it->is_object())
            result.total_seconds = it->value("total", 0.0);
        if (const auto it = metrics.find("evaluated"); it != metrics.end() && it->is_object())
            result.evaluated_model = it->value("model", "");
        if (const auto it = metrics.find("distill"); it != metrics.end() && it->is_object()) {
            DistillSummary d;
            const std::string where = file.string() + ": distill";
            d.pool = count_at(*it, "pool", 0, where);
            if (const auto rounds = it->find("rounds"); rounds != it->end() && rounds->is_array() && !rounds->empty() &&
                                                        rounds->back().is_object())
                if (const auto kept = rounds->back().find("kept"); kept != rounds->back().end() && kept->is_array())
                    for (const auto& count : *kept) d.kept.push_back(count_value(count, where + ".rounds.kept"));
            if (const auto teacher = it->find("teacher_valid"); teacher != it->end() && teacher->is_object()) {
                d.teacher_coverage = teacher->value("coverage", 0.0);
                d.teacher_accuracy = teacher->value("accuracy_confident", 0.0);
            }
            result.distill = d;
        }
        if (const auto it = metrics.find("parameters"); it != metrics.end() && it->is_object())
            result.parameters = count_at(*it, "head", 0, file.string() + ": parameters") +
                                count_at(*it, "encoder_top", 0, file.string() + ": parameters");
        if (const auto it = metrics.find("solver"); it != metrics.end() && it->is_string())
            result.solver = it->get<std::string>();
        if (const auto it = metrics.find("features"); it != metrics.end() && it->is_object())
            for (const auto& [modality, report] : it->items())
                if (report.is_object()) {
                    const std::string where = file.string() + ": features." + modality;
                    result.encoded += static_cast<std::size_t>(count_at(report, "encoded", 0, where));
                    result.trainable_layers =
                        std::max(result.trainable_layers, count_at(report, "trainable_layers", 0, where));
                }
        return result;
    } catch (const json::exception& e) {
        throw Error(fmt::format("{}: a value of the wrong type ({}); expected the metrics.json that msa trial writes",
                                file.string(), e.what()));
    }
}

std::string failed_trial_metrics(const std::string& trial, std::uint64_t seed, const std::string& error) {
    MetricsWriter metrics;
    metrics.trial = trial;
    metrics.seed = seed;
    return metrics.failed_json(error);
}

std::string MetricsWriter::ok_json(double total_seconds) const {
    json out = metrics_json(*this, "ok");
    out["seconds"]["total"] = total_seconds;
    return out.dump(2) + "\n";
}

std::string MetricsWriter::failed_json(const std::string& error) const {
    json out = metrics_json(*this, "failed");
    out["error"] = error;
    return out.dump(2) + "\n";
}

std::string test_summary(const SplitScores& test) {
    std::string per_class;
    for (const auto& [label, scores] : test.per_class)
        per_class += fmt::format("{}{} {:.4f}", per_class.empty() ? ", F1 per class " : " ", label, scores.f1);
    return fmt::format("test: accuracy {:.4f}, weighted F1 {:.4f}, macro F1 {:.4f}{}", test.accuracy, test.weighted_f1,
                       test.macro_f1, per_class);
}

HistoryWriter::HistoryWriter(const std::filesystem::path& trial_folder, const std::vector<std::string>& labels)
    : out_(trial_folder / "history.csv"), classes_(labels.size()) {
    std::string header;
    for (const char* column : history_columns) header += (header.empty() ? "" : ",") + std::string(column);
    for (const auto& label : labels) header += "," + std::string(class_f1_prefix) + label;
    out_ << header << "\n";
    out_.flush();
}

void HistoryWriter::add(const EpochRow& r) {
    out_ << r.epoch << "," << r.train_loss << "," << r.valid_loss << "," << r.valid_accuracy << "," << r.valid_macro_f1
         << "," << r.valid_weighted_f1 << "," << r.learning_rate << "," << r.seconds;
    // Without a validation set there are no per-class scores: the columns stay, empty of meaning, as 0.
    for (std::size_t c = 0; c < classes_; ++c) out_ << "," << (c < r.valid_class_f1.size() ? r.valid_class_f1[c] : 0.0);
    out_ << "\n";
    out_.flush();
}

std::vector<EpochRow> read_history(const std::filesystem::path& trial_folder) {
    const auto file = trial_folder / "history.csv";
    std::ifstream in(file);
    if (!in) throw Error(fmt::format("{} not found", file.string()));
    std::string line;
    if (!std::getline(in, line)) throw Error(fmt::format("{}: empty, expected a header line", file.string()));
    const auto header = split_csv_line(line);
    std::array<std::size_t, history_columns.size()> column{};
    for (std::size_t w = 0; w < history_columns.size(); ++w) {
        std::size_t c = 0;
        while (c < header.size() && header[c] != history_columns[w]) ++c;
        if (c == header.size())
            throw Error(fmt::format("{}:1: no column '{}' in the header '{}'", file.string(), history_columns[w], line));
        column[w] = c;
    }
    std::vector<std::size_t> class_columns;
    for (std::size_t c = 0; c < header.size(); ++c)
        if (header[c].rfind(class_f1_prefix, 0) == 0) class_columns.push_back(c);
    auto number_at = [&](const std::string& field, int number, const std::string& name) {
        double value = 0;
        const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
        if (ec != std::errc() || end != field.data() + field.size())
            throw Error(fmt::format("{}:{}: {} '{}' is not a number", file.string(), number, name, field));
        return value;
    };
    std::vector<EpochRow> rows;
    for (int number = 2; std::getline(in, line); ++number) {
        if (line.empty()) continue;
        const auto fields = split_csv_line(line);
        if (fields.size() != header.size())
            throw Error(fmt::format("{}:{}: {} fields, expected {} as in the header", file.string(), number,
                                    fields.size(), header.size()));
        // The epoch is a count: read as an integer, never cast from a double (undefined out of range).
        const std::string& epoch = fields[column[0]];
        std::int64_t epoch_number = 0;
        const auto [end, ec] = std::from_chars(epoch.data(), epoch.data() + epoch.size(), epoch_number);
        if (ec != std::errc() || end != epoch.data() + epoch.size() || epoch_number < 0)
            throw Error(fmt::format("{}:{}: epoch '{}' is not a count (0, 1, 2, ...)", file.string(), number, epoch));
        std::array<double, history_columns.size()> values{};
        for (std::size_t w = 1; w < history_columns.size(); ++w)
            values[w] = number_at(fields[column[w]], number, history_columns[w]);
        EpochRow row{epoch_number, values[1], values[2], values[3], values[4], values[5], values[6], values[7], {}};
        for (auto c : class_columns) row.valid_class_f1.push_back(number_at(fields[c], number, header[c]));
        rows.push_back(std::move(row));
    }
    return rows;
}

std::string store_keys_json(const StoreKeys& keys) {
    json out = json::object();
    for (const auto& [modality, stored] : keys) out[modality] = {{"key", stored.key}, {"precision", stored.precision}};
    return out.dump(2) + "\n";
}

StoreKeys read_store_keys(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) throw Error(file.string() + ": cannot be read");
    StoreKeys keys;
    try {
        const json document = json::parse(in);
        if (!document.is_object()) throw Error("not a JSON object");
        for (const auto& [modality, stored] : document.items()) {
            if (modality != "text" && modality != "image")
                throw Error("unknown modality '" + modality + "'; accepted: text, image");
            const std::string key = stored.is_object() ? stored.value("key", "") : "";
            if (key.size() != 64 || key.find_first_not_of("0123456789abcdef") != std::string::npos)
                throw Error("'" + modality + "' has no feature-store key (\"key\": 64 hex digits)");
            keys[modality] = {key, stored.value("precision", "")};
        }
    } catch (const std::exception& e) {
        throw Error(file.string() + ": " + e.what() + " (store_keys.json is {\"text\": {\"key\": \"<64 hex>\", "
                    "\"precision\": \"float32\"}, \"image\": {...}}, written by msa run)");
    }
    return keys;
}

std::vector<EncodeCount> read_encode_counts(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) throw Error(file.string() + ": cannot be read");
    const json document = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded() || !document.is_object())
        throw Error(file.string() + ": not a JSON object (the counts msa encode --counts writes)");
    std::vector<EncodeCount> counts;
    const auto encoders = document.find("encoders");
    if (encoders == document.end()) return counts; // nothing was missing
    if (!encoders->is_array()) throw Error(file.string() + ": \"encoders\" is not a list");
    for (std::size_t i = 0; i < encoders->size(); ++i) {
        const json& r = (*encoders)[i];
        const std::string where = fmt::format("{}: encoders[{}]", file.string(), i);
        if (!r.is_object()) throw Error(where + ": not an object");
        const auto text = [&](const char* key) {
            const auto it = r.find(key);
            if (it == r.end() || !it->is_string()) throw Error(where + "." + key + ": expected a string");
            return it->get<std::string>();
        };
        counts.push_back({text("for"), text("plugin"), count_at(r, "encoded", 0, where)});
    }
    return counts;
}

} // namespace msa::records

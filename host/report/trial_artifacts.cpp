// Reading a trial folder's metrics.json and history.csv for the reports' charts.
#include "report/trial_artifacts.hpp"

#include <msa/error.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>
#include <charconv>
#include <fstream>
#include <sstream>

namespace msa::report {

namespace {

using nlohmann::json;

std::vector<std::string> split_csv_line(const std::string& line) {
    // history.csv holds numbers and plain names only, so no quoting to undo.
    std::vector<std::string> fields;
    std::string field;
    std::istringstream in(line);
    while (std::getline(in, field, ',')) fields.push_back(field);
    if (!line.empty() && line.back() == ',') fields.emplace_back();
    return fields;
}

// "confusion": {"labels": [...], "matrix": [[...]]} of one split, when present.
std::optional<Confusion> read_confusion(const json& metrics, const std::string& split, const std::filesystem::path& file) {
    const auto split_it = metrics.find(split);
    if (split_it == metrics.end() || !split_it->is_object()) return std::nullopt;
    const auto it = split_it->find("confusion");
    if (it == split_it->end() || it->is_null()) return std::nullopt;
    const std::string where = fmt::format("{}: {}.confusion", file.string(), split);
    Confusion confusion;
    try {
        confusion.labels = it->at("labels").get<std::vector<std::string>>();
        confusion.matrix = it->at("matrix").get<std::vector<std::vector<std::int64_t>>>();
    } catch (const json::exception&) {
        throw Error(where + ": expected {\"labels\": [names], \"matrix\": [[counts]]}");
    }
    const std::size_t n = confusion.labels.size();
    bool square = confusion.matrix.size() == n;
    for (const auto& row : confusion.matrix) square = square && row.size() == n;
    if (!square) throw Error(fmt::format("{}: the matrix is not {} × {}, one row and column per label", where, n, n));
    return confusion;
}

} // namespace

TrialMetrics read_trial_metrics(const std::filesystem::path& trial_folder) {
    const auto file = trial_folder / "metrics.json";
    std::ifstream in(file);
    if (!in) throw Error(fmt::format("{} not found", file.string()));
    json metrics;
    try {
        metrics = json::parse(in);
    } catch (const json::parse_error& e) {
        throw Error(fmt::format("{}: not valid JSON ({})", file.string(), e.what()));
    }
    if (!metrics.is_object()) throw Error(fmt::format("{}: expected a JSON object", file.string()));
    TrialMetrics result;
    if (const auto it = metrics.find("best_epoch"); it != metrics.end() && it->is_number_integer())
        result.best_epoch = it->get<std::int64_t>();
    result.valid_confusion = read_confusion(metrics, "valid", file);
    result.test_confusion = read_confusion(metrics, "test", file);
    return result;
}

std::vector<EpochRow> read_history(const std::filesystem::path& trial_folder) {
    const auto file = trial_folder / "history.csv";
    std::ifstream in(file);
    if (!in) throw Error(fmt::format("{} not found", file.string()));
    std::string line;
    if (!std::getline(in, line)) throw Error(fmt::format("{}: empty, expected a header line", file.string()));
    const auto header = split_csv_line(line);
    constexpr std::array<const char*, 4> wanted{"epoch", "train_loss", "valid_loss", "valid_weighted_f1"};
    std::array<std::size_t, 4> column{};
    for (std::size_t w = 0; w < wanted.size(); ++w) {
        std::size_t c = 0;
        while (c < header.size() && header[c] != wanted[w]) ++c;
        if (c == header.size())
            throw Error(fmt::format("{}:1: no column '{}' in the header '{}'", file.string(), wanted[w], line));
        column[w] = c;
    }
    std::vector<EpochRow> rows;
    for (int number = 2; std::getline(in, line); ++number) {
        if (line.empty()) continue;
        const auto fields = split_csv_line(line);
        if (fields.size() != header.size())
            throw Error(fmt::format("{}:{}: {} fields, expected {} as in the header", file.string(), number,
                                    fields.size(), header.size()));
        std::array<double, 4> values{};
        for (std::size_t w = 0; w < wanted.size(); ++w) {
            const std::string& field = fields[column[w]];
            const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), values[w]);
            if (ec != std::errc() || end != field.data() + field.size())
                throw Error(fmt::format("{}:{}: {} '{}' is not a number", file.string(), number, wanted[w], field));
        }
        rows.push_back({values[0], values[1], values[2], values[3]});
    }
    return rows;
}

} // namespace msa::report

// Turning a study's numbers into the chart data svg_charts.hpp draws.
#include "report/report_charts.hpp"

#include "report/report_tables.hpp"
#include "report/svg_charts.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>

namespace msa::report {

namespace {

constexpr double missing = std::numeric_limits<double>::quiet_NaN();

// Appends a stat's mean and std to a series, or a gap.
void append(svg::Series& series, const std::optional<Stat>& stat) {
    series.values.push_back(stat ? stat->mean : missing);
    series.errors.push_back(stat ? stat->std : missing);
}

// The phases the incumbent charts show: those of a kind that has an incumbent.
std::vector<const PhaseResult*> incumbent_phases(const StudyResults& results) {
    std::vector<const PhaseResult*> phases;
    for (const auto& phase : results.phases)
        if (phase.has_own_incumbent()) phases.push_back(&phase);
    return phases;
}

std::vector<std::string> phase_names(const std::vector<const PhaseResult*>& phases) {
    std::vector<std::string> names;
    for (const PhaseResult* phase : phases) names.push_back(phase->name);
    return names;
}

std::string lowercase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

// The words of `text`, in lower case: runs of letters and digits (and of bytes beyond
// ASCII, so that a UTF-8 name stays one word).
std::set<std::string> words_of(const std::string& text) {
    std::set<std::string> words;
    std::string word;
    for (const char c : text + " ") {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) || byte >= 0x80) {
            word += static_cast<char>(std::tolower(byte));
        } else if (!word.empty()) {
            words.insert(word);
            word.clear();
        }
    }
    return words;
}

} // namespace

std::optional<std::string> neutral_label(const std::vector<std::string>& labels) {
    for (const auto& label : labels)
        if (lowercase(label) == "neutral") return label;
    return std::nullopt;
}

std::string chart_title(const std::vector<TitlePart>& parts) {
    std::vector<std::set<std::string>> words;
    for (const auto& part : parts) words.push_back(words_of(part.text));
    std::vector<bool> kept(parts.size(), true);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        std::set<std::string> rest;
        for (std::size_t j = 0; j < parts.size(); ++j)
            if (j != i && kept[j]) rest.insert(words[j].begin(), words[j].end());
        const bool says_nothing_new =
            !words[i].empty() && std::includes(rest.begin(), rest.end(), words[i].begin(), words[i].end());
        kept[i] = !parts[i].text.empty() && !says_nothing_new;
    }
    std::string title;
    for (std::size_t i = 0; i < parts.size(); ++i)
        if (kept[i]) title += title.empty() ? parts[i].text : parts[i].before + parts[i].text + parts[i].after;
    return title;
}

std::string phase_evolution_chart(const StudyResults& results) {
    svg::LineChart chart;
    chart.title = "Evolution of the incumbents' test F1";
    chart.x_label = "phase";
    chart.y_label = "test F1 (mean ± std over seeds)";
    const auto phases = incumbent_phases(results);
    chart.x_names = phase_names(phases);
    for (std::size_t i = 0; i < phases.size(); ++i) chart.x.push_back(static_cast<double>(i));
    chart.y_min = 0;
    chart.y_max = 1;
    const auto neutral = neutral_label(results.labels);
    svg::Series weighted{"weighted F1", {}, {}};
    svg::Series neutral_f1{neutral ? "F1 " + *neutral : "", {}, {}};
    for (const PhaseResult* phase : phases) {
        const ConfigResult* best = phase->incumbent_config();
        append(weighted, best ? best->test.weighted_f1 : std::nullopt);
        if (neutral) append(neutral_f1, best ? best->test.class_f1(*neutral) : std::nullopt);
    }
    chart.series.push_back(std::move(weighted));
    if (neutral) chart.series.push_back(std::move(neutral_f1));
    return svg::line_chart(chart);
}

std::string per_class_chart(const StudyResults& results) {
    svg::BarChart chart;
    chart.title = "Per-class test F1 of each phase's incumbent";
    chart.x_label = "phase";
    chart.y_label = "test F1 (mean ± std over seeds)";
    const auto phases = incumbent_phases(results);
    chart.groups = phase_names(phases);
    for (const auto& label : results.labels) {
        svg::Series series{label, {}, {}};
        for (const PhaseResult* phase : phases) {
            const ConfigResult* best = phase->incumbent_config();
            append(series, best ? best->test.class_f1(label) : std::nullopt);
        }
        chart.series.push_back(std::move(series));
    }
    return svg::grouped_bar_chart(chart);
}

std::string ablation_chart(const StudyResults& results, const PhaseResult& phase) {
    svg::RadarChart chart;
    chart.title = chart_title({{"Ablation"}, {phase.name}, {"test metrics of each configuration", ": "}});
    chart.axes = {"accuracy", "macro F1", "weighted F1"};
    for (const auto& label : results.labels) chart.axes.push_back("F1 " + label);
    for (const auto& config : phase.configs) {
        svg::Series series{config.label, {}, {}};
        append(series, config.test.accuracy);
        append(series, config.test.macro_f1);
        append(series, config.test.weighted_f1);
        for (const auto& label : results.labels) append(series, config.test.class_f1(label));
        chart.series.push_back(std::move(series));
    }
    return svg::radar_chart(chart);
}

std::string learning_curve_chart(const PhaseResult& phase, Metric metric) {
    const LearningCurves curves = learning_curves(phase);
    svg::LineChart chart;
    chart.title = chart_title({{"Learning curves"}, {phase.name, ": "}, {"test " + metric_title(metric), ", "}});
    chart.x_label = "k, training samples per class (log scale)";
    chart.y_label = metric_title(metric) + " (test)";
    chart.log_x = true;
    chart.y_min = 0;
    chart.y_max = 1;
    for (auto k : curves.shots) chart.x.push_back(static_cast<double>(k));
    for (const auto& curve : curves.curves) {
        svg::Series series{curve.label, {}, {}};
        for (const ConfigResult* point : curve.points) {
            const std::optional<Stat>* stat = point ? point->test.of(metric) : nullptr;
            series.values.push_back(stat && *stat ? (*stat)->mean : std::nan(""));
            series.errors.push_back(stat && *stat ? (*stat)->std : std::nan(""));
        }
        chart.series.push_back(std::move(series));
    }
    return svg::line_chart(chart);
}

std::vector<std::string> distill_threshold_charts(const PhaseResult& phase) {
    if (phase.kind != PhaseKind::distill) return {};
    // Students by the rest of their sweep point, then by threshold.
    std::map<double, int> thresholds;
    std::vector<std::pair<std::string, std::map<double, const ConfigResult*>>> lines;
    const ConfigResult* gold = nullptr;
    for (const auto& config : phase.configs) {
        if (!config.distill) {
            if (config.test.weighted_f1) gold = &config;
            continue;
        }
        std::optional<double> threshold;
        std::string rest;
        for (const auto& [path, value] : config.changes)
            if (path == "distill.threshold") threshold = std::strtod(value.c_str(), nullptr);
            else // "targets=soft", not "distill.targets=soft": the legend keeps 28 characters
                rest += (rest.empty() ? "" : ", ") + (path.rfind("distill.", 0) == 0 ? path.substr(8) : path) + "=" + value;
        if (!threshold) continue;
        thresholds[*threshold];
        auto line = std::find_if(lines.begin(), lines.end(), [&](const auto& l) { return l.first == rest; });
        if (line == lines.end()) line = lines.insert(lines.end(), {rest, {}});
        line->second[*threshold] = &config;
    }
    if (thresholds.size() < 2) return {};
    const auto chart_of = [&](const std::string& what, const std::string& y_label) {
        svg::LineChart chart;
        chart.title = chart_title({{what}, {phase.name, ": "}});
        chart.x_label = "distill.threshold";
        chart.y_label = y_label;
        for (const auto& [t, _] : thresholds) chart.x.push_back(t);
        return chart;
    };
    svg::LineChart kept = chart_of("Pool posts kept against the threshold", "posts kept (mean over seeds)");
    svg::LineChart f1 = chart_of("Students against the threshold", "weighted F1 (test)");
    kept.y_min = 0;
    f1.y_min = 0;
    f1.y_max = 1;
    for (const auto& [rest, by_threshold] : lines) {
        svg::Series k{rest.empty() ? "students" : rest, {}, {}}, s{rest.empty() ? "students" : rest, {}, {}};
        for (const auto& [t, _] : thresholds) {
            const auto it = by_threshold.find(t);
            const ConfigResult* c = it == by_threshold.end() ? nullptr : it->second;
            double total = 0;
            if (c)
                for (const auto& [label, n] : c->distill->kept) total += n;
            k.values.push_back(c ? total : std::nan(""));
            k.errors.push_back(std::nan(""));
            s.values.push_back(c && c->test.weighted_f1 ? c->test.weighted_f1->mean : std::nan(""));
            s.errors.push_back(c && c->test.weighted_f1 ? c->test.weighted_f1->std : std::nan(""));
        }
        kept.series.push_back(std::move(k));
        f1.series.push_back(std::move(s));
    }
    if (gold)
        f1.series.push_back({"gold labels", std::vector<double>(thresholds.size(), gold->test.weighted_f1->mean),
                             std::vector<double>(thresholds.size(), gold->test.weighted_f1->std)});
    return {svg::line_chart(kept), svg::line_chart(f1)};
}

std::string confusion_chart(const Confusion& confusion, const std::string& trial, const std::string& split) {
    svg::Heatmap chart;
    chart.title = chart_title({{"Confusion matrix"}, {trial, ": "}, {split, ", "}});
    chart.x_label = "predicted class";
    chart.y_label = "true class";
    chart.rows = confusion.labels;
    chart.columns = confusion.labels;
    chart.counts = confusion.matrix;
    return svg::heatmap(chart);
}

std::vector<std::string> training_curve_charts(const std::string& phase, const std::string& label,
                                               const std::vector<EpochRow>& history,
                                               std::optional<std::int64_t> best_epoch) {
    // A label that names its phase stands alone: not "loss (loss=acb)".
    svg::LineChart f1;
    f1.title = chart_title({{phase}, {label, " (", ")"}, {"validation weighted F1", ": "}});
    f1.x_label = "epoch";
    f1.y_label = "weighted F1 (valid)";
    f1.y_min = 0;
    f1.y_max = 1;
    svg::LineChart loss;
    loss.title = chart_title({{phase}, {label, " (", ")"}, {"loss", ": "}});
    loss.x_label = "epoch";
    loss.y_label = "loss (main loss)";
    loss.y_min = 0;
    svg::Series valid_f1{"valid weighted F1", {}, {}};
    svg::Series train_loss{"train loss", {}, {}};
    svg::Series valid_loss{"valid loss", {}, {}};
    for (const auto& row : history) {
        f1.x.push_back(row.epoch);
        loss.x.push_back(row.epoch);
        valid_f1.values.push_back(row.valid_weighted_f1);
        train_loss.values.push_back(row.train_loss);
        valid_loss.values.push_back(row.valid_loss);
    }
    f1.series.push_back(std::move(valid_f1));
    loss.series.push_back(std::move(train_loss));
    loss.series.push_back(std::move(valid_loss));
    if (best_epoch) {
        for (auto* chart : {&f1, &loss}) {
            chart->marker_x = static_cast<double>(*best_epoch);
            chart->marker_label = "best epoch " + std::to_string(*best_epoch);
        }
    }
    return {svg::line_chart(f1), svg::line_chart(loss)};
}

} // namespace msa::report

// Charts as standalone SVG strings, drawn from plain numbers: the report embeds them in
// HTML without scripts or external resources. Every chart has a title (also an SVG
// <title> for screen readers), axis labels where it has axes, and a legend.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace msa::report::svg {

// `text` with & < > " ' replaced by character references: safe in XML and HTML text
// and in quoted attribute values.
std::string escape(std::string_view text);

// One named line, set of bars or radar polygon. A NaN value is missing (a gap, no bar).
struct Series {
    std::string name;
    std::vector<double> values;
    std::vector<double> errors; // ± around each value (drawn as error bars); empty for none
};

struct LineChart {
    std::string title;
    std::string x_label;
    std::string y_label;
    std::vector<double> x;            // the x of every value, shared by the series
    std::vector<std::string> x_names; // a name per x for a categorical axis; empty: numeric ticks
    bool log_x = false; // numeric x on a log scale, ticked at the data's x: k of a learning curve (0 one
                        // doubling left of the smallest positive x)
    std::vector<Series> series;
    std::optional<double> y_min; // the y axis never goes below / above these (F1: 0 and 1)
    std::optional<double> y_max;
    std::optional<double> marker_x; // a dashed vertical line, e.g. at the best epoch
    std::string marker_label;
};

struct BarChart {
    std::string title;
    std::string x_label;
    std::string y_label;
    std::vector<std::string> groups; // along the x axis
    std::vector<Series> series;      // each has one value per group, drawn side by side
};

// Polar axes from 0 (centre) to 1 (rim), one polygon per series.
struct RadarChart {
    std::string title;
    std::vector<std::string> axes;
    std::vector<Series> series; // one value in [0, 1] per axis
};

struct Heatmap {
    std::string title;
    std::string x_label;
    std::string y_label;
    std::vector<std::string> rows;
    std::vector<std::string> columns;
    std::vector<std::vector<std::int64_t>> counts; // [row][column]
};

std::string line_chart(const LineChart& chart);
std::string grouped_bar_chart(const BarChart& chart);
std::string radar_chart(const RadarChart& chart);
// Cells shaded by their share of the row (so a small class's row reads as well as a
// large one's), labelled with the count and that share.
std::string heatmap(const Heatmap& chart);

} // namespace msa::report::svg

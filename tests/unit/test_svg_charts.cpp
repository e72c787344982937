// The report's SVG charts: escaping, titles, axes and legends, gaps for missing values,
// error bars, heat-map counts and shares, radar polygons.
#include "report/svg_charts.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;
namespace svg = msa::report::svg;

namespace {

constexpr double gap = std::numeric_limits<double>::quiet_NaN();

std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
    return n;
}

} // namespace

TEST_CASE("escape makes any text safe in XML and HTML text and attributes") {
    CHECK(svg::escape(R"(<b>&"it's")") == "&lt;b&gt;&amp;&quot;it&#39;s&quot;");
    CHECK(svg::escape("café — ok") == "café — ok");
}

TEST_CASE("a line chart has its title, axis labels, legend, error bars and breaks at missing values") {
    svg::LineChart chart;
    chart.title = "F1 <by> phase";
    chart.x_label = "phase";
    chart.y_label = "test F1";
    chart.x = {0, 1, 2, 3};
    chart.x_names = {"baseline", "architecture", "loss", "ablation"};
    chart.y_min = 0;
    chart.y_max = 1;
    chart.series = {{"weighted F1", {0.65, 0.70, gap, 0.69}, {0.01, 0.02, gap, 0}},
                    {"F1 <b>&\"", {0.31, 0.33, gap, 0.41}, {}}};
    const std::string out = svg::line_chart(chart);
    CHECK_THAT(out, StartsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    CHECK_THAT(out, EndsWith("</svg>"));
    CHECK_THAT(out, Contains("<title>F1 &lt;by&gt; phase</title>"));
    CHECK_THAT(out, Contains(">phase</text>") && Contains(">test F1</text>") && Contains(">Legend</text>"));
    CHECK_THAT(out, Contains(">F1 &lt;b&gt;&amp;&quot;</text>"));
    CHECK(out.find("<b>") == std::string::npos);
    // Two lines, each broken at the missing third phase: a new "M" after the gap.
    CHECK(count(out, "<path d=\"M") == 2);
    CHECK(count(out, " M") == 2);
    CHECK(count(out, "<circle") == 6);
    CHECK_THAT(out, Contains("<title>weighted F1: architecture: 0.700 ± 0.020</title>"));
    // Error bars: a vertical line and two caps for each of the two non-zero errors.
    CHECK(count(out, "stroke-width=\"1.5\"") == 6);
    for (const char* name : {">baseline</text>", ">architecture</text>", ">loss</text>", ">ablation</text>"})
        CHECK_THAT(out, Contains(name));
}

TEST_CASE("a numeric line chart marks the best epoch and has round ticks") {
    svg::LineChart chart;
    chart.title = "loss";
    chart.x_label = "epoch";
    chart.y_label = "loss";
    chart.x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    chart.series = {{"train loss", {0.9, 0.7, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1}, {}}};
    chart.y_min = 0;
    chart.marker_x = 4;
    chart.marker_label = "best epoch 4";
    const std::string out = svg::line_chart(chart);
    CHECK_THAT(out, Contains("stroke-dasharray") && Contains(">best epoch 4</text>"));
    CHECK_THAT(out, Contains(">10</text>") && Contains(">0.0</text>") && Contains(">1.0</text>"));
}

TEST_CASE("a chart with no values says so instead of failing") {
    svg::LineChart chart;
    chart.title = "nothing";
    chart.x = {0};
    chart.x_names = {"clip"};
    chart.series = {{"weighted F1", {gap}, {gap}}};
    CHECK_THAT(svg::line_chart(chart), Contains("no values to show"));
    svg::BarChart bars;
    bars.title = "nothing";
    bars.groups = {"clip"};
    bars.series = {{"negative", {gap}, {}}};
    CHECK_THAT(svg::grouped_bar_chart(bars), Contains("no values to show"));
}

TEST_CASE("grouped bars: one bar per series and group, tooltips with mean ± std") {
    svg::BarChart chart;
    chart.title = "per class";
    chart.x_label = "phase";
    chart.y_label = "F1";
    chart.groups = {"baseline", "architecture"};
    chart.series = {{"negative", {0.55, 0.59}, {0.03, 0.02}},
                    {"neutral", {0.32, gap}, {0.04, gap}},
                    {"positive", {0.76, 0.78}, {0.01, 0.01}}};
    const std::string out = svg::grouped_bar_chart(chart);
    CHECK(count(out, "<rect x=") == 5 + 3); // five bars and three legend swatches
    CHECK_THAT(out, Contains("<title>baseline: neutral: 0.320 ± 0.040</title>"));
    CHECK_THAT(out, Contains(">per class</text>") && Contains(">phase</text>") && Contains(">F1</text>"));
}

TEST_CASE("a radar chart draws one polygon per series and names every axis") {
    svg::RadarChart chart;
    chart.title = "ablation";
    chart.axes = {"accuracy", "macro F1", "weighted F1", "F1 negative", "F1 neutral", "F1 positive"};
    chart.series = {{"keep=both", {0.69, 0.60, 0.69, 0.59, 0.42, 0.78}, {}},
                    {"keep=text", {0.65, 0.50, 0.63, 0.51, 0.21, 0.78}, {}},
                    {"failed", {gap, gap, gap, gap, gap, gap}, {}}};
    const std::string out = svg::radar_chart(chart);
    // Five rings, and the two series that have values.
    CHECK(count(out, "<polygon") == 5 + 2);
    CHECK(count(out, "fill-opacity=\"0.12\"") == 2);
    for (const auto& axis : chart.axes) CHECK_THAT(out, Contains(">" + axis + "</text>"));
    CHECK_THAT(out, Contains(">failed (no values)</text>"));
    CHECK_THAT(out, Contains("<title>keep=text: F1 neutral: 0.210</title>"));
}

TEST_CASE("a heat map shows every count and its share of the row") {
    svg::Heatmap chart;
    chart.title = "confusion";
    chart.x_label = "predicted class";
    chart.y_label = "true class";
    chart.rows = chart.columns = {"negative", "neutral", "positive"};
    chart.counts = {{62, 7, 35}, {9, 14, 14}, {34, 9, 166}};
    const std::string out = svg::heatmap(chart);
    for (const char* count_text : {">62</text>", ">14</text>", ">166</text>", ">35</text>"})
        CHECK_THAT(out, Contains(count_text));
    CHECK_THAT(out, Contains("<title>true neutral, predicted neutral: 14 (37.8% of the row)</title>"));
    CHECK_THAT(out, Contains(">predicted class</text>") && Contains(">true class</text>") && Contains(">Legend</text>"));
    // The fullest share of a row is the darkest cell; an empty one is white.
    CHECK(out.find("fill=\"#ffffff\" stroke=\"#ffffff\"") == std::string::npos);
    CHECK_THAT(svg::heatmap({"t", "p", "t", {"a", "b"}, {"a", "b"}, {{3, 0}, {0, 0}}}),
               Contains("fill=\"#1f4e8a\"") && Contains("fill=\"#ffffff\" stroke=\"#ffffff\""));
}

// SVG drawing of the report's charts. Sizes are in CSS pixels; text widths are estimated
// (no font metrics without a renderer), generously, so labels do not collide.
#include "report/svg_charts.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

namespace msa::report::svg {

namespace {

// Tableau 10: a palette made to keep up to ten series apart.
constexpr const char* palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                   "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
const char* colour(std::size_t i) { return palette[i % std::size(palette)]; }

constexpr double pi = 3.14159265358979323846;
constexpr double font_size = 12;
constexpr double char_width = 7; // a wide average for 12 px sans-serif
constexpr double title_char_width = 9; // 15 px bold
constexpr double legend_row = 18;

// Code points, not bytes: labels from manifests may be any UTF-8.
std::size_t display_length(std::string_view text) {
    return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

// At most `max` code points, the last one an ellipsis when cut.
std::string shorten(std::string_view text, std::size_t max) {
    if (display_length(text) <= max) return std::string(text);
    std::size_t points = 0, i = 0;
    for (; i < text.size(); ++i)
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && ++points == max) break;
    return std::string(text.substr(0, i)) + "…";
}

std::string format_value(double value) { return fmt::format("{:.3f}", value); }

std::string format_value(const Series& s, std::size_t i) {
    if (i < s.errors.size() && std::isfinite(s.errors[i]))
        return fmt::format("{:.3f} ± {:.3f}", s.values[i], s.errors[i]);
    return format_value(s.values[i]);
}

double error_at(const Series& s, std::size_t i) {
    return i < s.errors.size() && std::isfinite(s.errors[i]) ? s.errors[i] : 0.0;
}

bool has_value(const Series& s, std::size_t i) { return i < s.values.size() && std::isfinite(s.values[i]); }

// Builds one <svg> element.
class Canvas {
public:
    // A canvas at least as wide as its title, which is drawn centred at the top.
    Canvas(double width, double height, std::string_view title) {
        width = std::max(width, static_cast<double>(display_length(title)) * title_char_width + 24);
        fmt::format_to(out(),
                       "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"{0:.0f}\" height=\"{1:.0f}\" "
                       "viewBox=\"0 0 {0:.0f} {1:.0f}\" role=\"img\" font-family=\"sans-serif\" font-size=\"{2:.0f}\">"
                       "<title>{3}</title>"
                       "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>",
                       width, height, font_size, escape(title));
        text(width / 2, 22, title, "text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\"");
    }
    std::back_insert_iterator<std::string> out() { return std::back_inserter(svg_); }
    void text(double x, double y, std::string_view content, std::string_view attributes = {}) {
        fmt::format_to(out(), "<text x=\"{:.1f}\" y=\"{:.1f}\" {}>{}</text>", x, y, attributes, escape(content));
    }
    // A text whose full content shows as a tooltip when it had to be shortened.
    void label(double x, double y, std::string_view content, std::size_t max, std::string_view attributes = {}) {
        const std::string shown = shorten(content, max);
        if (shown == content) return text(x, y, content, attributes);
        fmt::format_to(out(), "<text x=\"{:.1f}\" y=\"{:.1f}\" {}><title>{}</title>{}</text>", x, y, attributes,
                       escape(content), escape(shown));
    }
    void line(double x1, double y1, double x2, double y2, std::string_view stroke, std::string_view extra = {}) {
        fmt::format_to(out(), "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" {}/>", x1,
                       y1, x2, y2, stroke, extra);
    }
    std::string finish() { return svg_ + "</svg>"; }

private:
    std::string svg_;
};

// Ticks at a round step (1, 2 or 5 × 10^k) covering [lo, hi], about `target` of them.
struct Ticks {
    double lo = 0, hi = 1, step = 0.2;
    int decimals = 1;
    std::vector<double> values;
};

Ticks nice_ticks(double lo, double hi, int target = 5, bool widen = true) {
    if (!(hi > lo)) {
        const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
        lo -= pad;
        hi += pad;
    }
    const double raw = (hi - lo) / target;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    const double norm = raw / magnitude;
    const double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
    Ticks ticks;
    ticks.step = step;
    ticks.decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
    ticks.lo = widen ? std::floor(lo / step + 1e-9) * step : lo;
    ticks.hi = widen ? std::ceil(hi / step - 1e-9) * step : hi;
    for (double v = std::ceil(ticks.lo / step - 1e-9) * step; v <= ticks.hi + step * 1e-6; v += step)
        ticks.values.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
    return ticks;
}

// The legend's width for these names, shortened to 28 code points.
double legend_width(const std::vector<Series>& series) {
    std::size_t longest = 4;
    for (const auto& s : series) longest = std::max(longest, std::min<std::size_t>(display_length(s.name), 28));
    return 34 + static_cast<double>(longest) * char_width;
}

enum class Swatch { line, box };

void legend(Canvas& canvas, double x, double y, const std::vector<Series>& series, Swatch swatch) {
    canvas.text(x, y, "Legend", "font-weight=\"bold\"");
    for (std::size_t i = 0; i < series.size(); ++i) {
        const double row = y + legend_row * static_cast<double>(i + 1);
        if (swatch == Swatch::line) {
            canvas.line(x, row - 4, x + 22, row - 4, colour(i), "stroke-width=\"2.5\"");
        } else {
            fmt::format_to(canvas.out(), "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"14\" height=\"11\" fill=\"{}\"/>", x,
                           row - 10, colour(i));
        }
        canvas.label(x + 28, row, series[i].name, 28);
    }
}

// Where a categorical axis puts its names: slanted when they do not fit their slot.
struct CategoryAxis {
    bool slanted = false;
    double height = 0; // below the plot, for the names
};

CategoryAxis category_axis(const std::vector<std::string>& names, double slot) {
    std::size_t longest = 0;
    for (const auto& name : names) longest = std::max(longest, std::min<std::size_t>(display_length(name), 24));
    CategoryAxis axis;
    axis.slanted = static_cast<double>(longest) * char_width > slot - 6;
    axis.height = axis.slanted ? 18 + static_cast<double>(longest) * char_width * 0.6 : 20;
    return axis;
}

void category_names(Canvas& canvas, const std::vector<std::string>& names, const CategoryAxis& axis, double left,
                    double slot, double y) {
    for (std::size_t i = 0; i < names.size(); ++i) {
        const double x = left + slot * (static_cast<double>(i) + 0.5);
        if (axis.slanted)
            canvas.label(x, y + 14, names[i], 24,
                         fmt::format("text-anchor=\"end\" transform=\"rotate(-35 {:.1f} {:.1f})\"", x, y + 14));
        else
            canvas.label(x, y + 16, names[i], 24, "text-anchor=\"middle\"");
    }
}

// A plot area with its y axis: grid lines, tick values and the axis label.
struct Frame {
    double left, top, width, height;
    Ticks y;
    double to_y(double v) const { return top + height - (v - y.lo) / (y.hi - y.lo) * height; }
};

void draw_frame(Canvas& canvas, const Frame& f, std::string_view y_label) {
    for (double v : f.y.values) {
        const double y = f.to_y(v);
        canvas.line(f.left, y, f.left + f.width, y, "#e3e3e3");
        canvas.text(f.left - 6, y + 4, fmt::format("{:.{}f}", v, f.y.decimals), "text-anchor=\"end\" fill=\"#444\"");
    }
    canvas.line(f.left, f.top, f.left, f.top + f.height, "#333");
    canvas.line(f.left, f.top + f.height, f.left + f.width, f.top + f.height, "#333");
    const double cy = f.top + f.height / 2;
    canvas.text(16, cy, y_label,
                fmt::format("text-anchor=\"middle\" transform=\"rotate(-90 16 {:.1f})\"", cy));
}

void error_bar(Canvas& canvas, const Frame& f, double x, double value, double error, const char* stroke) {
    if (!(error > 0)) return;
    // Kept inside the plot where the axis is bounded (F1 stops at 0 and 1).
    const double y1 = std::min(f.to_y(value - error), f.top + f.height);
    const double y2 = std::max(f.to_y(value + error), f.top);
    canvas.line(x, y1, x, y2, stroke, "stroke-width=\"1.5\"");
    canvas.line(x - 4, y1, x + 4, y1, stroke, "stroke-width=\"1.5\"");
    canvas.line(x - 4, y2, x + 4, y2, stroke, "stroke-width=\"1.5\"");
}

void no_data(Canvas& canvas, const Frame& f) {
    canvas.text(f.left + f.width / 2, f.top + f.height / 2, "no values to show",
                "text-anchor=\"middle\" fill=\"#888\"");
}

} // namespace

std::string escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

std::string line_chart(const LineChart& chart) {
    const bool categorical = !chart.x_names.empty();
    const double plot_width = 400, plot_height = 240, left = 66, top = 44;
    const std::size_t points = chart.x.size();

    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto& s : chart.series)
        for (std::size_t i = 0; i < points; ++i)
            if (has_value(s, i)) {
                lo = std::min(lo, s.values[i] - error_at(s, i));
                hi = std::max(hi, s.values[i] + error_at(s, i));
            }
    const bool empty = !std::isfinite(lo);
    if (empty) {
        lo = chart.y_min.value_or(0);
        hi = chart.y_max.value_or(1);
    } else {
        const double pad = hi > lo ? (hi - lo) * 0.08 : 0.05;
        lo -= pad;
        hi += pad;
    }
    if (chart.y_min) lo = std::max(lo, *chart.y_min);
    if (chart.y_max) hi = std::min(hi, *chart.y_max);
    Ticks y = nice_ticks(lo, hi);
    if (chart.y_min) y.lo = std::max(y.lo, *chart.y_min);
    if (chart.y_max) y.hi = std::min(y.hi, *chart.y_max);

    const double slot = plot_width / static_cast<double>(std::max<std::size_t>(points, 1));
    const CategoryAxis names = categorical ? category_axis(chart.x_names, slot) : CategoryAxis{};
    const double below = categorical ? names.height : 22;
    const double width = left + plot_width + 28 + legend_width(chart.series);
    const double height = std::max(top + plot_height + below + 34,
                                   top + legend_row * static_cast<double>(chart.series.size() + 1) + 12);
    Canvas canvas(width, height, chart.title);
    const Frame f{left, top, plot_width, plot_height, y};
    draw_frame(canvas, f, chart.y_label);

    // x positions: category slots, or a linear numeric axis with its own round ticks.
    // Log scale: a point at x <= 0 (k = 0, zero-shot) sits one doubling left of the smallest x.
    double smallest = std::numeric_limits<double>::infinity();
    for (double v : chart.x)
        if (v > 0) smallest = std::min(smallest, v);
    const double at_zero = std::isfinite(smallest) ? std::log(smallest / 2) : 0.0;
    const auto scale = [&](double value) { return !chart.log_x ? value : value > 0 ? std::log(value) : at_zero; };
    double x_lo = 0, x_hi = 1;
    if (!categorical && points > 0) {
        x_lo = scale(*std::min_element(chart.x.begin(), chart.x.end()));
        x_hi = scale(*std::max_element(chart.x.begin(), chart.x.end()));
        if (chart.marker_x) {
            x_lo = std::min(x_lo, scale(*chart.marker_x));
            x_hi = std::max(x_hi, scale(*chart.marker_x));
        }
        if (x_hi == x_lo) {
            x_lo -= 0.5;
            x_hi += 0.5;
        }
    }
    auto to_x = [&](std::size_t i, double value) {
        if (categorical) return left + slot * (static_cast<double>(i) + 0.5);
        return left + 8 + (scale(value) - x_lo) / (x_hi - x_lo) * (plot_width - 16);
    };
    const double axis_y = top + plot_height;
    if (categorical) {
        category_names(canvas, chart.x_names, names, left, slot, axis_y);
    } else if (chart.log_x) {
        for (std::size_t i = 0; i < points; ++i) {
            const double x = to_x(i, chart.x[i]);
            canvas.line(x, axis_y, x, axis_y + 4, "#333");
            canvas.text(x, axis_y + 17, fmt::format("{:g}", chart.x[i]), "text-anchor=\"middle\" fill=\"#444\"");
        }
    } else {
        const Ticks x_ticks = nice_ticks(x_lo, x_hi, 6, false);
        for (double v : x_ticks.values) {
            const double x = left + 8 + (v - x_lo) / (x_hi - x_lo) * (plot_width - 16);
            canvas.line(x, axis_y, x, axis_y + 4, "#333");
            canvas.text(x, axis_y + 17, fmt::format("{:.{}f}", v, x_ticks.decimals),
                        "text-anchor=\"middle\" fill=\"#444\"");
        }
    }
    canvas.text(left + plot_width / 2, axis_y + below + 22, chart.x_label, "text-anchor=\"middle\"");

    if (chart.marker_x) {
        const double x = to_x(0, *chart.marker_x);
        canvas.line(x, top, x, axis_y, "#777", "stroke-dasharray=\"4 3\"");
        canvas.text(x + 4, top + 12, chart.marker_label, "fill=\"#555\" font-size=\"11\"");
    }
    if (empty) no_data(canvas, f);

    const double radius = points > 60 ? 0 : points > 30 ? 2 : 3.5;
    for (std::size_t s = 0; s < chart.series.size(); ++s) {
        const Series& series = chart.series[s];
        std::string path;
        bool pen_down = false;
        for (std::size_t i = 0; i < points; ++i) {
            if (!has_value(series, i)) {
                pen_down = false;
                continue;
            }
            fmt::format_to(std::back_inserter(path), "{}{:.1f} {:.1f} ", pen_down ? "L" : "M",
                           to_x(i, chart.x[i]), f.to_y(series.values[i]));
            pen_down = true;
        }
        if (!path.empty())
            fmt::format_to(canvas.out(), "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>", path,
                           colour(s));
        for (std::size_t i = 0; i < points; ++i) {
            if (!has_value(series, i)) continue;
            const double x = to_x(i, chart.x[i]);
            error_bar(canvas, f, x, series.values[i], error_at(series, i), colour(s));
            if (radius > 0) {
                const std::string where = categorical ? chart.x_names[i] : fmt::format("{:g}", chart.x[i]);
                fmt::format_to(canvas.out(),
                               "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\" fill=\"{}\"><title>{}: {}: {}</title></circle>",
                               x, f.to_y(series.values[i]), radius, colour(s), escape(series.name), escape(where),
                               escape(format_value(series, i)));
            }
        }
    }
    legend(canvas, left + plot_width + 28, top + 4, chart.series, Swatch::line);
    return canvas.finish();
}

std::string grouped_bar_chart(const BarChart& chart) {
    const double left = 66, top = 44, plot_height = 240;
    const std::size_t groups = chart.groups.size(), bars = chart.series.size();
    const double plot_width =
        std::max(400.0, static_cast<double>(groups) * (static_cast<double>(bars) * 12 + 20));

    double hi = 0;
    bool empty = true;
    for (const auto& s : chart.series)
        for (std::size_t g = 0; g < groups; ++g)
            if (has_value(s, g)) {
                hi = std::max(hi, s.values[g] + error_at(s, g));
                empty = false;
            }
    const Ticks y = nice_ticks(0, empty ? 1 : hi);

    const double slot = plot_width / static_cast<double>(std::max<std::size_t>(groups, 1));
    const CategoryAxis names = category_axis(chart.groups, slot);
    const double width = left + plot_width + 28 + legend_width(chart.series);
    const double height = std::max(top + plot_height + names.height + 34,
                                   top + legend_row * static_cast<double>(bars + 1) + 12);
    Canvas canvas(width, height, chart.title);
    const Frame f{left, top, plot_width, plot_height, y};
    draw_frame(canvas, f, chart.y_label);
    const double axis_y = top + plot_height;
    category_names(canvas, chart.groups, names, left, slot, axis_y);
    canvas.text(left + plot_width / 2, axis_y + names.height + 22, chart.x_label, "text-anchor=\"middle\"");
    if (empty) no_data(canvas, f);

    const double bar_width = std::min(28.0, slot * 0.8 / static_cast<double>(std::max<std::size_t>(bars, 1)));
    for (std::size_t g = 0; g < groups; ++g) {
        const double start = left + slot * (static_cast<double>(g) + 0.5) - bar_width * static_cast<double>(bars) / 2;
        for (std::size_t s = 0; s < bars; ++s) {
            const Series& series = chart.series[s];
            if (!has_value(series, g)) continue;
            const double x = start + bar_width * static_cast<double>(s);
            const double value = std::max(series.values[g], 0.0);
            const double y_top = f.to_y(value);
            fmt::format_to(canvas.out(),
                           "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
                           "<title>{}: {}: {}</title></rect>",
                           x + 1, y_top, bar_width - 2, axis_y - y_top, colour(s), escape(chart.groups[g]),
                           escape(series.name), escape(format_value(series, g)));
            error_bar(canvas, f, x + bar_width / 2, series.values[g], error_at(series, g), "#333");
        }
    }
    legend(canvas, left + plot_width + 28, top + 4, chart.series, Swatch::box);
    return canvas.finish();
}

std::string radar_chart(const RadarChart& chart) {
    const double radius = 140, top = 44;
    const std::size_t axes = chart.axes.size();
    std::size_t longest = 0;
    for (const auto& axis : chart.axes) longest = std::max(longest, std::min<std::size_t>(display_length(axis), 20));
    const double margin = 24 + static_cast<double>(longest) * char_width; // room for the axis names
    const double cx = margin + radius, cy = top + 30 + radius;
    const double width = cx + radius + margin + 12 + legend_width(chart.series);
    const double height = std::max(cy + radius + 44, top + legend_row * static_cast<double>(chart.series.size() + 1) + 12);
    Canvas canvas(width, height, chart.title);

    // Axis k points up for k = 0 and the others follow clockwise.
    auto point = [&](std::size_t k, double value) {
        const double angle = 2 * pi * static_cast<double>(k) / static_cast<double>(axes) - pi / 2;
        return std::pair{cx + radius * value * std::cos(angle), cy + radius * value * std::sin(angle)};
    };
    auto polygon = [&](const std::vector<double>& values) {
        std::string points;
        for (std::size_t k = 0; k < axes; ++k) {
            const auto [x, y] = point(k, std::clamp(values[k], 0.0, 1.0));
            fmt::format_to(std::back_inserter(points), "{:.1f},{:.1f} ", x, y);
        }
        return points;
    };
    for (int ring = 1; ring <= 5; ++ring) {
        const double value = ring / 5.0;
        fmt::format_to(canvas.out(), "<polygon points=\"{}\" fill=\"none\" stroke=\"#dddddd\"/>",
                       polygon(std::vector<double>(axes, value)));
        const auto [x, y] = point(0, value);
        canvas.text(x + 4, y + 4, fmt::format("{:.1f}", value), "fill=\"#666\" font-size=\"10\"");
    }
    for (std::size_t k = 0; k < axes; ++k) {
        const auto [x, y] = point(k, 1.0);
        canvas.line(cx, cy, x, y, "#bbbbbb");
        const auto [lx, ly] = point(k, 1.1);
        const double dx = lx - cx;
        const char* anchor = std::abs(dx) < 1 ? "middle" : dx > 0 ? "start" : "end";
        canvas.label(lx, ly + 4, chart.axes[k], 20, fmt::format("text-anchor=\"{}\"", anchor));
    }
    std::vector<Series> shown = chart.series;
    for (std::size_t s = 0; s < chart.series.size(); ++s) {
        const Series& series = chart.series[s];
        std::vector<double> values(axes, 0.0);
        std::size_t present = 0;
        for (std::size_t k = 0; k < axes; ++k)
            if (has_value(series, k)) {
                values[k] = series.values[k];
                ++present;
            }
        if (present == 0) {
            shown[s].name += " (no values)";
            continue;
        }
        if (present < axes) shown[s].name += " (missing values at 0)";
        fmt::format_to(canvas.out(),
                       "<polygon points=\"{}\" fill=\"{}\" fill-opacity=\"0.12\" stroke=\"{}\" stroke-width=\"2\"/>",
                       polygon(values), colour(s), colour(s));
        for (std::size_t k = 0; k < axes; ++k) {
            if (!has_value(series, k)) continue;
            const auto [x, y] = point(k, std::clamp(values[k], 0.0, 1.0));
            fmt::format_to(canvas.out(),
                           "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"><title>{}: {}: {}</title></circle>", x,
                           y, colour(s), escape(series.name), escape(chart.axes[k]), escape(format_value(series, k)));
        }
    }
    legend(canvas, cx + radius + margin + 12, top + 4, shown, Swatch::line);
    return canvas.finish();
}

std::string heatmap(const Heatmap& chart) {
    const std::size_t rows = chart.rows.size(), columns = chart.columns.size();
    const double cell = 64, top = 44;
    std::size_t longest = 0;
    for (const auto& name : chart.rows) longest = std::max(longest, std::min<std::size_t>(display_length(name), 20));
    const double left = 40 + static_cast<double>(longest) * char_width;
    const double grid_width = cell * static_cast<double>(columns), grid_height = cell * static_cast<double>(rows);
    const CategoryAxis names = category_axis(chart.columns, cell);
    const double legend_x = left + grid_width + 28;
    const double width = legend_x + 150;
    const double height = std::max(top + 10 + grid_height + names.height + 34, top + 150.0);
    Canvas canvas(width, height, chart.title);
    const double grid_top = top + 10;

    // White to a dark blue by the share of the row; the text turns white on dark cells.
    auto shade = [](double share) {
        const auto mix = [share](int from, int to) { return static_cast<int>(std::lround(from + (to - from) * share)); };
        return fmt::format("#{:02x}{:02x}{:02x}", mix(0xff, 0x1f), mix(0xff, 0x4e), mix(0xff, 0x8a));
    };
    for (std::size_t r = 0; r < rows; ++r) {
        std::int64_t total = 0;
        for (std::size_t c = 0; c < columns && r < chart.counts.size() && c < chart.counts[r].size(); ++c)
            total += chart.counts[r][c];
        const double y = grid_top + cell * static_cast<double>(r);
        canvas.label(left - 8, y + cell / 2 + 4, chart.rows[r], 20, "text-anchor=\"end\"");
        for (std::size_t c = 0; c < columns; ++c) {
            const std::int64_t count = r < chart.counts.size() && c < chart.counts[r].size() ? chart.counts[r][c] : 0;
            const double share = total > 0 ? static_cast<double>(count) / static_cast<double>(total) : 0.0;
            const double x = left + cell * static_cast<double>(c);
            fmt::format_to(canvas.out(),
                           "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" stroke=\"#ffffff\">"
                           "<title>true {}, predicted {}: {} ({:.1f}% of the row)</title></rect>",
                           x, y, cell, cell, shade(share), escape(chart.rows[r]), escape(chart.columns[c]), count,
                           share * 100);
            const char* ink = share > 0.5 ? "#ffffff" : "#222222";
            canvas.text(x + cell / 2, y + cell / 2, fmt::format("{}", count),
                        fmt::format("text-anchor=\"middle\" font-weight=\"bold\" fill=\"{}\"", ink));
            canvas.text(x + cell / 2, y + cell / 2 + 15, fmt::format("{:.0f}%", share * 100),
                        fmt::format("text-anchor=\"middle\" font-size=\"10\" fill=\"{}\"", ink));
        }
    }
    const double axis_y = grid_top + grid_height;
    category_names(canvas, chart.columns, names, left, cell, axis_y);
    canvas.text(left + grid_width / 2, axis_y + names.height + 22, chart.x_label, "text-anchor=\"middle\"");
    const double cy = grid_top + grid_height / 2;
    canvas.text(16, cy, chart.y_label, fmt::format("text-anchor=\"middle\" transform=\"rotate(-90 16 {:.1f})\"", cy));

    // The legend is the colour scale: share of the row from 0% to 100%.
    canvas.text(legend_x, top + 14, "Legend", "font-weight=\"bold\"");
    canvas.text(legend_x, top + 32, "share of the true class");
    for (int step = 0; step <= 4; ++step) {
        const double y = top + 42 + 20.0 * step;
        fmt::format_to(canvas.out(), "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"14\" height=\"14\" fill=\"{}\" stroke=\"#cccccc\"/>",
                       legend_x, y, shade(step / 4.0));
        canvas.text(legend_x + 22, y + 11, fmt::format("{}%", step * 25));
    }
    return canvas.finish();
}

} // namespace msa::report::svg

// Progress bar and periodic progress lines.
#include "util/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace msa {

namespace {

constexpr auto kBarInterval = std::chrono::milliseconds(100);
constexpr auto kLineInterval = std::chrono::seconds(10);

std::string rate_text(double rate) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, rate >= 100 ? "%.0f" : "%.1f", rate);
    return buffer;
}

} // namespace

Progress::Progress(std::string label, std::int64_t total, std::ostream& out, Style style, Clock::time_point started)
    : label_(std::move(label)), total_(total), out_(out), style_(style), start_(started) {
    if (style_ == Style::automatic)
        style_ = (&out_ == &std::cerr && isatty(STDERR_FILENO)) ? Style::bar : Style::lines;
}

Progress::~Progress() {
    if (!finished_) finish();
}

std::string Progress::format_duration(double seconds) {
    char buffer[48];
    if (!std::isfinite(seconds) || seconds < 0) return "?";
    if (seconds < 60) {
        std::snprintf(buffer, sizeof buffer, "%.1f s", seconds);
    } else if (seconds < 3600) {
        const auto s = static_cast<long>(seconds);
        std::snprintf(buffer, sizeof buffer, "%ld min %02ld s", s / 60, s % 60);
    } else {
        const auto m = static_cast<long>(seconds / 60);
        std::snprintf(buffer, sizeof buffer, "%ld h %02ld min", m / 60, m % 60);
    }
    return buffer;
}

void Progress::advance(std::int64_t items) {
    done_ += items;
    if (style_ == Style::quiet) return;
    const auto now = Clock::now();
    if (now - last_draw_ >= (style_ == Style::bar ? Clock::duration(kBarInterval) : Clock::duration(kLineInterval))) {
        last_draw_ = now;
        draw(false);
    }
}

void Progress::finish() {
    if (finished_) return;
    finished_ = true;
    if (style_ != Style::quiet) draw(true);
}

void Progress::draw(bool final) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
    const double fraction = total_ > 0 ? std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_)) : 1.0;
    const std::string counts = std::to_string(done_) + "/" + std::to_string(total_);
    std::string tail = final ? "in " + format_duration(elapsed)
                             : "ETA " + (rate > 0 ? format_duration(static_cast<double>(total_ - done_) / rate) : "?");
    if (style_ == Style::bar) {
        constexpr int width = 28;
        const int filled = static_cast<int>(fraction * width);
        out_ << "\r" << label_ << " [" << std::string(filled, '#') << std::string(width - filled, '.') << "] " << counts
             << " " << rate_text(rate) << " items/s " << tail << "\033[K";
        if (final) out_ << "\n";
    } else {
        out_ << label_ << ": " << counts << " (" << static_cast<int>(fraction * 100) << "%), " << rate_text(rate)
             << " items/s, " << tail << "\n";
    }
    out_.flush();
}

} // namespace msa

// Progress of long work on stderr: a live bar on a terminal, plain periodic lines
// otherwise (logs, CI), with items/s and an ETA.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace msa {

class Progress {
public:
    enum class Style { automatic, bar, lines, quiet };

    // `automatic` draws a bar when `out` is stderr and stderr is a terminal. `started`:
    // when the work began, for a Progress made once the work has shown it is long.
    Progress(std::string label, std::int64_t total, std::ostream& out, Style style = Style::automatic,
             std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now());
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void advance(std::int64_t items = 1);
    // Prints the closing line (done automatically on destruction).
    void finish();

    // "12.3 s", "4 min 05 s", "1 h 02 min".
    static std::string format_duration(double seconds);

private:
    void draw(bool final);

    using Clock = std::chrono::steady_clock;
    std::string label_;
    std::int64_t total_;
    std::int64_t done_ = 0;
    std::ostream& out_;
    Style style_;
    Clock::time_point start_ = Clock::now();
    Clock::time_point last_draw_{};
    bool finished_ = false;
};

} // namespace msa

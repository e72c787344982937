// Progress reporting: plain lines when not on a terminal, and duration formatting.
#include "util/progress.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using msa::Progress;
using Catch::Matchers::Contains;

TEST_CASE("progress writes plain lines off a terminal and a closing line with the totals") {
    std::ostringstream out;
    {
        Progress progress("encode text", 10, out);
        for (int i = 0; i < 10; ++i) progress.advance();
    }
    const std::string text = out.str();
    CHECK_THAT(text, Contains("encode text: 10/10 (100%)") && Contains("items/s, in "));
    CHECK(text.find('\r') == std::string::npos);
}

TEST_CASE("progress bar style redraws in place") {
    std::ostringstream out;
    Progress progress("encode", 4, out, Progress::Style::bar);
    progress.advance(4);
    progress.finish();
    CHECK_THAT(out.str(), Contains("\rencode [############################] 4/4"));
}

TEST_CASE("durations read naturally") {
    CHECK(Progress::format_duration(12.34) == "12.3 s");
    CHECK(Progress::format_duration(245) == "4 min 05 s");
    CHECK(Progress::format_duration(3720) == "1 h 02 min");
}

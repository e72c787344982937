// Catch2 entry point for the unit tests. A listener counts the test cases that run and
// collects those that called MSA_SKIP (test_skip.hpp): they are listed after the run,
// and a run in which every test case was skipped and none failed exits 77, which CTest
// reports as skipped (catch_discover_tests gives each test case its own run).
#define CATCH_CONFIG_RUNNER
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>

#include "test_skip.hpp"
#include "util/heap_policy.hpp"

#include <cstddef>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

struct SkipLog {
    std::size_t ran = 0;
    std::optional<std::string> reason; // of the test case running, once it skips
    std::vector<std::pair<std::string, std::string>> skipped; // test case, reason
};

SkipLog& skip_log() {
    static SkipLog log;
    return log;
}

class SkipListener : public Catch::TestEventListenerBase {
public:
    using TestEventListenerBase::TestEventListenerBase;

    void testCaseStarting(const Catch::TestCaseInfo& info) override {
        TestEventListenerBase::testCaseStarting(info);
        ++skip_log().ran;
        skip_log().reason.reset();
    }
    void testCaseEnded(const Catch::TestCaseStats& stats) override {
        if (skip_log().reason) skip_log().skipped.emplace_back(stats.testInfo.name, *skip_log().reason);
        skip_log().reason.reset();
        TestEventListenerBase::testCaseEnded(stats);
    }
};

} // namespace

CATCH_REGISTER_LISTENER(SkipListener)

void msa::test::record_skip(const std::string& reason) {
    // A test case with sections runs once per section: keep the first reason.
    if (!skip_log().reason) skip_log().reason = reason;
    std::cout << "skipped: " << reason << std::endl;
}

int main(int argc, char* argv[]) {
    msa::keep_freed_memory(); // as msa runs
    const int failed = Catch::Session().run(argc, argv);
    const SkipLog& log = skip_log();
    if (!log.skipped.empty()) {
        std::cout << log.skipped.size() << " test case" << (log.skipped.size() == 1 ? "" : "s") << " skipped:\n";
        for (const auto& [name, reason] : log.skipped) std::cout << "  " << name << ": " << reason << "\n";
        std::cout << std::flush;
    }
    if (failed == 0 && log.ran > 0 && log.skipped.size() == log.ran) return 77;
    return failed == 77 ? 78 : failed; // 77 failed test cases must not read as skipped
}

// Ctrl-C and SIGTERM while an executor runs a phase: the handler only sets a flag, which
// the executor checks to stop its trials itself (kill the workers, cancel the array).
#pragma once

#include <csignal>

namespace msa::study {

// Installs the handler for the object's lifetime, without SA_RESTART, so a blocked
// waitpid returns at once; the previous handlers come back afterwards.
class StopSignals {
public:
    StopSignals() {
        flag() = 0;
        struct sigaction action {};
        action.sa_handler = [](int) { flag() = 1; };
        sigemptyset(&action.sa_mask);
        sigaction(SIGINT, &action, &old_int_);
        sigaction(SIGTERM, &action, &old_term_);
    }
    ~StopSignals() {
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
    }
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

    // Whether a stop was asked for since the handler was installed.
    static bool requested() { return flag() != 0; }

private:
    static volatile std::sig_atomic_t& flag() {
        static volatile std::sig_atomic_t value = 0;
        return value;
    }
    struct sigaction old_int_ {}, old_term_ {};
};

} // namespace msa::study

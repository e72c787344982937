// What every fuzz target shares: the entry point (libFuzzer's, or the replay driver's), the
// rule that an input may only fail with an msa::Error that has a message, and a scratch
// folder for parsers that read paths.
#pragma once

#include <msa/error.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace msa::fuzz {

using TargetFunction = void (*)(const std::uint8_t* data, std::size_t size);

// Runs `function` on one input: returns normally, or throws msa::Error (or a subclass)
// with a non-empty message. Anything else (another exception type, an empty message) is
// reported on stderr and aborts, so that libFuzzer saves the input as a crash.
void run_guarded(const char* target, TargetFunction function, const std::uint8_t* data, std::size_t size);

// A broken invariant (an accepted input that does not round-trip, a probe that disagrees
// with the decoder): reported and aborted on, like a crash.
[[noreturn]] void fail(const std::string& what);

// This process's scratch folder (created on first use, removed at exit).
const std::filesystem::path& scratch();
// Writes `bytes` to scratch()/relative (creating folders) and returns the path.
std::filesystem::path write_scratch(const std::filesystem::path& relative, std::string_view bytes);
// Removes and recreates scratch()/relative as an empty folder.
std::filesystem::path fresh_folder(const std::filesystem::path& relative);

// Splits an input into parts at a separator line "\n----\n" (up to `max_parts`; the last
// part keeps any further separators), so one input can stand for several files.
std::vector<std::string_view> split_parts(std::string_view input, std::size_t max_parts);

// The replay driver's table (tests/fuzz/replay_main.cpp).
bool register_target(const char* name, TargetFunction function);

} // namespace msa::fuzz

// MSA_FUZZ_TARGET(name) { ...body using data, size... }
#define MSA_FUZZ_BODY(name) static void msa_fuzz_##name(const std::uint8_t* data, std::size_t size)
#ifdef MSA_FUZZ_LIBFUZZER
#define MSA_FUZZ_TARGET(name)                                                                          \
    MSA_FUZZ_BODY(name);                                                                               \
    extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {                \
        msa::fuzz::run_guarded(#name, msa_fuzz_##name, data, size);                                    \
        return 0;                                                                                      \
    }                                                                                                  \
    MSA_FUZZ_BODY(name)
#else
#define MSA_FUZZ_TARGET(name)                                                                          \
    MSA_FUZZ_BODY(name);                                                                               \
    [[maybe_unused]] static const bool msa_fuzz_registered_##name =                                    \
        msa::fuzz::register_target(#name, msa_fuzz_##name);                                            \
    MSA_FUZZ_BODY(name)
#endif

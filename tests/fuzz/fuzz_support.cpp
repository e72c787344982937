// The shared part of the fuzz targets: the guard around each input and the scratch folder.
#include "fuzz_target.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <system_error>
#include <typeinfo>
#include <vector>

#include <unistd.h>

namespace msa::fuzz {
namespace fs = std::filesystem;

void fail(const std::string& what) {
    std::fprintf(stderr, "fuzz: invariant broken: %s\n", what.c_str());
    std::fflush(stderr);
    std::abort();
}

void run_guarded(const char* target, TargetFunction function, const std::uint8_t* data, std::size_t size) {
    try {
        function(data, size);
    } catch (const msa::Error& e) {
        if (!e.what() || !*e.what()) fail(std::string(target) + ": an msa::Error with an empty message");
    } catch (const std::exception& e) {
        fail(std::string(target) + ": an exception that is not an msa::Error escaped (" + typeid(e).name() +
             "): " + e.what());
    } catch (...) {
        fail(std::string(target) + ": an exception of unknown type escaped");
    }
}

namespace {
fs::path g_scratch;
void remove_scratch() {
    std::error_code ec;
    if (!g_scratch.empty()) fs::remove_all(g_scratch, ec);
}
} // namespace

const fs::path& scratch() {
    if (g_scratch.empty()) {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/msa-fuzz-" +
                              std::to_string(::getpid()) + "-XXXXXX";
        std::vector<char> buffer(pattern.begin(), pattern.end());
        buffer.push_back('\0');
        if (!::mkdtemp(buffer.data())) fail("cannot create a scratch folder from " + pattern);
        g_scratch = buffer.data();
        std::atexit(remove_scratch);
    }
    return g_scratch;
}

fs::path write_scratch(const fs::path& relative, std::string_view bytes) {
    const fs::path file = scratch() / relative;
    fs::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) fail("cannot write the scratch file " + file.string());
    return file;
}

fs::path fresh_folder(const fs::path& relative) {
    const fs::path folder = scratch() / relative;
    std::error_code ec;
    fs::remove_all(folder, ec);
    fs::create_directories(folder);
    return folder;
}

std::vector<std::string_view> split_parts(std::string_view input, std::size_t max_parts) {
    static constexpr std::string_view kSeparator = "\n----\n";
    std::vector<std::string_view> parts;
    while (parts.size() + 1 < max_parts) {
        const auto at = input.find(kSeparator);
        if (at == std::string_view::npos) break;
        parts.push_back(input.substr(0, at));
        input.remove_prefix(at + kSeparator.size());
    }
    parts.push_back(input);
    return parts;
}

} // namespace msa::fuzz

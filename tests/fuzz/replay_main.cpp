// The replay driver of the normal (g++) build: every fuzz target linked into one program
// that runs a target once over given files and folders, without libFuzzer. The CTest
// label `fuzz-replay` runs each target over its seed corpus and regression inputs.
//   msa_fuzz_replay TARGET PATH...     (a folder: every file under it, in name order)
//   msa_fuzz_replay --list
#include "fuzz_target.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace msa::fuzz {
namespace {
std::map<std::string, TargetFunction>& targets() {
    static std::map<std::string, TargetFunction> table;
    return table;
}
} // namespace

bool register_target(const char* name, TargetFunction function) {
    targets().emplace(name, function);
    return true;
}
} // namespace msa::fuzz

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    const auto& table = msa::fuzz::targets();
    if (argc == 2 && std::string(argv[1]) == "--list") {
        for (const auto& [name, function] : table) std::printf("%s\n", name.c_str());
        return 0;
    }
    if (argc < 3) {
        std::fprintf(stderr, "usage: msa_fuzz_replay TARGET PATH... | --list\n");
        return 2;
    }
    const auto target = table.find(argv[1]);
    if (target == table.end()) {
        std::fprintf(stderr, "msa_fuzz_replay: unknown target '%s' (--list names them)\n", argv[1]);
        return 2;
    }
    std::vector<fs::path> files;
    for (int i = 2; i < argc; ++i) {
        const fs::path path = argv[i];
        if (fs::is_directory(path)) {
            for (const auto& entry : fs::recursive_directory_iterator(path))
                if (entry.is_regular_file()) files.push_back(entry.path());
        } else if (fs::is_regular_file(path)) {
            files.push_back(path);
        }
        // A target without committed seeds or regressions has no such folder: nothing to run.
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
        std::ifstream in(file, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::fprintf(stderr, "replay %s: %s (%zu bytes)\n", argv[1], file.c_str(), bytes.size());
        msa::fuzz::run_guarded(argv[1], target->second, reinterpret_cast<const std::uint8_t*>(bytes.data()),
                               bytes.size());
    }
    std::printf("msa_fuzz_replay %s: %zu inputs, no crash\n", argv[1], files.size());
    return 0;
}

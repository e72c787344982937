// CPU features from /proc/cpuinfo (the kernel's view, which also says whether the OS
// enabled AMX), with the compiler's CPUID probe as a fallback.
#include <msa/models/cpu_features.hpp>

#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>

namespace msa::models {

namespace {

CpuFeatures read_cpu_features() {
    CpuFeatures out;
    out.model = "unknown";
    std::ifstream in("/proc/cpuinfo");
    std::set<std::string> flags;
    bool have_flags = false;
    for (std::string line; std::getline(in, line);) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        name.erase(name.find_last_not_of(" \t") + 1);
        const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
        if (name == "model name" && out.model == "unknown") out.model = value;
        if (name == "flags" && !have_flags) {
            std::istringstream words(value);
            for (std::string flag; words >> flag;) flags.insert(flag);
            have_flags = true;
        }
    }
    if (have_flags) {
        out.avx2 = flags.count("avx2") > 0;
        out.avx512f = flags.count("avx512f") > 0;
        out.avx512_bf16 = flags.count("avx512_bf16") > 0;
        out.amx_bf16 = flags.count("amx_bf16") > 0;
    } else {
        __builtin_cpu_init();
        out.avx2 = __builtin_cpu_supports("avx2");
        out.avx512f = __builtin_cpu_supports("avx512f");
    }
    return out;
}

} // namespace

std::string CpuFeatures::flags() const {
    std::string out;
    for (const auto& [present, name] : {std::pair{avx2, "avx2"}, std::pair{avx512f, "avx512f"},
                                        std::pair{avx512_bf16, "avx512_bf16"}, std::pair{amx_bf16, "amx_bf16"}})
        if (present) out += (out.empty() ? "" : " ") + std::string(name);
    return out.empty() ? "none of avx2, avx512f, avx512_bf16, amx_bf16" : out;
}

const CpuFeatures& cpu_features() {
    static const CpuFeatures features = read_cpu_features();
    return features;
}

std::string resolve_dtype(const std::string& asked, const std::string& who) {
    DtypeChoice choice = choose_dtype(asked, who, cpu_features());
    if (!choice.warning.empty()) {
        static std::once_flag warned;
        std::call_once(warned, [&] { std::cerr << "warning: " << choice.warning << "\n"; });
    }
    return choice.dtype;
}

} // namespace msa::models

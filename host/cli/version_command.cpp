// `msa version`: what this msa was built with, for bug reports and plugin authors.
#include "cli/commands.hpp"
#include "util/build_info.hpp"
#include "util/heap_policy.hpp"
#include "util/thread_budget.hpp"

#include <msa/models/cpu_features.hpp>
#include <msa/plugin.hpp>

#include <iostream>

namespace msa::cli {

Command add_version_command(CLI::App& app) {
    CLI::App* sub = app.add_subcommand("version", "Show the msa, SDK ABI and LibTorch versions, the build type and the CPU");
    return {sub, [] {
                std::cout << "msa " << MSA_VERSION << "\n"
                          << "SDK ABI " << MSA_SDK_ABI_MAJOR << "." << MSA_SDK_ABI_MINOR << "\n"
                          << "LibTorch " << TORCH_VERSION << "\n"
                          << "C++ ABI _GLIBCXX_USE_CXX11_ABI=" << MSA_CXX11_ABI << "\n"
                          << "build type " << MSA_BUILD_TYPE << "\n"
                          << "cores " << describe_usable_cores() << "\n"
                          << "cpu " << models::cpu_features().model << " (" << models::cpu_features().flags()
                          << "; dtype = \"auto\" computes in "
                          << (models::cpu_features().native_bf16() ? "bfloat16" : "float32") << ")\n"
                          << "allocator " << heap_allocator() << "\n"
                          << "plugins " << builtin_plugin_dir().string() << "\n";
                return 0;
            }};
}

} // namespace msa::cli

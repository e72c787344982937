// Plugin discovery and ABI-checked loading with Boost.DLL.
#include "plugin/plugin_loader.hpp"

#include <msa/plugin.hpp>

#include <dlfcn.h>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <sstream>

namespace msa {

namespace fs = std::filesystem;

namespace {

// Plugin objects must never outlive their code, so a library, once loaded, stays
// loaded until the process exits. Deliberately never destroyed.
std::vector<boost::dll::shared_library>& kept_libraries() {
    static auto* libraries = new std::vector<boost::dll::shared_library>();
    return *libraries;
}

std::string version(std::uint32_t major, std::uint32_t minor) {
    return std::to_string(major) + "." + std::to_string(minor);
}

// Why the descriptor cannot be accepted, or "" when it can.
std::string descriptor_problem(const msa_plugin_descriptor& d) {
    constexpr std::size_t needed = offsetof(msa_plugin_descriptor, register_plugins) + sizeof(void*);
    if (d.struct_size < needed)
        return "descriptor is too small (" + std::to_string(d.struct_size) + " bytes, need " +
               std::to_string(needed) + "): not built with this SDK";
    if (d.abi_major != MSA_SDK_ABI_MAJOR)
        return "incompatible SDK ABI: the library was built against SDK " + version(d.abi_major, d.abi_minor) +
               ", this msa provides SDK " + version(MSA_SDK_ABI_MAJOR, MSA_SDK_ABI_MINOR) +
               " (rebuild the plugin against this SDK)";
    if (d.abi_minor > MSA_SDK_ABI_MINOR)
        return "the library was built against a newer SDK (" + version(d.abi_major, d.abi_minor) +
               ") than this msa provides (" + version(MSA_SDK_ABI_MAJOR, MSA_SDK_ABI_MINOR) +
               "); update msa or rebuild the plugin against this SDK";
    const std::string torch = d.torch_version ? d.torch_version : "(none)";
    if (torch != TORCH_VERSION)
        return "LibTorch mismatch: the library was built against LibTorch " + torch +
               ", this msa uses LibTorch " + TORCH_VERSION + "; tensors cannot cross between them";
    if (d.cxx11_abi != MSA_CXX11_ABI)
        return "C++ ABI mismatch: the library has _GLIBCXX_USE_CXX11_ABI=" + std::to_string(d.cxx11_abi) +
               ", this msa has " + std::to_string(MSA_CXX11_ABI);
    if (!d.register_plugins) return "descriptor has no registration function";
    return {};
}

bool is_plugin_file(const fs::path& path) {
    return path.extension() == ".so" && fs::is_regular_file(path);
}

} // namespace

void PluginLoader::load_path(const fs::path& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        std::vector<fs::path> files;
        for (const auto& item : fs::directory_iterator(path, ec))
            if (is_plugin_file(item.path())) files.push_back(item.path());
        std::sort(files.begin(), files.end());
        for (const auto& file : files) load_library(file);
    } else if (fs::exists(path, ec)) {
        load_library(path);
    } else {
        failures_.push_back({path.string(), "no such file or folder on the plugin path"});
    }
}

void PluginLoader::load_library(const fs::path& file) {
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(fs::absolute(file), ec);
    if (!seen_.insert(canonical).second) return; // on the path twice: load once
    const std::string name = canonical.string();

    boost::dll::shared_library library;
    boost::dll::fs::error_code load_error;
    // rtld_now: a missing symbol is a load failure here, not a crash at first call.
    library.load(canonical.string(), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local,
                 load_error);
    if (load_error) {
        // Boost.DLL's error code drops dlerror()'s text, which names the missing symbol
        // or dependency; ask dlopen once more for it.
        std::string reason = load_error.message();
        if (void* handle = ::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL))
            ::dlclose(handle);
        else if (const char* text = ::dlerror())
            reason = text;
        failures_.push_back({name, "not a loadable shared library: " + reason});
        return;
    }
    if (!library.has(MSA_PLUGIN_ENTRY_SYMBOL)) {
        failures_.push_back({name, std::string("no entry symbol '") + MSA_PLUGIN_ENTRY_SYMBOL +
                                       "': not an msa plugin (a plugin library ends with MSA_PLUGIN(...))"});
        return;
    }
    const auto* descriptor = library.get<const msa_plugin_descriptor*()>(MSA_PLUGIN_ENTRY_SYMBOL)();
    if (!descriptor) {
        failures_.push_back({name, "the entry symbol returned no descriptor"});
        return;
    }
    if (std::string problem = descriptor_problem(*descriptor); !problem.empty()) {
        failures_.push_back({name, problem});
        return;
    }

    kept_libraries().push_back(library);
    catalog_.begin_library(name, descriptor->abi_minor);
    try {
        descriptor->register_plugins(catalog_);
    } catch (const std::exception& e) {
        catalog_.end_library();
        catalog_.discard_library(name);
        failures_.push_back({name, std::string("registration failed: ") + e.what()});
        return;
    } catch (...) {
        catalog_.end_library();
        catalog_.discard_library(name);
        failures_.push_back({name, "registration failed with an unknown exception"});
        return;
    }
    for (auto& refused : catalog_.end_library()) failures_.push_back({name, refused});
    loaded_.push_back(name);
}

fs::path builtin_plugin_dir() {
    return boost::dll::program_location().parent_path().parent_path().string() + "/lib/msa/plugins";
}

std::vector<fs::path> env_plugin_paths() {
    std::vector<fs::path> out;
    const char* value = std::getenv("MSA_PLUGIN_PATH");
    if (!value) return out;
    std::stringstream stream(value);
    for (std::string item; std::getline(stream, item, ':');)
        if (!item.empty()) out.emplace_back(item);
    return out;
}

void load_standard_plugins(PluginLoader& loader, const std::vector<fs::path>& extra) {
    loader.load_path(builtin_plugin_dir());
    for (const auto& path : env_plugin_paths()) loader.load_path(path);
    for (const auto& path : extra) loader.load_path(path);
}

} // namespace msa

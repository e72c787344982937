// Finds plugin libraries, checks their descriptors and lets them register.
#pragma once

#include "plugin/plugin_catalog.hpp"

#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace msa {

// A library that could not be used, or an entry of it that was refused. The other
// libraries load regardless.
struct LoadFailure {
    std::string library;
    std::string reason;
};

class PluginLoader {
public:
    explicit PluginLoader(PluginCatalog& catalog) : catalog_(catalog) {}

    // A folder: every `*.so` in it, in name order. A file: that library. A folder that
    // does not exist is a failure too, so a typo in a search path does not go unnoticed.
    void load_path(const std::filesystem::path& path);
    void load_library(const std::filesystem::path& file);

    const std::vector<LoadFailure>& failures() const { return failures_; }
    const std::vector<std::string>& loaded() const { return loaded_; }

private:
    PluginCatalog& catalog_;
    std::set<std::filesystem::path> seen_;
    std::vector<std::string> loaded_;
    std::vector<LoadFailure> failures_;
};

// `<prefix>/lib/msa/plugins` beside the running `<prefix>/bin/msa`.
std::filesystem::path builtin_plugin_dir();
// The folders of MSA_PLUGIN_PATH (colon-separated), in order.
std::vector<std::filesystem::path> env_plugin_paths();

// Loads the built-in folder, then MSA_PLUGIN_PATH, then `extra` (a manifest's
// plugin_paths), in that order.
void load_standard_plugins(PluginLoader& loader, const std::vector<std::filesystem::path>& extra = {});

} // namespace msa

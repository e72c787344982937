// Shared helpers for the unit tests: the built-in plugins, temporary files.
#pragma once

#include "plugin/plugin_loader.hpp"

#include <msa/properties.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>

namespace msa::test {

// The built-in plugins, loaded once for the whole test run.
inline const PluginCatalog& builtin_catalog() {
    static PluginCatalog catalog = [] {
        PluginCatalog c;
        PluginLoader loader(c);
        loader.load_path(MSA_BUILTIN_PLUGIN_DIR);
        if (!loader.failures().empty())
            throw Error("built-in plugin failed: " + loader.failures().front().library + ": " +
                        loader.failures().front().reason);
        return c;
    }();
    return catalog;
}

// The declared defaults of a built-in plugin, with `overrides` set as if by a user.
inline Properties properties(PluginKind kind, const std::string& name, const std::map<std::string, Value>& overrides = {}) {
    const PluginEntry& entry = builtin_catalog().get(kind, name);
    Properties props(std::string(to_string(kind)) + " '" + name + "'");
    for (const auto& [key, value] : overrides) props.set(key, value, "test", true);
    fill_defaults(entry.info, props);
    return props;
}

// A fresh folder under the system temp folder, removed when the object goes.
class TempDir {
public:
    TempDir() {
        std::random_device rd;
        path_ = std::filesystem::temp_directory_path() / ("msa-test-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path write(const std::string& name, const std::string& content) const {
        const auto file = path_ / name;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file) << content;
        return file;
    }

private:
    std::filesystem::path path_;
};

} // namespace msa::test

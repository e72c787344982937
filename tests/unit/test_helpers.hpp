// Shared helpers for the unit tests: the built-in plugins, temporary files, fixtures.
#pragma once

#include "plugin/plugin_loader.hpp"

#include <msa/properties.hpp>
#include <msa/sample.hpp>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

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

// The declared defaults of a built-in plugin, with `overrides` set as if by a user. A
// checkpoint encoder computes in float32 unless a test asks otherwise: the references are
// float32, and dtype = "auto" would follow the CPU the tests run on.
inline Properties properties(PluginKind kind, const std::string& name, const std::map<std::string, Value>& overrides = {}) {
    const PluginEntry& entry = builtin_catalog().get(kind, name);
    Properties props(std::string(to_string(kind)) + " '" + name + "'");
    for (const auto& [key, value] : overrides) props.set(key, value, "test", true);
    const bool has_dtype = std::any_of(entry.info.params.begin(), entry.info.params.end(),
                                       [](const ParamSpec& spec) { return spec.name == "dtype"; });
    if (has_dtype && !overrides.count("dtype")) props.set("dtype", Value{std::string("float32")}, "test", true);
    fill_defaults(entry.info, props);
    return props;
}

// The mvsa-ecnu dataset: under $MSA_SHARED_DIR when set, else in the shared folder
// beside the checkout. Tests that need it skip with a message when it is absent.
// A labelled pool with counts[c] samples of class c; ids (and groups) "c-i".
inline std::vector<Sample> labelled_pool(const std::vector<int>& counts) {
    std::vector<Sample> pool;
    for (std::size_t label = 0; label < counts.size(); ++label)
        for (int i = 0; i < counts[label]; ++i) {
            const std::string id = std::to_string(label) + "-" + std::to_string(i);
            pool.push_back({id, "text " + id, "", static_cast<int>(label), id});
        }
    return pool;
}

inline std::filesystem::path mvsa_ecnu_dir() {
    const char* shared = std::getenv("MSA_SHARED_DIR");
    return (shared ? std::filesystem::path(shared) : std::filesystem::path(MSA_SOURCE_DIR) / ".." / "shared") /
           "data" / "mvsa-ecnu";
}

// Where scripts/fetch-models puts real checkpoints (MSA_MODELS_DIR overrides).
inline std::filesystem::path models_dir() {
    const char* models = std::getenv("MSA_MODELS_DIR");
    return models ? std::filesystem::path(models) : std::filesystem::path(MSA_SOURCE_DIR) / "models";
}

// The parity fixtures made by scripts/make-parity-fixtures (tiny random HF models).
inline std::filesystem::path parity_fixture_dir(const std::string& name) {
    return std::filesystem::path(MSA_FIXTURE_DIR) / "parity" / name;
}

// 64-bit FNV-1a as 16 hex digits: the checksum fixtures/images/dataset-checksums.json uses.
inline std::string fnv1a64(const std::vector<unsigned char>& bytes) {
    unsigned long long h = 0xcbf29ce484222325ULL;
    for (unsigned char b : bytes) h = (h ^ b) * 0x100000001b3ULL;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", h);
    return hex;
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

// The tiny CLIP fixture (parity/clip/model, a CLIPModel) with a tokenizer that fits its
// 99-token vocabulary: letters, the same ending a word, two merges; start 97 and end 98
// as in its config.
inline std::filesystem::path clip_text_fixture() {
    static TempDir dir;
    const auto folder = dir.path() / "clip-text";
    if (!std::filesystem::exists(folder)) {
        std::filesystem::create_directories(folder);
        for (const char* file : {"config.json", "model.safetensors"})
            std::filesystem::copy_file(parity_fixture_dir("clip") / "model" / file, folder / file);
        nlohmann::json vocab;
        for (int i = 0; i < 26; ++i) {
            vocab[std::string(1, char('a' + i))] = i;
            vocab[std::string(1, char('a' + i)) + "</w>"] = 26 + i;
        }
        vocab["th"] = 52;
        vocab["the</w>"] = 53;
        vocab["<|startoftext|>"] = 97;
        vocab["<|endoftext|>"] = 98;
        std::ofstream(folder / "vocab.json") << vocab.dump();
        std::ofstream(folder / "merges.txt") << "#version: 0.2\nt h\nth e</w>\n";
    }
    return folder;
}

} // namespace msa::test

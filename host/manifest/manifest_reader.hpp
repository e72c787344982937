// Reading a study manifest: TOML with includes, checked key by key into a Study.
#pragma once

#include "manifest/study.hpp"

#include <msa/error.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace msa {

class PluginCatalog;

// The manifest schema this msa reads.
constexpr std::int64_t kManifestSchemaVersion = 1;

struct ManifestProblem {
    std::string where; // "file:line:column", or the file alone
    std::string message;
};

// Every problem found in a manifest, not just the first; what() lists them one per
// line as "file:line:column: error: message".
class ManifestError : public Error {
public:
    explicit ManifestError(std::vector<ManifestProblem> problems);
    const std::vector<ManifestProblem>& problems() const { return problems_; }

private:
    std::vector<ManifestProblem> problems_;
};

// A manifest with its `include`s merged: included files first, in order, then the
// including file on top (tables merge key by key; any other value replaces). Values
// keep the file and line they came from.
class ManifestDocument {
public:
    static ManifestDocument load(const std::filesystem::path& file);

    // Read before the plugins load, since they may name more plugin folders.
    std::vector<std::filesystem::path> plugin_paths() const;
    // Checks every key; unknown plugins and parameters are checked against `catalog`.
    Study to_study(const PluginCatalog& catalog) const;

    const std::filesystem::path& file() const;

    // The merged TOML (manifest/manifest_table.hpp defines it), for the study runner,
    // which builds each trial's manifest from it.
    struct Impl;
    const Impl& impl() const { return *impl_; }
    explicit ManifestDocument(Impl impl);
    ManifestDocument() = default;

private:
    std::shared_ptr<const Impl> impl_;
};

} // namespace msa

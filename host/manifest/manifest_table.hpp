// The TOML behind a ManifestDocument. Only code that edits manifests as tables (the
// study runner) includes this, to keep TOML++ out of the rest.
#pragma once

#include "manifest/manifest_reader.hpp"

#include <toml++/toml.h>

namespace msa {

struct ManifestDocument::Impl {
    std::filesystem::path file;
    std::vector<std::filesystem::path> includes;
    // Includes merged; every node keeps the file and line it came from, so relative
    // paths and messages still refer to the file that states them.
    toml::table root;
};

// The manifest `file` with its includes merged (what ManifestDocument::load reads), as a
// table to edit. Throws ManifestError.
ManifestDocument::Impl load_manifest_table(const std::filesystem::path& file);

// "file:line:column" of a value, or the file alone; empty for a value built in code.
std::string location(const toml::source_region& region);

// Merges `top` into `base`: tables merge key by key; any other value replaces. Moved
// nodes keep their source (copied ones would not: TOML++ drops it on copy).
void merge_into(toml::table& base, toml::table&& top);

} // namespace msa

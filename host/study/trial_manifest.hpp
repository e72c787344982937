// A trial's manifest, built from the study manifest and the changes its phases make.
// Values that come from the manifest are moved out of a fresh parse of it, so they keep
// their file and line: a relative path in a sweep still resolves against the file that
// states it, and a bad value is reported where it was written.
#pragma once

#include "manifest/study.hpp"

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace msa {
class PluginCatalog;
}

namespace msa::study {

// One change to a configuration.
struct Change {
    enum class Kind {
        set,   // merge phase `phase`'s `set` table into the manifest
        sweep, // put element `element` of phase `phase`'s sweep axis `axis` at `axis`
        toml,  // merge `toml`, written by the runner (absolute paths only)
    };
    Kind kind = Kind::toml;
    std::size_t phase = 0;
    std::string axis;
    std::size_t element = 0;
    std::string toml;
};

// The manifest `file` with `changes` applied in order and its [[phase]] tables removed,
// checked like any manifest (ManifestError names the offending file:line).
Study build_trial_study(const std::filesystem::path& file, const std::vector<Change>& changes,
                        const PluginCatalog& catalog);

// A TOML string literal.
std::string toml_string(const std::string& text);

} // namespace msa::study

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

// A value the planner puts at a dotted manifest path ("augmentation.hard_threshold").
struct Assignment {
    std::string path;
    Value value; // paths in it are absolute
    bool operator==(const Assignment& o) const { return path == o.path && value == o.value; }
};

// One change to a configuration.
struct Change {
    enum class Kind {
        set,    // merge phase `phase`'s `set` table into the manifest
        sweep,  // put element `element` of phase `phase`'s sweep axis `axis` at `axis`
        assign, // put each of `values` at its path (the planner's own settings)
        remove, // take the table or key at `axis` out (a distill phase's gold-label student)
    };
    Kind kind = Kind::assign;
    std::size_t phase = 0;
    std::string axis;
    std::size_t element = 0;
    std::vector<Assignment> values;

    static Change set(std::size_t phase) { return {Kind::set, phase, {}, 0, {}}; }
    static Change sweep(std::size_t phase, std::string axis, std::size_t element) {
        return {Kind::sweep, phase, std::move(axis), element, {}};
    }
    static Change assign(std::vector<Assignment> values) { return {Kind::assign, 0, {}, 0, std::move(values)}; }
    static Change remove(std::string path) { return {Kind::remove, 0, std::move(path), 0, {}}; }
    bool operator==(const Change& o) const {
        return kind == o.kind && phase == o.phase && axis == o.axis && element == o.element && values == o.values;
    }
};

// The manifest `file` with `changes` applied in order and its [[phase]] tables removed,
// checked like any manifest (ManifestError names the offending file:line).
Study build_trial_study(const std::filesystem::path& file, const std::vector<Change>& changes,
                        const PluginCatalog& catalog);

} // namespace msa::study

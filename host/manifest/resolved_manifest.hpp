// A Study written back as a manifest with every default filled in and every path
// absolute: the config.toml of a run folder, which `msa trial` and `msa validate` read
// like any manifest.
#pragma once

#include "manifest/study.hpp"

#include <string>

namespace msa {

std::string resolved_manifest(const Study& study);

} // namespace msa

// The current time as ISO 8601 UTC ("2026-11-29T21:00:00Z"), for files people read.
#pragma once

#include <string>

namespace msa {

std::string utc_now();

} // namespace msa

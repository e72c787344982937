// Files replaced whole: a reader (a rerun, msa report, msa predict) sees the old file or
// the new one, never half of one, also after a crash or a full disk.
#pragma once

#include <filesystem>
#include <string>

namespace msa {

// Writes `text` to `<file>.partial`, flushes it to the disk (fsync) and renames it over
// `file`. On any failure (a full disk, a read-only or vanished folder) the partial file
// is removed, `file` is left as it was, and msa::Error says which file and why ("No
// space left on device").
void write_file_atomically(const std::filesystem::path& file, const std::string& text);

} // namespace msa

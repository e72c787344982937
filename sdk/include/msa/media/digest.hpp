// SHA-256 digests as lower-case hex: the feature store's encoder keys, checkpoint and
// tokenizer digests, and the ids of augmented copies all name content this way.
#pragma once

#include <msa/media/export.hpp>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace msa::media {

// Hex SHA-256 of `bytes` (64 characters).
MSA_MEDIA_API std::string sha256_hex(std::string_view bytes);

// Hex SHA-256 of the files' contents, one after the other, read in 1 MiB pieces. Throws
// msa::Error naming a file that cannot be opened or read.
MSA_MEDIA_API std::string sha256_hex_of_files(const std::vector<std::filesystem::path>& files);

} // namespace msa::media

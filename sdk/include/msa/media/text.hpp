// Text decoding: raw file bytes to UTF-8.
#pragma once

#include <msa/media/export.hpp>

#include <string>
#include <string_view>

namespace msa::media {

// True when `bytes` is well-formed UTF-8 (no overlong forms, no surrogates).
MSA_MEDIA_API bool is_valid_utf8(std::string_view bytes);

// Decodes `bytes` to UTF-8. `encoding` is "auto" (UTF-8 when valid, else GB18030) or a
// name iconv knows ("utf-8", "gb18030", "gbk", "latin1", ...). Throws msa::Error saying
// which encoding failed and at which byte offset.
MSA_MEDIA_API std::string decode_text(std::string_view bytes, const std::string& encoding);

} // namespace msa::media

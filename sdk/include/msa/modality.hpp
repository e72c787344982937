// The two modalities of a post.
#pragma once

namespace msa {

enum class Modality { text, image };

inline const char* to_string(Modality m) { return m == Modality::text ? "text" : "image"; }

} // namespace msa

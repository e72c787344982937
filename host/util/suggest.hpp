// "Did you mean" for misspelled keys and plugin names.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace msa {

// The candidate closest to `word` by edit distance, when it is close enough to be a
// plausible misspelling: at most max(2, length / 3) edits.
std::optional<std::string> nearest(const std::string& word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// "a, b, c".
std::string join(const std::vector<std::string>& items, const std::string& separator = ", ");

} // namespace msa

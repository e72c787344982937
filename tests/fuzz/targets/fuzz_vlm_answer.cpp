// The VLM endpoint's JSON answers and cache entries, read by the vlm augmenter's own code
// (plugins/augmenters/vlm_answer.hpp): any body is an answer or not one, never an exception.
#include "fuzz_target.hpp"

#include "vlm_answer.hpp"

#include <sstream>

MSA_FUZZ_TARGET(vlm_answer) {
    const std::string body(reinterpret_cast<const char*>(data), size);
    (void)msa::augmenters::vlm::answer_content(body);
    std::istringstream in(body);
    (void)msa::augmenters::vlm::cached_caption(in);
}

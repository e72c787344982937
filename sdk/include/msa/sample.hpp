// One labelled (or unlabelled) image+text post, as every plugin sees it.
#pragma once

#include <string>

namespace msa {

struct Sample {
    std::string id;
    std::string text;       // decoded to UTF-8
    std::string image_path; // absolute path of the image file
    int label = -1;         // index into the study's label list; -1 when unlabelled
    // Samples derived from one source (augmented copies) share its group so that a
    // split never separates them. An original sample's group is its own id.
    std::string group;
};

} // namespace msa

// The augmentation step of a trial ([augmentation] + [augmenter]): the hard samples of an
// earlier trial among this trial's training rows, and the augmenter's copies of them.
#pragma once

#include "manifest/study.hpp"

#include <msa/sample.hpp>

#include <functional>
#include <string>
#include <vector>

namespace msa {
class PluginCatalog;
}

namespace msa::train {

// The augmenter's new samples for the hard samples among `training` (this trial's
// training rows). Hard is msa::hard_samples' low-confidence rule (msa/predictions.hpp): the
// earlier trial gave the true class a probability below [augmentation] hard_threshold (with
// hard_fraction > 0, only that fraction of the training rows, hardest first). Every new
// sample is checked: a fresh id, its source's group, a label of the study.
std::vector<Sample> augment_hard_samples(const Study& study, const PluginCatalog& catalog,
                                         const std::vector<Sample>& training,
                                         const std::function<void(const std::string&)>& log);

} // namespace msa::train

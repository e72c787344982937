// What a study's trials read from the feature store, encoded where the store lacks it:
// `msa run` does it once per phase before the trials start (in its own process, or as a
// job of the executor), and `msa encode` does it for the manifests it is given.
#pragma once

#include "manifest/study.hpp"
#include "records/trial_files.hpp"
#include "store/encode_features.hpp"

#include <msa/sample.hpp>

#include <functional>
#include <string>
#include <vector>

namespace msa {
class FeatureStore;
class PluginCatalog;
} // namespace msa

namespace msa::study {

// What encode_study_features(study) encodes, as text: studies with the same key share
// their features, so each key is encoded once.
std::string features_key(const Study& study);

// Whether `study` reads anything of its own from the store (a CLIP or evaluate trial
// encodes with its own models, not the manifest's encoders).
bool reads_features(const Study& study);

// Encodes what the store lacks of: the study's encoders over `samples` (its dataset), its
// distillation pools, and a prompt model's text features. `report` gets each result and
// what it was for ("text", "image of pool 1", "prompt text"). Returns the store keys of
// its frozen encoders, which a trial reads without loading their weights. `count_only`
// only counts what is missing (EncodeResult::missing) and encodes nothing.
records::StoreKeys encode_study_features(const Study& study, const PluginCatalog& catalog,
                                         const std::vector<Sample>& samples, FeatureStore& store,
                                         const std::function<void(const EncodeResult&, const std::string&)>& report,
                                         bool count_only = false);

} // namespace msa::study

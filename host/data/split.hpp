// Dividing the labelled samples into train / valid / test: stratified by class, seeded,
// identical on every platform, and group-aware (an augmented copy never leaves its
// source's split).
#pragma once

#include "manifest/study.hpp"

#include <msa/error.hpp>
#include <msa/random.hpp>
#include <msa/sample.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace msa::data {

// Indices into the samples the split was made from, ascending. Unlabelled samples
// (label -1) are in none of the three.
struct Split {
    std::vector<std::size_t> train;
    std::vector<std::size_t> valid;
    std::vector<std::size_t> test;
};

// A split that cannot be made: bad ratios or folds, or given split files that name an
// unknown id, name one twice, or separate a group.
class SplitError : public Error {
public:
    using Error::Error;
};

// Samples are split as whole groups (Sample::group; empty means the sample's own id).
// A group counts once and is stratified by its source's label: the member whose id is
// the group, else its first labelled member.

// By the config: given files when set, else validation folds when valid_folds > 1, else
// k-fold when folds > 1, else ratios. `seed` is
// the trial's; config.test_seed, when set, draws the test part (see below).
Split make_split(const std::vector<Sample>& samples, const SplitConfig& config, std::uint64_t seed);

// Per class of n groups: round(n * test) to test, round(n * valid) to valid, the rest to
// train (which keeps at least one group of each class when the ratios leave room).
// With `test_seed`, the test part is the one this split draws for seed `test_seed` without
// it, and the other groups of the class are shuffled with `seed` into valid and train: the
// test part is the same for every `seed`, and valid and train differ.
Split split_by_ratio(const std::vector<Sample>& samples, double valid, double test, std::uint64_t seed,
                     std::optional<std::uint64_t> test_seed = std::nullopt);

// k-fold cross-validation: every class's groups are dealt round-robin into `folds`
// folds after a seeded shuffle (the same for every `fold`, so the test folds are disjoint
// and cover every group); fold `fold` is the test set; valid takes round(n * valid) of
// each class's remaining groups (n: the class's groups), the rest is train. With
// `test_seed`, the folds are dealt with it instead of `seed`, which then draws only valid.
Split split_k_fold(const std::vector<Sample>& samples, int folds, int fold, double valid, std::uint64_t seed,
                   std::optional<std::uint64_t> test_seed = std::nullopt);

// Cross-validated selection: the test part as split_by_ratio(valid, test, seed, test_seed)
// draws it; every class's other groups, shuffled with `seed` (the same for every `fold`),
// are dealt round-robin into `folds` folds; fold `fold` is valid, the rest train. A
// configuration trained on each fold is judged on every labelled group outside the test
// part, each validated once.
Split split_valid_folds(const std::vector<Sample>& samples, double valid, double test, int folds, int fold,
                        std::uint64_t seed, std::optional<std::uint64_t> test_seed = std::nullopt);

// Given `guid,tag` lists (tags are not used; labels come from the dataset). Every listed
// id must be a labelled sample and be listed once in all three files; members of a listed
// sample's group follow it; labelled samples listed nowhere (nor grouped with a listed
// one) are in no split.
Split split_by_files(const std::vector<Sample>& samples, const std::filesystem::path& train_file,
                     const std::filesystem::path& valid_file, const std::filesystem::path& test_file);

// The ids of `indices`, in that order (for writing a split down).
std::vector<std::string> ids_of(const std::vector<Sample>& samples, const std::vector<std::size_t>& indices);

// The seeded draws of <msa/random.hpp>, which splits were first written with.
using msa::seeded_shuffle;
using msa::uniform_below;

} // namespace msa::data

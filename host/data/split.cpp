// Stratified, seeded, group-aware splits.
#include "data/split.hpp"

#include "data/data_problem.hpp"
#include "data/guid_tag_list.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

namespace msa::data {
namespace {

namespace fs = std::filesystem;

// The labelled samples as whole groups, each with the label it is stratified by.
struct Groups {
    std::vector<std::vector<std::size_t>> members; // sample indices, per group in order of first appearance
    std::vector<int> label;                        // per group
    int classes = 0;                               // 1 + the largest label
};

Groups group_labelled(const std::vector<Sample>& samples) {
    Groups g;
    std::unordered_map<std::string, std::size_t> index;
    std::vector<bool> has_source;
    for (std::size_t i = 0; i < samples.size(); ++i) {
        const Sample& s = samples[i];
        if (s.label < 0) continue;
        const std::string& key = s.group.empty() ? s.id : s.group;
        const auto [it, fresh] = index.emplace(key, g.members.size());
        if (fresh) {
            g.members.emplace_back();
            g.label.push_back(s.label);
            has_source.push_back(false);
        }
        const std::size_t k = it->second;
        g.members[k].push_back(i);
        if (s.id == key && !has_source[k]) { // the source's label wins over earlier copies'
            g.label[k] = s.label;
            has_source[k] = true;
        }
        g.classes = std::max(g.classes, s.label + 1);
    }
    if (g.members.empty()) throw SplitError("cannot split: the dataset has no labelled samples");
    return g;
}

// Group indices per class, each in order of first appearance.
std::vector<std::vector<std::size_t>> by_class(const Groups& g) {
    std::vector<std::vector<std::size_t>> classes(std::size_t(g.classes));
    for (std::size_t k = 0; k < g.members.size(); ++k) classes[std::size_t(g.label[k])].push_back(k);
    return classes;
}

std::size_t rounded(double x) { return std::size_t(std::llround(x)); }

// Expands groups to their samples, sorted.
std::vector<std::size_t> expand(const Groups& g, const std::vector<std::size_t>& groups) {
    std::vector<std::size_t> out;
    for (const std::size_t k : groups) out.insert(out.end(), g.members[k].begin(), g.members[k].end());
    std::sort(out.begin(), out.end());
    return out;
}

void check_ratio(double value, const char* name) {
    if (!(value >= 0.0 && value < 1.0))
        throw SplitError(std::string("split.") + name + " = " + std::to_string(value) + " must be in [0, 1)");
}

} // namespace

Split split_by_ratio(const std::vector<Sample>& samples, double valid, double test, std::uint64_t seed,
                     std::optional<std::uint64_t> test_seed) {
    check_ratio(valid, "valid");
    check_ratio(test, "test");
    if (valid + test >= 1.0)
        throw SplitError("split.valid + split.test = " + std::to_string(valid + test) +
                         " leaves nothing for training; keep it below 1");
    const Groups g = group_labelled(samples);
    // Without test_seed one generator draws all three parts (the split msa has always
    // made); with it, `test_rng` draws the test part exactly as that split would for seed
    // test_seed, and `rng` divides the rest.
    std::mt19937_64 rng(seed), test_rng(test_seed.value_or(seed));
    std::vector<std::size_t> train, val, tst;
    for (std::vector<std::size_t>& groups : by_class(g)) {
        const std::size_t n = groups.size();
        std::size_t n_test = std::min(rounded(double(n) * test), n);
        std::size_t n_valid = std::min(rounded(double(n) * valid), n - n_test);
        if (n_test + n_valid == n && n > 0 && (n_test + n_valid) > 0) { // keep one for training
            if (n_valid >= n_test && n_valid > 0)
                --n_valid;
            else
                --n_test;
        }
        if (test_seed) {
            std::vector<std::size_t> drawn = groups;
            seeded_shuffle(drawn, test_rng);
            const std::set<std::size_t> held(drawn.begin(), drawn.begin() + std::ptrdiff_t(n_test));
            tst.insert(tst.end(), held.begin(), held.end());
            // The rest in their order of first appearance, so that their division depends
            // on the trial's seed and the test part only.
            groups.erase(std::remove_if(groups.begin(), groups.end(), [&](std::size_t k) { return held.count(k) > 0; }),
                         groups.end());
            seeded_shuffle(groups, rng);
            val.insert(val.end(), groups.begin(), groups.begin() + std::ptrdiff_t(n_valid));
            train.insert(train.end(), groups.begin() + std::ptrdiff_t(n_valid), groups.end());
            continue;
        }
        seeded_shuffle(groups, rng);
        tst.insert(tst.end(), groups.begin(), groups.begin() + std::ptrdiff_t(n_test));
        val.insert(val.end(), groups.begin() + std::ptrdiff_t(n_test),
                   groups.begin() + std::ptrdiff_t(n_test + n_valid));
        train.insert(train.end(), groups.begin() + std::ptrdiff_t(n_test + n_valid), groups.end());
    }
    return {expand(g, train), expand(g, val), expand(g, tst)};
}

Split split_k_fold(const std::vector<Sample>& samples, int folds, int fold, double valid, std::uint64_t seed,
                   std::optional<std::uint64_t> test_seed) {
    if (folds < 2) throw SplitError("split.folds = " + std::to_string(folds) + ": k-fold needs at least 2 folds");
    if (fold < 0 || fold >= folds)
        throw SplitError("split.fold = " + std::to_string(fold) + " must be in [0, " + std::to_string(folds - 1) + "]");
    check_ratio(valid, "valid");
    const Groups g = group_labelled(samples);
    if (g.members.size() < std::size_t(folds))
        throw SplitError(std::to_string(folds) + " folds need at least " + std::to_string(folds) +
                         " labelled groups; the dataset has " + std::to_string(g.members.size()));
    std::mt19937_64 rng(test_seed.value_or(seed)); // deals the folds
    // The valid set is drawn per fold, so that the folds' valid sets are not all the same groups.
    std::mt19937_64 valid_rng(seed ^ (0x9E3779B97F4A7C15ULL * std::uint64_t(fold + 1)));
    std::vector<std::size_t> train, val, tst;
    std::size_t dealt = 0; // continues across classes, so that the folds' sizes differ by one at most
    for (std::vector<std::size_t>& groups : by_class(g)) {
        seeded_shuffle(groups, rng);
        std::vector<std::size_t> rest;
        for (const std::size_t k : groups) {
            if (int(dealt++ % std::size_t(folds)) == fold)
                tst.push_back(k);
            else
                rest.push_back(k);
        }
        seeded_shuffle(rest, valid_rng);
        std::size_t n_valid = std::min(rounded(double(groups.size()) * valid), rest.size());
        if (n_valid == rest.size() && n_valid > 0) --n_valid; // keep one for training
        val.insert(val.end(), rest.begin(), rest.begin() + std::ptrdiff_t(n_valid));
        train.insert(train.end(), rest.begin() + std::ptrdiff_t(n_valid), rest.end());
    }
    return {expand(g, train), expand(g, val), expand(g, tst)};
}

Split split_valid_folds(const std::vector<Sample>& samples, double valid, double test, int folds, int fold,
                        std::uint64_t seed, std::optional<std::uint64_t> test_seed) {
    if (folds < 2)
        throw SplitError("split.valid_folds = " + std::to_string(folds) + ": cross-validation needs at least 2 folds");
    if (fold < 0 || fold >= folds)
        throw SplitError("split.valid_fold = " + std::to_string(fold) + " must be in [0, " + std::to_string(folds - 1) +
                         "]");
    // The test part exactly as the ratio split draws it (the same rows as a phase without
    // cross-validation tests on); the rest is dealt into folds.
    const Split ratio = split_by_ratio(samples, valid, test, seed, test_seed);
    const std::set<std::size_t> tested(ratio.test.begin(), ratio.test.end());
    const Groups g = group_labelled(samples);
    std::size_t rest = 0;
    for (const auto& members : g.members) rest += tested.count(members.front()) ? 0 : 1;
    if (rest < std::size_t(folds))
        throw SplitError(std::to_string(folds) + " validation folds need at least " + std::to_string(folds) +
                         " labelled groups outside the test split; there are " + std::to_string(rest));
    std::mt19937_64 rng(seed); // deals the folds: the same for every `fold`, so they partition the rest
    std::vector<std::size_t> train, val;
    std::size_t dealt = 0; // continues across classes, so that the folds' sizes differ by one at most
    for (std::vector<std::size_t>& groups : by_class(g)) {
        groups.erase(std::remove_if(groups.begin(), groups.end(),
                                    [&](std::size_t k) { return tested.count(g.members[k].front()) > 0; }),
                     groups.end());
        seeded_shuffle(groups, rng);
        for (const std::size_t k : groups) (int(dealt++ % std::size_t(folds)) == fold ? val : train).push_back(k);
    }
    return {expand(g, train), expand(g, val), ratio.test};
}

Split split_by_files(const std::vector<Sample>& samples, const fs::path& train_file, const fs::path& valid_file,
                     const fs::path& test_file) {
    std::unordered_map<std::string, std::size_t> by_id;
    for (std::size_t i = 0; i < samples.size(); ++i) by_id.emplace(samples[i].id, i);
    const auto group_of = [&](std::size_t i) -> const std::string& {
        return samples[i].group.empty() ? samples[i].id : samples[i].group;
    };

    struct Place {
        int split;
        std::string where; // "file:line"
    };
    const char* names[3] = {"train", "valid", "test"};
    std::unordered_map<std::string, Place> listed;         // id -> where it was listed
    std::unordered_map<std::string, Place> group_place;    // group -> where its first listed member was
    std::unordered_map<std::string, std::string> group_id; // group -> that member's id
    const fs::path files[3] = {train_file, valid_file, test_file};
    for (int s = 0; s < 3; ++s) {
        std::vector<GuidTagLine> lines;
        try {
            lines = read_guid_tag_list(files[s]);
        } catch (const DatasetError& e) {
            throw SplitError(std::string("split.") + names[s] + "_file: " + e.what());
        }
        for (const GuidTagLine& line : lines) {
            const std::string where = files[s].string() + ":" + std::to_string(line.line);
            if (!line.error.empty()) throw SplitError(where + ": " + line.error);
            const auto sample = by_id.find(line.guid);
            if (sample == by_id.end())
                throw SplitError(where + ": id '" + line.guid + "' is not in the dataset (split." + names[s] +
                                 "_file may list only ids the dataset holds)");
            if (samples[sample->second].label < 0)
                throw SplitError(where + ": id '" + line.guid +
                                 "' is unlabelled; split lists hold labelled samples only");
            const auto [it, fresh] = listed.emplace(line.guid, Place{s, where});
            if (!fresh)
                throw SplitError(where + ": id '" + line.guid + "' is listed again (first at " + it->second.where +
                                 "); every id must be in exactly one of the split files, once");
            const std::string& group = group_of(sample->second);
            const auto [g, first] = group_place.emplace(group, Place{s, where});
            if (!first && g->second.split != s)
                throw SplitError(where + ": id '" + line.guid + "' is in " + names[s] + " but '" + group_id[group] +
                                 "' of the same group '" + group + "' is in " + names[g->second.split] + " (" +
                                 g->second.where + "); a group must stay in one split");
            if (first) group_id[group] = line.guid;
        }
    }
    std::vector<std::size_t> out[3];
    for (std::size_t i = 0; i < samples.size(); ++i) {
        if (samples[i].label < 0) continue;
        const auto g = group_place.find(group_of(i));
        if (g != group_place.end()) out[g->second.split].push_back(i);
    }
    return {std::move(out[0]), std::move(out[1]), std::move(out[2])};
}

Split make_split(const std::vector<Sample>& samples, const SplitConfig& config, std::uint64_t seed) {
    if (!config.train_file.empty() || !config.valid_file.empty() || !config.test_file.empty()) {
        if (config.train_file.empty() || config.valid_file.empty() || config.test_file.empty())
            throw SplitError("[split] needs all of train_file, valid_file and test_file, or none of them");
        return split_by_files(samples, config.train_file, config.valid_file, config.test_file);
    }
    if (config.valid_folds > 0)
        return split_valid_folds(samples, config.valid, config.test, int(config.valid_folds), int(config.valid_fold), seed,
                                 config.test_seed);
    if (config.folds > 0) {
        if (config.folds > 100000) throw SplitError("split.folds = " + std::to_string(config.folds) + " is too many");
        return split_k_fold(samples, int(config.folds), int(config.fold), config.valid, seed, config.test_seed);
    }
    return split_by_ratio(samples, config.valid, config.test, seed, config.test_seed);
}

std::vector<std::string> ids_of(const std::vector<Sample>& samples, const std::vector<std::size_t>& indices) {
    std::vector<std::string> ids;
    ids.reserve(indices.size());
    for (const std::size_t i : indices) ids.push_back(samples.at(i).id);
    return ids;
}

} // namespace msa::data

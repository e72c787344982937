// Splits: per-class ratios, seeds, k-fold coverage, given files, and no group ever
// crossing splits.
#include "data/split.hpp"
#include "test_helpers.hpp"
#include "train/trial_rows.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <set>

namespace {

using msa::Sample;
using msa::data::Split;
using msa::data::SplitError;
using msa::test::TempDir;

// `counts[c]` samples of class c, ids "s0", "s1", ..., then `unlabelled` more with label -1.
std::vector<Sample> make_samples(const std::vector<int>& counts, int unlabelled = 0) {
    std::vector<Sample> samples;
    for (std::size_t c = 0; c < counts.size(); ++c)
        for (int i = 0; i < counts[c]; ++i) {
            Sample s;
            s.id = "s" + std::to_string(samples.size());
            s.group = s.id;
            s.label = int(c);
            samples.push_back(s);
        }
    for (int i = 0; i < unlabelled; ++i) {
        Sample s;
        s.id = "u" + std::to_string(i);
        s.group = s.id;
        samples.push_back(s);
    }
    return samples;
}

std::vector<std::size_t> per_class(const std::vector<Sample>& samples, const std::vector<std::size_t>& indices,
                                   int classes) {
    std::vector<std::size_t> counts(std::size_t(classes), 0);
    for (const std::size_t i : indices) ++counts[std::size_t(samples[i].label)];
    return counts;
}

// Every labelled sample is in exactly one part; unlabelled ones in none.
void check_partition(const std::vector<Sample>& samples, const Split& split) {
    std::vector<int> seen(samples.size(), 0);
    for (const auto* part : {&split.train, &split.valid, &split.test}) {
        CHECK(std::is_sorted(part->begin(), part->end()));
        for (const std::size_t i : *part) ++seen[i];
    }
    for (std::size_t i = 0; i < samples.size(); ++i) {
        INFO("sample " << samples[i].id);
        CHECK(seen[i] == (samples[i].label >= 0 ? 1 : 0));
    }
}

// The part (0 train, 1 valid, 2 test) of each sample; -1 when in none.
std::vector<int> parts_of(std::size_t n, const Split& split) {
    std::vector<int> part(n, -1);
    int p = 0;
    for (const auto* indices : {&split.train, &split.valid, &split.test}) {
        for (const std::size_t i : *indices) part[i] = p;
        ++p;
    }
    return part;
}

std::string split_error(const std::function<void()>& make) {
    try {
        make();
    } catch (const msa::Error& e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

TEST_CASE("split_by_ratio respects the ratios per class", "[split]") {
    const auto samples = make_samples({600, 300, 95}, 20);
    const Split split = msa::data::split_by_ratio(samples, 0.1, 0.2, 42);
    check_partition(samples, split);
    CHECK(per_class(samples, split.test, 3) == std::vector<std::size_t>{120, 60, 19});
    CHECK(per_class(samples, split.valid, 3) == std::vector<std::size_t>{60, 30, 10}); // 9.5 rounds up
    CHECK(per_class(samples, split.train, 3) == std::vector<std::size_t>{420, 210, 66});
}

TEST_CASE("split_by_ratio keeps one sample of a tiny class for training", "[split]") {
    const auto samples = make_samples({50, 1, 2});
    const Split split = msa::data::split_by_ratio(samples, 0.3, 0.3, 1);
    check_partition(samples, split);
    const auto train = per_class(samples, split.train, 3);
    CHECK(train[1] == 1);
    CHECK(train[2] >= 1);
}

TEST_CASE("split_by_ratio is deterministic per seed", "[split]") {
    const auto samples = make_samples({100, 50, 20});
    const Split a = msa::data::split_by_ratio(samples, 0.1, 0.1, 7);
    const Split b = msa::data::split_by_ratio(samples, 0.1, 0.1, 7);
    CHECK(a.train == b.train);
    CHECK(a.valid == b.valid);
    CHECK(a.test == b.test);
}

TEST_CASE("split_by_ratio differs between seeds", "[split]") {
    const auto samples = make_samples({100, 50, 20});
    const Split a = msa::data::split_by_ratio(samples, 0.1, 0.1, 7);
    const Split b = msa::data::split_by_ratio(samples, 0.1, 0.1, 8);
    CHECK(a.test.size() == b.test.size());
    CHECK(a.test != b.test);
    CHECK(a.valid != b.valid);
}

TEST_CASE("split_by_ratio: the split of a seed is pinned", "[split]") {
    // Runs, reports and resumed studies rely on a seed giving the split it always gave
    // (these are the splits of msa before [split] test_seed existed).
    const auto samples = make_samples({10, 6, 4}, 2);
    const Split split = msa::data::split_by_ratio(samples, 0.2, 0.2, 42);
    CHECK(split.train == std::vector<std::size_t>{2, 3, 4, 5, 6, 8, 10, 11, 12, 14, 17, 18});
    CHECK(split.valid == std::vector<std::size_t>{0, 9, 13, 16});
    CHECK(split.test == std::vector<std::size_t>{1, 7, 15, 19});
    const Split fold = msa::data::split_k_fold(samples, 4, 1, 0.2, 42);
    CHECK(fold.train == std::vector<std::size_t>{0, 1, 2, 3, 9, 10, 13, 14, 15, 17, 18});
    CHECK(fold.valid == std::vector<std::size_t>{4, 5, 11, 19});
    CHECK(fold.test == std::vector<std::size_t>{6, 7, 8, 12, 16});
}

TEST_CASE("split_by_ratio with test_seed: one test part for every seed, train and valid by the seed", "[split]") {
    const auto samples = make_samples({100, 50, 20}, 5);
    const std::uint64_t test_seed = 1234;
    // The test part is the one the split draws for seed test_seed without it.
    const Split reference = msa::data::split_by_ratio(samples, 0.1, 0.2, test_seed);
    std::vector<Split> splits;
    for (const std::uint64_t seed : {1, 2, 3, 1234}) {
        splits.push_back(msa::data::split_by_ratio(samples, 0.1, 0.2, seed, test_seed));
        const Split& split = splits.back();
        INFO("seed " << seed);
        check_partition(samples, split);
        CHECK(split.test == reference.test);
        // The same counts per class as without test_seed.
        CHECK(per_class(samples, split.test, 3) == per_class(samples, reference.test, 3));
        CHECK(per_class(samples, split.valid, 3) == per_class(samples, reference.valid, 3));
        CHECK(per_class(samples, split.train, 3) == per_class(samples, reference.train, 3));
        // Deterministic per (seed, test_seed).
        const Split again = msa::data::split_by_ratio(samples, 0.1, 0.2, seed, test_seed);
        CHECK(again.train == split.train);
        CHECK(again.valid == split.valid);
    }
    CHECK(splits[0].valid != splits[1].valid);
    CHECK(splits[1].valid != splits[2].valid);
    CHECK(splits[0].train != splits[1].train);
    // Another test_seed, another test part.
    CHECK(msa::data::split_by_ratio(samples, 0.1, 0.2, 1, 99).test != reference.test);
}

TEST_CASE("split_by_ratio with test_seed keeps groups whole and one group per class for training", "[split]") {
    auto samples = make_samples({40, 3, 2});
    for (int copy = 0; copy < 2; ++copy)
        for (std::size_t i = 0; i < 45; ++i) {
            Sample s = samples[i];
            s.id += "#aug" + std::to_string(copy);
            samples.push_back(s); // group stays the source's id
        }
    for (const std::uint64_t seed : {5, 6, 7}) {
        const Split split = msa::data::split_by_ratio(samples, 0.3, 0.3, seed, 77);
        check_partition(samples, split);
        const auto part = parts_of(samples.size(), split);
        std::map<std::string, int> group_part;
        for (std::size_t i = 0; i < samples.size(); ++i) {
            const auto [it, fresh] = group_part.emplace(samples[i].group, part[i]);
            INFO("seed " << seed << ", sample " << samples[i].id);
            CHECK(it->second == part[i]);
        }
        const auto train = per_class(samples, split.train, 3);
        CHECK(train[1] >= 1);
        CHECK(train[2] >= 1);
    }
}

TEST_CASE("k-fold with test_seed: the folds are dealt by it, valid by the trial's seed", "[split]") {
    const auto samples = make_samples({40, 20, 12});
    for (int fold = 0; fold < 4; ++fold) {
        const Split reference = msa::data::split_k_fold(samples, 4, fold, 0.2, 50);
        const Split a = msa::data::split_k_fold(samples, 4, fold, 0.2, 1, 50);
        const Split b = msa::data::split_k_fold(samples, 4, fold, 0.2, 2, 50);
        INFO("fold " << fold);
        check_partition(samples, a);
        check_partition(samples, b);
        CHECK(a.test == reference.test);
        CHECK(b.test == reference.test);
        CHECK(a.valid != b.valid);
    }
}

TEST_CASE("make_split passes test_seed on, and unset the split is the seed's as before", "[split]") {
    const auto samples = make_samples({30, 20, 10});
    msa::SplitConfig config;
    config.valid = 0.2;
    config.test = 0.2;
    const Split plain = msa::data::make_split(samples, config, 3);
    const Split direct = msa::data::split_by_ratio(samples, 0.2, 0.2, 3);
    CHECK(plain.train == direct.train);
    CHECK(plain.valid == direct.valid);
    CHECK(plain.test == direct.test);
    config.test_seed = 11;
    const Split shared1 = msa::data::make_split(samples, config, 1);
    const Split shared2 = msa::data::make_split(samples, config, 2);
    CHECK(shared1.test == shared2.test);
    CHECK(shared1.test == msa::data::split_by_ratio(samples, 0.2, 0.2, 11).test);
    CHECK(shared1.valid != shared2.valid);
    config.folds = 3;
    CHECK(msa::data::make_split(samples, config, 1).test == msa::data::make_split(samples, config, 2).test);
    CHECK(msa::data::make_split(samples, config, 1).test == msa::data::split_k_fold(samples, 3, 0, 0.2, 11).test);
}

TEST_CASE("seeded_shuffle gives the same permutation on every standard library", "[split]") {
    // mt19937_64's output is fixed by the C++ standard, and the shuffle uses nothing
    // implementation-defined, so these values hold everywhere.
    std::mt19937_64 rng(42);
    std::vector<std::size_t> items{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    msa::data::seeded_shuffle(items, rng);
    CHECK(items == std::vector<std::size_t>{1, 7, 9, 0, 3, 8, 4, 2, 5, 6});
}

TEST_CASE("uniform_below stays in range and reaches every value", "[split]") {
    std::mt19937_64 rng(3);
    std::vector<int> hits(7, 0);
    for (int i = 0; i < 7000; ++i) {
        const auto x = msa::data::uniform_below(rng, 7);
        REQUIRE(x < 7);
        ++hits[x];
    }
    for (const int h : hits) CHECK((h > 850 && h < 1150));
}

TEST_CASE("split_by_ratio refuses ratios that leave nothing for training", "[split]") {
    const auto samples = make_samples({10, 10});
    CHECK_THAT(split_error([&] { msa::data::split_by_ratio(samples, 0.5, 0.5, 1); }),
               Catch::Contains("leaves nothing for training"));
    CHECK_THAT(split_error([&] { msa::data::split_by_ratio(samples, -0.1, 0.2, 1); }), Catch::Contains("split.valid"));
}

TEST_CASE("a split of a dataset without labels fails", "[split]") {
    const auto samples = make_samples({}, 5);
    CHECK_THAT(split_error([&] { msa::data::split_by_ratio(samples, 0.1, 0.1, 1); }),
               Catch::Contains("no labelled samples"));
}

TEST_CASE("k-fold test folds are disjoint and cover every labelled sample", "[split]") {
    const auto samples = make_samples({53, 31, 9}, 4);
    const int k = 5;
    std::vector<int> fold_of(samples.size(), -1);
    std::vector<std::size_t> sizes;
    for (int fold = 0; fold < k; ++fold) {
        const Split split = msa::data::split_k_fold(samples, k, fold, 0.1, 42);
        check_partition(samples, split);
        for (const std::size_t i : split.test) {
            CHECK(fold_of[i] == -1);
            fold_of[i] = fold;
        }
        sizes.push_back(split.test.size());
        // Per class, the valid share is round(n * valid) of the class.
        CHECK(per_class(samples, split.valid, 3) == std::vector<std::size_t>{5, 3, 1});
    }
    for (std::size_t i = 0; i < samples.size(); ++i) CHECK((fold_of[i] >= 0) == (samples[i].label >= 0));
    const auto [smallest, largest] = std::minmax_element(sizes.begin(), sizes.end());
    CHECK(*largest - *smallest <= 1);
}

TEST_CASE("k-fold folds are stratified", "[split]") {
    const auto samples = make_samples({100, 50, 25});
    for (int fold = 0; fold < 5; ++fold) {
        const Split split = msa::data::split_k_fold(samples, 5, fold, 0.0, 9);
        const auto test = per_class(samples, split.test, 3);
        CHECK(test == std::vector<std::size_t>{20, 10, 5});
        CHECK(split.valid.empty());
    }
}

TEST_CASE("k-fold refuses a fold outside the folds", "[split]") {
    const auto samples = make_samples({10, 10});
    CHECK_THAT(split_error([&] { msa::data::split_k_fold(samples, 5, 5, 0.1, 1); }), Catch::Contains("split.fold = 5"));
    CHECK_THAT(split_error([&] { msa::data::split_k_fold(samples, 1, 0, 0.1, 1); }),
               Catch::Contains("at least 2 folds"));
}

TEST_CASE("make_split prefers given files, then folds, then ratios", "[split]") {
    const auto samples = make_samples({20, 20});
    msa::SplitConfig config;
    config.valid = 0.2;
    config.test = 0.3;
    const Split ratio = msa::data::make_split(samples, config, 5);
    CHECK(ratio.test.size() == 12);
    config.folds = 4;
    config.fold = 1;
    const Split fold = msa::data::make_split(samples, config, 5);
    CHECK(fold.test.size() == 10);
    CHECK(fold.test == msa::data::split_k_fold(samples, 4, 1, 0.2, 5).test);
    TempDir dir;
    config.train_file = dir.write("train.csv", "guid,tag\ns0,x\n");
    config.valid_file = dir.write("valid.csv", "guid,tag\ns1,x\n");
    config.test_file = dir.write("test.csv", "guid,tag\ns2,x\n");
    const Split given = msa::data::make_split(samples, config, 5);
    CHECK(given.train == std::vector<std::size_t>{0});
    CHECK(given.valid == std::vector<std::size_t>{1});
    CHECK(given.test == std::vector<std::size_t>{2});
}

TEST_CASE("given split files place groups with their listed member", "[split]") {
    auto samples = make_samples({3, 3});
    Sample copy = samples[0];
    copy.id = "s0-aug";
    copy.group = "s0";
    samples.push_back(copy);
    TempDir dir;
    const Split split = msa::data::split_by_files(
        samples, dir.write("train.txt", "guid,tag\ns0,negative\ns1,negative\ns3,null\n"),
        dir.write("valid.txt", "guid,tag\ns2,negative\n"), dir.write("test.txt", "guid,tag\ns4,positive\n"));
    CHECK(split.train == std::vector<std::size_t>{0, 1, 3, 6});
    CHECK(split.valid == std::vector<std::size_t>{2});
    CHECK(split.test == std::vector<std::size_t>{4}); // s5 is listed nowhere
    CHECK(msa::data::ids_of(samples, split.train) == std::vector<std::string>{"s0", "s1", "s3", "s0-aug"});
}

TEST_CASE("a given split file naming an unknown id fails naming id and file", "[split]") {
    const auto samples = make_samples({3, 3});
    TempDir dir;
    const std::string message = split_error([&] {
        msa::data::split_by_files(samples, dir.write("train.txt", "guid,tag\ns0,x\n"),
                                  dir.write("valid.txt", "guid,tag\ns1,x\nnope,x\n"),
                                  dir.write("test.txt", "guid,tag\ns2,x\n"));
    });
    CHECK_THAT(message, Catch::Contains("valid.txt:3: id 'nope' is not in the dataset"));
}

TEST_CASE("a given split file repeating an id fails naming both places", "[split]") {
    const auto samples = make_samples({3, 3});
    TempDir dir;
    const std::string message = split_error([&] {
        msa::data::split_by_files(samples, dir.write("train.txt", "guid,tag\ns0,x\ns1,x\n"),
                                  dir.write("valid.txt", "guid,tag\ns2,x\n"),
                                  dir.write("test.txt", "guid,tag\ns1,x\n"));
    });
    CHECK_THAT(message, Catch::Contains("test.txt:2: id 's1' is listed again (first at "));
    CHECK_THAT(message, Catch::Contains("train.txt:3"));
}

TEST_CASE("given split files that separate a group fail", "[split]") {
    auto samples = make_samples({3, 3});
    samples[1].group = "s0";
    TempDir dir;
    const std::string message = split_error([&] {
        msa::data::split_by_files(samples, dir.write("train.txt", "guid,tag\ns0,x\n"),
                                  dir.write("valid.txt", "guid,tag\ns2,x\n"),
                                  dir.write("test.txt", "guid,tag\ns1,x\n"));
    });
    CHECK_THAT(message, Catch::Contains("id 's1' is in test but 's0' of the same group 's0' is in train"));
}

TEST_CASE("a given split file listing an unlabelled sample fails", "[split]") {
    const auto samples = make_samples({3, 3}, 1);
    TempDir dir;
    const std::string message = split_error([&] {
        msa::data::split_by_files(samples, dir.write("train.txt", "guid,tag\ns0,x\n"),
                                  dir.write("valid.txt", "guid,tag\nu0,null\n"),
                                  dir.write("test.txt", "guid,tag\ns2,x\n"));
    });
    CHECK_THAT(message, Catch::Contains("valid.txt:2: id 'u0' is unlabelled"));
}

TEST_CASE("a given split file with a wrong header fails naming the key", "[split]") {
    const auto samples = make_samples({3, 3});
    TempDir dir;
    const std::string message = split_error([&] {
        msa::data::split_by_files(samples, dir.write("train.txt", "id\ns0\n"),
                                  dir.write("valid.txt", "guid,tag\ns1,x\n"),
                                  dir.write("test.txt", "guid,tag\ns2,x\n"));
    });
    CHECK_THAT(message, Catch::Contains("split.train_file"));
    CHECK_THAT(message, Catch::Contains("expected 'guid,tag'"));
}

TEST_CASE("no group ever crosses splits, over 200 random groupings", "[split][property]") {
    std::mt19937_64 rng(2024);
    for (int round = 0; round < 200; ++round) {
        // Random groups of 1..6 samples: a source (id == group) and augmented copies,
        // some copies listed before their source; a few unlabelled samples.
        std::vector<Sample> samples;
        const int groups = 5 + int(rng() % 120);
        const int classes = 2 + int(rng() % 3);
        for (int g = 0; g < groups; ++g) {
            const std::string source = "g" + std::to_string(g);
            const int label = int(rng() % std::uint64_t(classes));
            const int size = 1 + int(rng() % 6);
            for (int m = 0; m < size; ++m) {
                Sample s;
                s.id = m == 0 ? source : source + "-aug" + std::to_string(m);
                s.group = source;
                s.label = label;
                samples.push_back(s);
            }
            if (rng() % 10 == 0) {
                Sample u;
                u.id = "u" + std::to_string(g);
                u.group = u.id;
                samples.push_back(u);
            }
        }
        // Shuffle the order so that group members are not adjacent.
        std::vector<std::size_t> order(samples.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        msa::data::seeded_shuffle(order, rng);
        std::vector<Sample> shuffled;
        for (const std::size_t i : order) shuffled.push_back(samples[i]);

        const std::uint64_t seed = rng();
        std::vector<Split> splits{msa::data::split_by_ratio(shuffled, 0.15, 0.2, seed)};
        const int k = 2 + int(rng() % 4);
        if (groups >= k)
            for (int fold = 0; fold < k; ++fold)
                splits.push_back(msa::data::split_k_fold(shuffled, k, fold, 0.1, seed));
        for (const Split& split : splits) {
            check_partition(shuffled, split);
            const auto part = parts_of(shuffled.size(), split);
            std::map<std::string, int> group_part;
            for (std::size_t i = 0; i < shuffled.size(); ++i) {
                if (shuffled[i].label < 0) continue;
                const auto [it, fresh] = group_part.emplace(shuffled[i].group, part[i]);
                INFO("round " << round << ", group " << shuffled[i].group);
                REQUIRE(it->second == part[i]);
            }
        }
    }
}

TEST_CASE("few-shot validation: k per class from the train split, apart from the training rows", "[split]") {
    msa::Study study;
    study.dataset.labels = {"negative", "neutral", "positive"};
    study.few_shot = msa::FewShotConfig{4, "study.toml:3:1"};
    study.seed = 2;
    msa::train::TrialData data;
    data.dataset.samples = msa::test::labelled_pool({12, 10, 20});
    for (std::size_t i = 0; i < 36; ++i) data.split.train.push_back(i); // the rest: valid
    for (std::size_t i = 36; i < 42; ++i) data.split.valid.push_back(i);
    const std::vector<std::size_t> training{0, 1, 2, 3, 12, 13, 14, 15, 22, 23, 24, 25};
    auto drawn = data;
    const auto report = msa::train::draw_few_shot_validation(study, drawn, training);
    CHECK(report["k"] == 4);
    CHECK(report["validation_split_unused"] == 6);
    REQUIRE(drawn.split.valid.size() == 12);
    std::map<int, int> per_class;
    for (auto i : drawn.split.valid) {
        ++per_class[drawn.dataset.samples[i].label];
        CHECK(i < 36); // from the train split,
        CHECK(std::find(training.begin(), training.end(), i) == training.end()); // never a training row
        CHECK(std::find(drawn.split.train.begin(), drawn.split.train.end(), i) == drawn.split.train.end());
    }
    CHECK(per_class == std::map<int, int>{{0, 4}, {1, 4}, {2, 4}});
    CHECK(drawn.split.train.size() == 24);
    for (auto i : training) // the training rows stay in the train split
        CHECK(std::find(drawn.split.train.begin(), drawn.split.train.end(), i) != drawn.split.train.end());
    CHECK(drawn.split.test == data.split.test);
    // Seeded: the same seed draws the same rows, another seed others.
    auto again = data;
    msa::train::draw_few_shot_validation(study, again, training);
    CHECK(again.split.valid == drawn.split.valid);
    study.seed = 3;
    auto other = data;
    msa::train::draw_few_shot_validation(study, other, training);
    CHECK(other.split.valid != drawn.split.valid);
    // Class 'negative' has 12 - 7 = 5 left, too few for k = 7 beside its 7 training rows.
    study.few_shot->k = 7;
    auto short_of = data;
    CHECK_THROWS_WITH(msa::train::draw_few_shot_validation(study, short_of, {0, 1, 2, 3, 4, 5, 6, 12, 13, 14, 15, 16, 17, 18, 22, 23, 24, 25, 26, 27, 28}),
                      Catch::Matchers::Contains("class 'negative' has 5 train-split samples left") &&
                          Catch::Matchers::Contains("lower k (at most 6 here)"));
}

TEST_CASE("validation folds: the ratio split's test rows, the rest partitioned into stratified folds",
          "[split][selection]") {
    auto samples = make_samples({100, 50, 21}, 4);
    for (std::size_t i = 0; i < 30; ++i) { // augmented copies stay with their source
        Sample copy = samples[i];
        copy.id += "#aug";
        samples.push_back(copy);
    }
    const std::uint64_t test_seed = 42;
    for (const std::uint64_t seed : {1, 2}) {
        const Split ratio = msa::data::split_by_ratio(samples, 0.1, 0.1, seed, test_seed);
        std::vector<int> validated(samples.size(), 0);
        for (int fold = 0; fold < 5; ++fold) {
            const Split split = msa::data::split_valid_folds(samples, 0.1, 0.1, 5, fold, seed, test_seed);
            INFO("seed " << seed << ", fold " << fold);
            check_partition(samples, split);
            CHECK(split.test == ratio.test); // the rows a phase without folds tests on
            for (const std::size_t i : split.valid) ++validated[i];
            // Stratified: a fifth of each class's groups outside the test split (90, 45, 19).
            std::vector<std::size_t> sources;
            for (const std::size_t i : split.valid)
                if (samples[i].id.find("#aug") == std::string::npos) sources.push_back(i);
            const auto valid = per_class(samples, sources, 3);
            CHECK(valid[0] == 18);
            CHECK(valid[1] == 9);
            CHECK((valid[2] == 3 || valid[2] == 4));
            const auto part = parts_of(samples.size(), split);
            for (std::size_t i = 100 + 50 + 21 + 4; i < samples.size(); ++i)
                CHECK(part[i] == part[i - (100 + 50 + 21 + 4)]);
        }
        // The folds partition every labelled row outside the test split.
        std::set<std::size_t> tested(ratio.test.begin(), ratio.test.end());
        for (std::size_t i = 0; i < samples.size(); ++i) {
            INFO("sample " << samples[i].id);
            CHECK(validated[i] == (samples[i].label >= 0 && !tested.count(i) ? 1 : 0));
        }
    }
    // Another seed deals other folds; the same seed the same ones.
    const auto a = msa::data::split_valid_folds(samples, 0.1, 0.1, 5, 0, 1, test_seed);
    CHECK(msa::data::split_valid_folds(samples, 0.1, 0.1, 5, 0, 1, test_seed).valid == a.valid);
    CHECK(msa::data::split_valid_folds(samples, 0.1, 0.1, 5, 0, 2, test_seed).valid != a.valid);
    // make_split takes it from [split] valid_folds.
    msa::SplitConfig config;
    config.test_seed = test_seed;
    config.valid_folds = 5;
    config.valid_fold = 0;
    CHECK(msa::data::make_split(samples, config, 1).valid == a.valid);
}

TEST_CASE("validation folds refuse too few folds, a fold outside them, and more folds than groups",
          "[split][selection]") {
    const auto samples = make_samples({4, 3});
    CHECK_THAT(split_error([&] { msa::data::split_valid_folds(samples, 0.1, 0.2, 1, 0, 1); }),
               Catch::Contains("at least 2 folds"));
    CHECK_THAT(split_error([&] { msa::data::split_valid_folds(samples, 0.1, 0.2, 3, 3, 1); }),
               Catch::Contains("split.valid_fold = 3 must be in [0, 2]"));
    CHECK_THAT(split_error([&] { msa::data::split_valid_folds(samples, 0.1, 0.2, 7, 0, 1); }),
               Catch::Contains("7 validation folds need at least 7 labelled groups outside the test split"));
}

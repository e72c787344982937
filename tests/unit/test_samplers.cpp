// The sampler plugins (k-shot, consistent, weighted-random, hard-mining), built through
// the real plugin catalog.
#include "test_helpers.hpp"

#include <msa/sampler.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace msa;
using Catch::Matchers::Contains;

namespace {

const std::vector<std::string> names{"negative", "neutral", "positive"};

std::shared_ptr<Sampler> make_sampler(const std::string& name, const std::map<std::string, Value>& overrides = {}) {
    return test::builtin_catalog().create_sampler(name, test::properties(PluginKind::sampler, name, overrides));
}

SamplerContext context(std::uint64_t seed) { return {3, seed, names}; }

Value integer(std::int64_t i) { return Value{i}; }

std::vector<int> class_counts(const std::vector<Sample>& pool, const std::vector<std::size_t>& chosen) {
    std::vector<int> counts(3);
    for (auto i : chosen) ++counts.at(static_cast<std::size_t>(pool.at(i).label));
    return counts;
}

} // namespace

TEST_CASE("k-shot: exactly k per class, disjoint sets for one seed, clear shortfalls", "[sampler]") {
    const auto pool = test::labelled_pool({20, 25, 30});
    std::vector<std::vector<std::size_t>> sets;
    for (std::int64_t s = 0; s < 3; ++s) {
        auto sampler = make_sampler("k-shot", {{"k", integer(5)}, {"sets", integer(3)}, {"set", integer(s)}});
        sets.push_back(sampler->select(pool, context(9)));
        CHECK(class_counts(pool, sets.back()) == std::vector<int>{5, 5, 5});
        CHECK(std::set<std::size_t>(sets.back().begin(), sets.back().end()).size() == 15);
        CHECK(sampler->select(pool, context(9)) == sets.back());
    }
    for (std::size_t a = 0; a < sets.size(); ++a)
        for (std::size_t b = a + 1; b < sets.size(); ++b) {
            std::vector<std::size_t> common;
            std::set_intersection(sets[a].begin(), sets[a].end(), sets[b].begin(), sets[b].end(), std::back_inserter(common));
            CHECK(common.empty());
        }
    // Set 0 does not depend on how many sets are drawn; another seed gives another set.
    auto single = make_sampler("k-shot", {{"k", integer(5)}});
    CHECK(single->select(pool, context(9)) == sets[0]);
    CHECK(single->select(pool, context(10)) != sets[0]);

    auto two_sets = make_sampler("k-shot", {{"k", integer(5)}, {"sets", integer(2)}});
    CHECK_THROWS_WITH(two_sets->select(test::labelled_pool({20, 8, 30}), context(1)),
                      Contains("class 'neutral' has 8 samples in the training pool; k = 5 × sets = 2 needs 10"));
    CHECK_THROWS_WITH(make_sampler("k-shot", {{"set", integer(2)}, {"sets", integer(2)}}),
                      Contains("set = 2 but only 2 set(s) are drawn; accepted: 0..1"));
}

TEST_CASE("consistent: the pool's proportions by largest remainder, one per class present", "[sampler]") {
    auto with_budget = [](std::int64_t budget) { return make_sampler("consistent", {{"budget", integer(budget)}}); };
    const auto pool = test::labelled_pool({10, 20, 70});
    const auto ten = with_budget(10)->select(pool, context(4));
    CHECK(class_counts(pool, ten) == std::vector<int>{1, 2, 7});
    CHECK(with_budget(10)->select(pool, context(4)) == ten);
    CHECK(with_budget(10)->select(pool, context(5)) != ten);
    // Quotas 0.7, 1.4, 4.9: floors 0, 1, 4; the two left go to remainders .9 and .7.
    CHECK(class_counts(pool, with_budget(7)->select(pool, context(4))) == std::vector<int>{1, 1, 5});
    // Quotas 0.08, 1.96, 1.96: largest remainders give 0, 2, 2; class 0 takes one from class 1.
    const auto skewed = test::labelled_pool({2, 49, 49});
    CHECK(class_counts(skewed, with_budget(4)->select(skewed, context(4))) == std::vector<int>{1, 1, 2});
    // An absent class gets none.
    const auto two_classes = test::labelled_pool({0, 50, 50});
    CHECK(class_counts(two_classes, with_budget(10)->select(two_classes, context(4))) == std::vector<int>{0, 5, 5});
    // budget = 0: a fraction of the pool (default 0.1).
    CHECK(class_counts(pool, make_sampler("consistent")->select(pool, context(4))) == std::vector<int>{1, 2, 7});
    CHECK(class_counts(pool, make_sampler("consistent", {{"fraction", Value{0.5}}})->select(pool, context(4))) ==
          std::vector<int>{5, 10, 35});

    CHECK_THROWS_WITH(with_budget(2)->select(pool, context(4)),
                      Contains("budget = 2 cannot give one sample to each of the 3 classes"));
    CHECK_THROWS_WITH(with_budget(101)->select(pool, context(4)),
                      Contains("larger than the training pool (100 samples); accepted: 3..100"));
    CHECK_THROWS_WITH(make_sampler("consistent", {{"budget", integer(10)}, {"fraction", Value{0.5}}}),
                      Contains("ignored parameter 'fraction'"));
}

TEST_CASE("k-shot and consistent take a few-shot trial's k per class from the context", "[sampler]") {
    const auto pool = test::labelled_pool({10, 20, 70});
    SamplerContext few_shot = context(4);
    few_shot.shots = 3;
    // k-shot: the context's k wins over the parameter, and draws what k = 3 draws.
    const auto k_shot = make_sampler("k-shot", {{"k", integer(8)}})->select(pool, few_shot);
    CHECK(class_counts(pool, k_shot) == std::vector<int>{3, 3, 3});
    CHECK(k_shot == make_sampler("k-shot", {{"k", integer(3)}})->select(pool, context(4)));
    // consistent: the same total, k x classes, in the pool's proportions.
    const auto consistent = make_sampler("consistent", {{"budget", integer(50)}})->select(pool, few_shot);
    CHECK(class_counts(pool, consistent) == std::vector<int>{1, 2, 6});
    few_shot.shots = 11;
    CHECK_THROWS_WITH(make_sampler("k-shot")->select(pool, few_shot),
                      Contains("class 'negative' has 10 samples in the training pool; k = 11"));
    // A total the pool cannot give names the few-shot k that set it, not the budget.
    few_shot.shots = 40;
    CHECK_THROWS_WITH(make_sampler("consistent")->select(pool, few_shot),
                      Contains("few-shot k = 40 x 3 classes = 120 is larger than the training pool (100 samples)"));
}

TEST_CASE("weighted-random: seeded draws with replacement that balance the classes", "[sampler]") {
    const auto pool = test::labelled_pool({10, 30, 160});
    auto sampler = make_sampler("weighted-random", {{"num_samples", integer(3000)}});
    const auto draws = sampler->select(pool, context(21));
    REQUIRE(draws.size() == 3000);
    CHECK(sampler->select(pool, context(21)) == draws);
    CHECK(sampler->select(pool, context(22)) != draws);
    for (int count : class_counts(pool, draws)) {
        CHECK(count > 850);
        CHECK(count < 1150);
    }
    // Every sample of the rare class comes up, many times each.
    std::map<std::size_t, int> times;
    for (auto i : draws) ++times[i];
    for (std::size_t i = 0; i < 10; ++i) CHECK(times[i] > 50);

    const auto default_draws = make_sampler("weighted-random")->select(pool, context(1));
    CHECK(default_draws.size() == pool.size());
    CHECK(*std::max_element(default_draws.begin(), default_draws.end()) < pool.size());
}

TEST_CASE("hard-mining: low-confidence and neutral-confused from a predictions file", "[sampler]") {
    test::TempDir dir;
    // c is quoted; x is an unlabelled row outside the pool.
    const auto file = dir.write("trial/predictions.csv",
                                "id,split,label,predicted,p_negative,p_neutral,p_positive\n"
                                "a,train,negative,negative,0.9,0.05,0.05\n"
                                "b,train,neutral,positive,0.1,0.3,0.6\n"
                                "\"c\",train,positive,neutral,0.1,0.5,0.4\n"
                                "d,train,negative,positive,0.2,0.1,0.7\n"
                                "e,valid,positive,positive,0.0,0.45,0.55\n"
                                "x,test,,positive,0.1,0.1,0.8\n");
    // a..e as in the file, and z that the file does not have.
    const std::vector<Sample> pool{{"a", "", "", 0, "a"}, {"b", "", "", 1, "b"}, {"c", "", "", 2, "c"},
                                   {"d", "", "", 0, "d"}, {"e", "", "", 2, "e"}, {"z", "", "", 1, "z"}};
    auto hard = [&](std::map<std::string, Value> overrides) {
        overrides.emplace("predictions", Value{file.string()});
        return make_sampler("hard-mining", overrides)->select(pool, context(0));
    };
    using Indices = std::vector<std::size_t>;
    // p of the true class: a .9, b .3, c .4, d .2, e .55; below 0.5, hardest first: d, b, c.
    CHECK(hard({}) == Indices{3, 1, 2});
    CHECK(hard({{"threshold", Value{0.35}}}) == Indices{3, 1});
    CHECK(hard({{"max", integer(2)}}) == Indices{3, 1});
    CHECK(hard({{"include_rest", Value{true}}}) == Indices{0, 1, 2, 3, 4, 5, 3, 1, 2});
    // Misclassified with neutral as the true (b) or predicted (c) class; d is wrong but not neutral.
    const Value neutral_mode{std::string("neutral-confused")};
    CHECK(hard({{"mode", neutral_mode}}) == Indices{1, 2});
    CHECK(hard({{"mode", neutral_mode}, {"max", integer(1)}, {"include_rest", Value{true}}}) ==
          Indices{0, 1, 2, 3, 4, 5, 1});
    // The trial folder works as well as the file.
    CHECK(make_sampler("hard-mining", {{"predictions", Value{file.parent_path().string()}}})->select(pool, context(0)) ==
          Indices{3, 1, 2});

    CHECK_THROWS_WITH(hard({{"mode", neutral_mode}, {"neutral", Value{std::string("meh")}}}),
                      Contains("neutral = 'meh' is not a class of this study; accepted: negative, neutral, positive"));
    CHECK_THROWS_WITH(hard({{"mode", neutral_mode}, {"threshold", Value{0.2}}}), Contains("ignored parameter 'threshold'"));
    CHECK_THROWS_WITH(hard({{"threshold", Value{0.01}}}), Contains("no pool sample is hard"));

    const std::vector<Sample> strangers{{"q", "", "", 0, "q"}, {"r", "", "", 1, "r"}};
    CHECK_THROWS_WITH(make_sampler("hard-mining", {{"predictions", Value{file.string()}}})->select(strangers, context(0)),
                      Contains("none of the 2 training pool ids appears in") && Contains("another trial"));

    auto bad = [&](const std::string& content) {
        const auto path = dir.write("bad.csv", content);
        make_sampler("hard-mining", {{"predictions", Value{path.string()}}})->select(pool, context(0));
    };
    const std::string header = "id,split,label,predicted,p_negative,p_neutral,p_positive\n";
    CHECK_THROWS_WITH(bad(header + "a,train,negative,negative,0.9,0.05,0.05\nb,train,neutral,positive,0.1,high,0.6\n"),
                      Contains("bad.csv:3: column 6 (p_neutral) is 'high'; expected a probability in [0, 1]"));
    CHECK_THROWS_WITH(bad(header + "a,train,negative,negative,0.9,0.05\n"),
                      Contains("bad.csv:2: expected 7 fields as in the header, found 6"));
    CHECK_THROWS_WITH(bad(header + "a,train,negative,postive,0.9,0.05,0.05\n"),
                      Contains("bad.csv:2: unknown predicted class 'postive'"));
    CHECK_THROWS_WITH(bad(header + "a,train,negative,negative,0.9,0.05,0.05\na,test,,negative,0.9,0.05,0.05\n"),
                      Contains("bad.csv:3: id 'a' appears again (first at line 2)"));
    CHECK_THROWS_WITH(bad(header + "\"a,train,negative,negative,0.9,0.05,0.05\n"), Contains("bad.csv:2: a quoted field is not closed"));
    CHECK_THROWS_WITH(bad("id,split,label,predicted,p_negative,p_positive\n"), Contains("bad.csv:1: no column p_neutral"));
    CHECK_THROWS_WITH(bad("guid,tag\n"), Contains("bad.csv:1: expected the header id,split,label,predicted"));
    CHECK_THROWS_WITH(bad(header + "a,train,positive,negative,0.9,0.05,0.05\n"),
                      Contains("bad.csv:2: sample 'a' is labelled 'positive' here but 'negative' in the training pool"));
    CHECK_THROWS_WITH(make_sampler("hard-mining", {{"predictions", Value{(dir.path() / "nowhere").string()}}})
                          ->select(pool, context(0)),
                      Contains("predictions file not found"));
}

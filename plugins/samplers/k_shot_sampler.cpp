// k-shot: exactly k training samples per class, seeded; `sets` few-shot training sets
// that never share a sample, of which `set` picks one.
//
// Each class is shuffled once with the seed (Fisher–Yates on mt19937_64, classes in label
// order), whatever `set` is, and set s takes positions [s·k, (s+1)·k) of every class: so
// for the same seed and k, sets 0..sets-1 are disjoint, and set 0 of sets = 1 is set 0 of
// any `sets`. Every class needs at least k·sets samples in the pool.
//
// | parameter | type | default | meaning                                            |
// | k         | int  | 16      | samples per class, in [1, 1000000]                 |
// | set       | int  | 0       | which of the disjoint sets to return, in [0, sets) |
// | sets      | int  | 1       | number of disjoint sets drawn, in [1, 1000]        |
//
// In a few-shot phase's trials (SamplerContext::shots = k) that k replaces the parameter.
#include <msa/plugin.hpp>
#include <msa/random.hpp>
#include <msa/sampler.hpp>

#include <algorithm>
#include <limits>
#include <random>
#include <string>

namespace {

std::string class_name(const msa::SamplerContext& context, std::size_t c) {
    return c < context.labels.size() ? "'" + context.labels[c] + "'" : std::to_string(c);
}

class KShotSampler final : public msa::Sampler {
public:
    explicit KShotSampler(const msa::Properties& props)
        : k_(props.get_int("k")), set_(props.get_int("set")), sets_(props.get_int("sets")), where_k_(props.where("k")) {
        if (set_ >= sets_)
            throw msa::ConfigError(props.where("set"), "set = " + std::to_string(set_) + " but only " +
                                                           std::to_string(sets_) + " set(s) are drawn; accepted: 0.." +
                                                           std::to_string(sets_ - 1) + " (or raise sets)");
    }

    std::vector<std::size_t> select(const std::vector<msa::Sample>& pool,
                                    const msa::SamplerContext& context) override {
        auto by_class = msa::indices_by_class(pool, context.num_classes, "k-shot sampler");
        const std::int64_t k = context.shots > 0 ? context.shots : k_; // a few-shot phase's k wins
        const auto needed = static_cast<std::size_t>(k * sets_);
        for (std::size_t c = 0; c < by_class.size(); ++c)
            if (by_class[c].size() < needed)
                throw msa::ConfigError(where_k_, "k-shot sampler: class " + class_name(context, c) + " has " +
                                                     std::to_string(by_class[c].size()) +
                                                     " samples in the training pool; k = " + std::to_string(k) +
                                                     " × sets = " + std::to_string(sets_) + " needs " +
                                                     std::to_string(needed) + " (lower k or sets)");
        std::mt19937_64 rng(context.seed);
        std::vector<std::size_t> chosen;
        for (auto& members : by_class) {
            msa::seeded_shuffle(members, rng);
            const auto first = members.begin() + set_ * k;
            chosen.insert(chosen.end(), first, first + k);
        }
        std::sort(chosen.begin(), chosen.end());
        return chosen;
    }

private:
    std::int64_t k_;
    std::int64_t set_;
    std::int64_t sets_;
    std::string where_k_;
};

void register_plugins(msa::Registry& registry) {
    registry.add_sampler(
        {"k-shot",
         "Exactly k seeded samples per class; several disjoint few-shot sets for the same seed.",
         {msa::ParamSpec::integer("k", 16, "Samples per class").range(1, 1'000'000),
          msa::ParamSpec::integer("set", 0, "Which of the disjoint sets to return (0-based, below sets)")
              .range(0, 999),
          msa::ParamSpec::integer("sets", 1, "How many disjoint sets are drawn from the pool (each class needs k*sets)")
              .range(1, 1000)}},
        [](const msa::Properties& props) { return std::make_shared<KShotSampler>(props); });
}

} // namespace

MSA_PLUGIN(register_plugins)

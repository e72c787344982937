// stratified: a seeded random fraction of every class, so the subset keeps the pool's
// class proportions (each class rounded to the nearest count, at least min_per_class).
//
// | parameter     | type  | default | meaning                                   |
// | fraction      | float | 0.5     | share of each class to keep, in (0, 1]     |
// | min_per_class | int   | 1       | floor per class (capped by the class size) |
#include <msa/plugin.hpp>
#include <msa/random.hpp>
#include <msa/sampler.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

namespace {

class StratifiedSampler final : public msa::Sampler {
public:
    explicit StratifiedSampler(const msa::Properties& props)
        : fraction_(props.get_real("fraction")), min_per_class_(props.get_int("min_per_class")) {}

    std::vector<std::size_t> select(const std::vector<msa::Sample>& pool,
                                    const msa::SamplerContext& context) override {
        auto by_class = msa::indices_by_class(pool, context.num_classes, "stratified sampler");
        std::mt19937_64 rng(context.seed);
        std::vector<std::size_t> chosen;
        for (auto& members : by_class) {
            msa::seeded_shuffle(members, rng);
            const auto wanted = static_cast<std::int64_t>(std::llround(fraction_ * static_cast<double>(members.size())));
            const auto keep = std::min<std::int64_t>(static_cast<std::int64_t>(members.size()),
                                                     std::max(wanted, min_per_class_));
            chosen.insert(chosen.end(), members.begin(), members.begin() + keep);
        }
        std::sort(chosen.begin(), chosen.end());
        return chosen;
    }

private:
    double fraction_;
    std::int64_t min_per_class_;
};

void register_plugins(msa::Registry& registry) {
    registry.add_sampler(
        {"stratified",
         "A seeded random fraction of every class, keeping the pool's class proportions.",
         {msa::ParamSpec::real("fraction", 0.5, "Share of each class to keep").range(1e-6, 1.0),
          msa::ParamSpec::integer("min_per_class", 1, "At least this many per class (capped by the class size)")
              .range(0, 1'000'000)}},
        [](const msa::Properties& props) { return std::make_shared<StratifiedSampler>(props); });
}

} // namespace

MSA_PLUGIN(register_plugins)

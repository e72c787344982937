// weighted-random: draws with replacement, each sample with probability proportional to
// 1 / (pool count of its class), so that every class present is drawn equally often in
// expectation (oversampling the rare classes), seeded.
//
// Drawing a sample with probability (1/n_c) / (number of classes present) is the same as
// drawing a present class uniformly, then a member of it uniformly; that is how it is done,
// with rejection-sampled integers on mt19937_64 so that a seed gives the same draws with
// every standard library. The indices come in draw order.
//
// | parameter   | type | default | meaning                                     |
// | num_samples | int  | 0       | draws; 0 = as many as the pool has samples  |
#include <msa/plugin.hpp>
#include <msa/random.hpp>
#include <msa/sampler.hpp>

#include <limits>
#include <random>
#include <string>

namespace {

class WeightedRandomSampler final : public msa::Sampler {
public:
    explicit WeightedRandomSampler(const msa::Properties& props) : num_samples_(props.get_int("num_samples")) {}

    std::vector<std::size_t> select(const std::vector<msa::Sample>& pool,
                                    const msa::SamplerContext& context) override {
        auto by_class = msa::indices_by_class(pool, context.num_classes, "weighted-random sampler");
        std::vector<const std::vector<std::size_t>*> present;
        for (const auto& members : by_class)
            if (!members.empty()) present.push_back(&members);
        if (present.empty()) throw msa::Error("weighted-random sampler: the training pool is empty");

        const auto draws = num_samples_ == 0 ? pool.size() : static_cast<std::size_t>(num_samples_);
        std::mt19937_64 rng(context.seed);
        std::vector<std::size_t> chosen;
        chosen.reserve(draws);
        for (std::size_t d = 0; d < draws; ++d) {
            const auto& members = *present[msa::uniform_below(rng, present.size())];
            chosen.push_back(members[msa::uniform_below(rng, members.size())]);
        }
        return chosen;
    }

private:
    std::int64_t num_samples_;
};

void register_plugins(msa::Registry& registry) {
    registry.add_sampler(
        {"weighted-random",
         "Seeded draws with replacement, each sample weighted by 1/(count of its class): classes come out balanced.",
         {msa::ParamSpec::integer("num_samples", 0, "How many draws; 0 = the pool's size").range(0, 100'000'000)}},
        [](const msa::Properties& props) { return std::make_shared<WeightedRandomSampler>(props); });
}

} // namespace

MSA_PLUGIN(register_plugins)

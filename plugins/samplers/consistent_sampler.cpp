// consistent: a few-shot training set of a fixed total size whose class distribution is
// that of the whole pool (distribution-consistent sampling), seeded.
//
// Allocation of the budget B over classes with n_c pool samples (N in all), in integers:
//   1. quota q_c = B·n_c / N; every class gets floor(q_c);
//   2. the B − Σ floor(q_c) left over go one each to the largest remainders q_c − floor(q_c)
//      (Hamilton / largest-remainder rounding; ties to the lower class index);
//   3. a class present in the pool that got 0 gets 1, taken from the class with the most
//      above its quota (a_c − q_c largest among a_c ≥ 2; ties to the lower class index).
// Then each class is shuffled (Fisher–Yates on mt19937_64, classes in label order) and
// its first a_c samples are taken. Absent classes get none.
//
// | parameter | type  | default | meaning                                                         |
// | budget    | int   | 0       | total samples, >= one per class present; 0 = use fraction       |
// | fraction  | float | 0.1     | total as a share of the pool when budget = 0, in (0, 1]          |
//
// In a few-shot phase's trials (SamplerContext::shots = k) the budget is k x classes.
#include <msa/plugin.hpp>
#include <msa/random.hpp>
#include <msa/sampler.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>

namespace {

// Steps 1-3 above. Remainders are compared as exact fractions r_c / N.
std::vector<std::int64_t> allocate(const std::vector<std::int64_t>& counts, std::int64_t budget) {
    std::int64_t total = 0;
    for (auto n : counts) total += n;
    const std::size_t classes = counts.size();
    std::vector<std::int64_t> share(classes), remainder(classes);
    std::int64_t given = 0;
    for (std::size_t c = 0; c < classes; ++c) {
        share[c] = budget * counts[c] / total;
        remainder[c] = budget * counts[c] % total;
        given += share[c];
    }
    std::vector<std::size_t> order(classes);
    for (std::size_t c = 0; c < classes; ++c) order[c] = c;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return remainder[a] > remainder[b]; });
    for (std::size_t i = 0; given < budget; ++i, ++given) ++share[order[i]];

    for (std::size_t c = 0; c < classes; ++c) {
        if (counts[c] == 0 || share[c] > 0) continue;
        // Excess over the quota, a_c − B·n_c/N, scaled by N to stay in integers.
        std::size_t donor = classes;
        std::int64_t best = std::numeric_limits<std::int64_t>::min();
        for (std::size_t d = 0; d < classes; ++d) {
            if (share[d] < 2) continue;
            const std::int64_t excess = share[d] * total - budget * counts[d];
            if (excess > best) best = excess, donor = d;
        }
        // budget >= classes present guarantees a donor.
        --share[donor];
        share[c] = 1;
    }
    return share;
}

class ConsistentSampler final : public msa::Sampler {
public:
    explicit ConsistentSampler(const msa::Properties& props)
        : budget_(props.get_int("budget")), where_budget_(props.where("budget")) {
        // fraction is read only when it is used, so that setting both is reported.
        if (budget_ == 0) fraction_ = props.get_real("fraction");
    }

    std::vector<std::size_t> select(const std::vector<msa::Sample>& pool,
                                    const msa::SamplerContext& context) override {
        auto by_class = msa::indices_by_class(pool, context.num_classes, "consistent sampler");
        std::vector<std::int64_t> counts;
        std::int64_t present = 0;
        for (const auto& members : by_class) {
            counts.push_back(static_cast<std::int64_t>(members.size()));
            present += members.empty() ? 0 : 1;
        }
        const auto pool_size = static_cast<std::int64_t>(pool.size());
        if (pool_size == 0) throw msa::Error("consistent sampler: the training pool is empty");

        // A few-shot trial's k per class: the same total as k-shot's, in the pool's proportions.
        std::int64_t budget = context.shots > 0 ? context.shots * context.num_classes : budget_;
        // What set the total, for errors: the few-shot phase's k, or this sampler's budget.
        const std::string total = context.shots > 0 ? "few-shot k = " + std::to_string(context.shots) + " x " +
                                                          std::to_string(context.num_classes) + " classes = " +
                                                          std::to_string(budget)
                                                    : "budget = " + std::to_string(budget);
        if (budget == 0) {
            budget = std::max<std::int64_t>(present, std::llround(fraction_ * static_cast<double>(pool_size)));
        } else if (budget < present) {
            throw msa::ConfigError(where_budget_, "consistent sampler: " + total +
                                                      " cannot give one sample to each of the " +
                                                      std::to_string(present) +
                                                      " classes in the pool; accepted: " + std::to_string(present) +
                                                      ".." + std::to_string(pool_size));
        } else if (budget > pool_size) {
            throw msa::ConfigError(where_budget_, "consistent sampler: " + total +
                                                      " is larger than the training pool (" +
                                                      std::to_string(pool_size) + " samples); accepted: " +
                                                      std::to_string(present) + ".." + std::to_string(pool_size));
        }
        const auto share = allocate(counts, budget);

        std::mt19937_64 rng(context.seed);
        std::vector<std::size_t> chosen;
        for (std::size_t c = 0; c < by_class.size(); ++c) {
            msa::seeded_shuffle(by_class[c], rng);
            chosen.insert(chosen.end(), by_class[c].begin(), by_class[c].begin() + share[c]);
        }
        std::sort(chosen.begin(), chosen.end());
        return chosen;
    }

private:
    std::int64_t budget_;
    double fraction_ = 0.0;
    std::string where_budget_;
};

void register_plugins(msa::Registry& registry) {
    registry.add_sampler(
        {"consistent",
         "A seeded few-shot set of a given total size with the pool's class proportions (largest-remainder rounding).",
         {msa::ParamSpec::integer("budget", 0, "Total samples (at least one per class present); 0 = use fraction")
              .range(0, 100'000'000),
          msa::ParamSpec::real("fraction", 0.1, "Total as a share of the pool, when budget = 0").range(1e-6, 1.0)}},
        [](const msa::Properties& props) { return std::make_shared<ConsistentSampler>(props); });
}

} // namespace

MSA_PLUGIN(register_plugins)

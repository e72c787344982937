// all: trains on the whole pool, in pool order (the trainer shuffles batches).
#include <msa/plugin.hpp>
#include <msa/sampler.hpp>

#include <numeric>

namespace {

class AllSampler final : public msa::Sampler {
public:
    std::vector<std::size_t> select(const std::vector<msa::Sample>& pool, const msa::SamplerContext&) override {
        std::vector<std::size_t> indices(pool.size());
        std::iota(indices.begin(), indices.end(), std::size_t{0});
        return indices;
    }
};

void register_plugins(msa::Registry& registry) {
    registry.add_sampler({"all", "Every sample of the training pool.", {}},
                         [](const msa::Properties&) { return std::make_shared<AllSampler>(); });
}

} // namespace

MSA_PLUGIN(register_plugins)

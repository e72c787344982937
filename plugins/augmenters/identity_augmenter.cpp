// identity: adds unchanged copies of each source sample. A control for augmentation
// studies (does a caption help, or only the extra weight on hard samples?).
//
// | parameter | type | default | meaning                  |
// | copies    | int  | 1       | copies added per source  |
#include <msa/augmenter.hpp>
#include <msa/plugin.hpp>

#include <string>

namespace {

class IdentityAugmenter final : public msa::Augmenter {
public:
    explicit IdentityAugmenter(const msa::Properties& props) : copies_(props.get_int("copies")) {}

    std::vector<msa::Sample> augment(const std::vector<msa::Sample>& sources) override {
        std::vector<msa::Sample> out;
        out.reserve(sources.size() * static_cast<std::size_t>(copies_));
        for (const auto& source : sources)
            for (std::int64_t k = 1; k <= copies_; ++k) {
                msa::Sample copy = source;
                copy.id = source.id + "#identity" + std::to_string(k);
                copy.group = source.group.empty() ? source.id : source.group;
                out.push_back(std::move(copy));
            }
        return out;
    }

private:
    std::int64_t copies_;
};

void register_plugins(msa::Registry& registry) {
    registry.add_augmenter({"identity",
                            "Unchanged copies of each source sample (a control for caption augmentation).",
                            {msa::ParamSpec::integer("copies", 1, "Copies added per source sample").range(1, 100)}},
                           [](const msa::Properties& props) { return std::make_shared<IdentityAugmenter>(props); });
}

} // namespace

MSA_PLUGIN(register_plugins)

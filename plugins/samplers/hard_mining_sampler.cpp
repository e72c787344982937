// hard-mining: the samples an earlier trial found hard, read from its predictions.csv,
// alone or appended to the whole pool (oversampling them).
//
// The file is read (msa/predictions.hpp) when the sampler selects, so it may be written by
// an earlier phase of the same study; which samples are hard is msa::hard_samples, the same
// rule an augmentation phase uses:
//   low-confidence:   p(true class) < threshold
//   neutral-confused: it was misclassified and its true or predicted class is `neutral`.
// Hard samples are ordered hardest first and `max` keeps the first max of them. An empty
// selection is an error.
//
// | parameter    | type   | default          | meaning                                                  |
// | predictions  | path   | required         | predictions.csv, or a trial folder that holds one        |
// | mode         | string | "low-confidence" | "low-confidence" or "neutral-confused"                    |
// | threshold    | float  | 0.5              | low-confidence: hard below this p of the true class [0,1] |
// | neutral      | string | "neutral"        | neutral-confused: the neutral class's name                |
// | max          | int    | 0                | keep at most this many hard samples, hardest first; 0 = all |
// | include_rest | bool   | false            | return the whole pool with the hard samples appended again |
#include <msa/plugin.hpp>
#include <msa/predictions.hpp>
#include <msa/sampler.hpp>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

std::string format_real(double x) {
    std::ostringstream os;
    os << x;
    return os.str();
}

class HardMiningSampler final : public msa::Sampler {
public:
    explicit HardMiningSampler(const msa::Properties& props)
        : predictions_(props.get_string("predictions")), where_predictions_(props.where("predictions")),
          include_rest_(props.get_bool("include_rest")) {
        criteria_.max = static_cast<std::size_t>(props.get_int("max"));
        // Each mode reads only its own setting, so the host reports the other one as ignored.
        if (props.get_string("mode") == "neutral-confused") {
            criteria_.mode = msa::HardSampleCriteria::Mode::neutral_confused;
            neutral_ = props.get_string("neutral");
            where_neutral_ = props.where("neutral");
        } else {
            criteria_.threshold = props.get_real("threshold");
        }
        if (predictions_.empty())
            throw msa::ConfigError(where_predictions_, "predictions is empty; give the predictions.csv of an "
                                                       "earlier trial, or its run folder");
    }

    std::vector<std::size_t> select(const std::vector<msa::Sample>& pool,
                                    const msa::SamplerContext& context) override {
        const auto& labels = context.labels;
        if (static_cast<std::int64_t>(labels.size()) != context.num_classes)
            throw msa::Error("hard-mining sampler needs the study's " + std::to_string(context.num_classes) +
                             " class names; the host passed " + std::to_string(labels.size()));
        msa::HardSampleCriteria criteria = criteria_;
        const bool neutral_mode = criteria.mode == msa::HardSampleCriteria::Mode::neutral_confused;
        if (neutral_mode) {
            criteria.neutral = static_cast<int>(std::find(labels.begin(), labels.end(), neutral_) - labels.begin());
            if (criteria.neutral == static_cast<int>(labels.size()))
                throw msa::ConfigError(where_neutral_, "hard-mining sampler: neutral = '" + neutral_ +
                                                           "' is not a class of this study; accepted: " +
                                                           msa::detail::join_names(labels));
        }
        std::error_code ec;
        if (!fs::exists(predictions_, ec))
            throw msa::ConfigError(where_predictions_,
                                   "hard-mining sampler: predictions file not found: " + predictions_ +
                                       " (give an earlier trial's predictions.csv or its run folder)");
        const msa::Predictions predictions = msa::read_predictions(predictions_, labels);
        msa::HardSamples hard;
        try {
            hard = msa::hard_samples(pool, predictions, criteria);
        } catch (const msa::Error& e) {
            throw msa::ConfigError(where_predictions_, std::string("hard-mining sampler: ") + e.what());
        }
        if (hard.rows.empty() && !include_rest_)
            throw msa::Error("hard-mining sampler: no pool sample is hard in " + predictions.source + " (mode " +
                             (neutral_mode ? "neutral-confused, neutral = '" + neutral_ + "'"
                                           : "low-confidence, threshold " + format_real(criteria.threshold)) +
                             "; " + std::to_string(hard.found) + " of " + std::to_string(pool.size()) +
                             " pool samples found there), so there is nothing to train on; " +
                             (neutral_mode ? "use mode low-confidence" : "raise threshold") +
                             " or set include_rest = true");

        std::vector<std::size_t> chosen;
        if (include_rest_)
            for (std::size_t i = 0; i < pool.size(); ++i) chosen.push_back(i);
        chosen.insert(chosen.end(), hard.rows.begin(), hard.rows.end());
        return chosen;
    }

private:
    std::string predictions_;
    std::string where_predictions_;
    bool include_rest_;
    msa::HardSampleCriteria criteria_;
    std::string neutral_;
    std::string where_neutral_;
};

void register_plugins(msa::Registry& registry) {
    registry.add_sampler(
        {"hard-mining",
         "The samples an earlier trial found hard (from its predictions.csv), alone or oversampled within the pool.",
         {msa::ParamSpec::path("predictions", "", "An earlier trial's predictions.csv, or its run folder").required(),
          msa::ParamSpec::choice("mode", "low-confidence", {"low-confidence", "neutral-confused"},
                                 "Hard = low p of the true class, or misclassified to/from the neutral class"),
          msa::ParamSpec::real("threshold", 0.5, "low-confidence: hard when p of the true class is below this")
              .range(0.0, 1.0),
          msa::ParamSpec::string("neutral", "neutral", "neutral-confused: the name of the neutral class"),
          msa::ParamSpec::integer("max", 0, "Keep at most this many hard samples, hardest first; 0 = all")
              .range(0, 100'000'000),
          msa::ParamSpec::boolean("include_rest", false,
                                  "Return the whole pool with the hard samples appended again (oversampling)")}},
        [](const msa::Properties& props) { return std::make_shared<HardMiningSampler>(props); });
}

} // namespace

MSA_PLUGIN(register_plugins)

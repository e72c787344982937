// Metric names by use (see vocabulary.hpp).
#include "manifest/vocabulary.hpp"

namespace msa {

std::vector<std::string> metric_names(unsigned use) {
    std::vector<std::string> out;
    for (const auto& m : metric_table)
        if (m.uses & use) out.emplace_back(m.name);
    return out;
}

std::optional<MetricName> parse_metric(const std::string& name, unsigned use) {
    for (const auto& m : metric_table) {
        if (!(m.uses & use)) continue;
        if (m.metric == Metric::class_f1) {
            if (name.rfind("f1.", 0) == 0 && name.size() > 3) return MetricName{m.metric, name.substr(3)};
        } else if (name == m.name) {
            return MetricName{m.metric, {}};
        }
    }
    return std::nullopt;
}

std::vector<MetricName> summarized_metrics() {
    std::vector<MetricName> out;
    for (const auto& m : metric_table)
        if (m.uses & metric_summarized) out.push_back({m.metric, {}});
    return out;
}

} // namespace msa

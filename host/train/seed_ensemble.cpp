// Averaging seeds' probabilities and scoring the average on the shared test split (see
// seed_ensemble.hpp).
#include "train/seed_ensemble.hpp"

#include "train/metrics.hpp"

#include <msa/error.hpp>

#include <torch/torch.h>

#include <unordered_map>

namespace msa::train {

at::Tensor average_probabilities(const std::vector<at::Tensor>& members) {
    if (members.empty()) throw Error("a seed ensemble needs at least one model's probabilities");
    const auto shape = members.front().sizes().vec();
    if (shape.size() != 2) throw Error("seed ensemble: expected probabilities [rows, classes], got " + c10::str(members.front().sizes()));
    at::Tensor sum = torch::zeros(shape, torch::kDouble);
    for (std::size_t m = 0; m < members.size(); ++m) {
        if (members[m].sizes().vec() != shape)
            throw Error("seed ensemble: model " + std::to_string(m + 1) + " gave probabilities " +
                        c10::str(members[m].sizes()) + ", model 1 " + c10::str(members.front().sizes()) +
                        "; the models must label the same rows with the same classes");
        sum += members[m].detach().to(torch::kCPU, torch::kDouble);
    }
    return sum / static_cast<double>(members.size());
}

namespace {

std::vector<const Prediction*> test_rows(const Predictions& predictions) {
    std::vector<const Prediction*> rows;
    for (const auto& row : predictions.rows)
        if (row.split == "test") rows.push_back(&row);
    return rows;
}

std::string seed_name(const SeedPredictions& s) { return "seed " + std::to_string(s.seed) + " (" + s.trial + ")"; }

} // namespace

records::EnsembleScores test_ensemble(const std::vector<SeedPredictions>& seeds) {
    records::EnsembleScores out;
    for (const auto& s : seeds) {
        out.trials.push_back(s.trial);
        out.seeds.push_back(s.seed);
    }
    if (seeds.empty()) {
        out.unavailable = "no finished seed";
        return out;
    }
    const std::vector<std::string>& labels = seeds.front().predictions.labels;
    for (const auto& s : seeds)
        if (s.predictions.labels != labels) {
            out.unavailable = "the classes of " + seed_name(s) + " are not those of " + seed_name(seeds.front());
            return out;
        }

    const std::vector<const Prediction*> first = test_rows(seeds.front().predictions);
    if (first.empty()) {
        out.unavailable = "the trials have no test rows (split.test = 0?)";
        return out;
    }
    std::unordered_map<std::string, std::size_t> row_of;
    for (std::size_t i = 0; i < first.size(); ++i) row_of.emplace(first[i]->id, i);

    const auto classes = static_cast<std::int64_t>(labels.size());
    std::vector<at::Tensor> members;
    for (const auto& s : seeds) {
        const std::vector<const Prediction*> rows = test_rows(s.predictions);
        std::size_t shared = 0;
        for (const Prediction* row : rows) shared += row_of.count(row->id);
        if (shared != first.size() || rows.size() != first.size()) {
            out.unavailable = "the seeds' test splits differ (" + seed_name(seeds.front()) + " and " + seed_name(s) +
                              " share " + std::to_string(shared) + " of " + std::to_string(first.size()) + " and " +
                              std::to_string(rows.size()) +
                              " test rows): each seed drew its own split; set [split] test_seed so that every seed "
                              "is tested on the same rows";
            return out;
        }
        at::Tensor probs = torch::zeros({static_cast<std::int64_t>(first.size()), classes}, torch::kDouble);
        auto p = probs.accessor<double, 2>();
        for (const Prediction* row : rows) {
            const std::size_t i = row_of.at(row->id);
            if (row->label != first[i]->label) {
                const auto name = [&](int c) { return c >= 0 ? labels[static_cast<std::size_t>(c)] : std::string("none"); };
                out.unavailable = "test sample '" + row->id + "' is labelled '" + name(row->label) + "' by " +
                                  seed_name(s) + " but '" + name(first[i]->label) + "' by " + seed_name(seeds.front());
                return out;
            }
            for (std::int64_t c = 0; c < classes; ++c)
                p[static_cast<std::int64_t>(i)][c] = row->probabilities.at(static_cast<std::size_t>(c));
        }
        members.push_back(std::move(probs));
    }

    std::vector<std::int64_t> truth;
    for (const Prediction* row : first) {
        if (row->label < 0) {
            out.unavailable = "test sample '" + row->id + "' of " + seed_name(seeds.front()) + " has no label";
            return out;
        }
        truth.push_back(row->label);
    }
    const Metrics m = compute_metrics(truth, average_probabilities(members), classes);
    out.samples = m.samples;
    out.weighted_f1 = m.weighted_f1;
    out.macro_f1 = m.macro_f1;
    out.accuracy = m.accuracy;
    for (std::size_t c = 0; c < labels.size(); ++c) out.per_class_f1[labels[c]] = m.per_class[c].f1;
    return out;
}

} // namespace msa::train

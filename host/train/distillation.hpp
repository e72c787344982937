// Distillation and self-training ([distill], docs/studies.md): a trained teacher labels a
// pool of unlabelled posts, the labels it is confident of (per-class thresholds) become
// the trial model's training targets, hard or soft, optionally beside the gold training
// rows; with rounds > 1 each round's student labels the pool again.
#pragma once

#include "manifest/study.hpp"
#include "train/trainer.hpp"
#include "train/trial_rows.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace msa {
class PluginCatalog;
}

namespace msa::train {

// The posts of [[distill.pool]] number `index`, with ids "pool<index + 1>/<id>", label -1
// and group = id. ConfigError when it has no readable posts.
std::vector<Sample> read_pool(const Study& study, std::size_t index);

// Puts the pool into the trial's samples: the dataset's unlabelled rows (with
// distill.unlabelled) and every [[distill.pool]]'s posts, appended with ids
// "pool<i>/<id>", label -1 and split "pool". A post whose id is one of the dataset's
// validation or test ids is left out (an honest test never saw its posts labelled), and
// counted. Returns the pool's rows of `samples`; `report` receives the sizes.
std::vector<std::size_t> gather_pool(const Study& study, const TrialData& data, std::vector<Sample>& samples,
                                     std::vector<std::string>& split_of, nlohmann::json& report, const TrialLogFn& log);

// The teacher (distill.teacher, a finished trial) loaded and run on `rows` of `samples`
// through its own encoders (features from this study's store): class probabilities
// [rows, C] on the CPU. Its labels must be the study's, in the same order.
at::Tensor teacher_probabilities(const Study& study, const PluginCatalog& catalog, const std::vector<Sample>& samples,
                                 const std::vector<std::size_t>& rows, const torch::Device& device,
                                 const TrialLogFn& log);

// What msa validate can check of a [distill] table before anything runs: the teacher
// (when it names a folder rather than a phase's incumbent still to train) is a finished
// trial with the study's labels, and every pool has readable posts (read_pool).
// ConfigError otherwise.
void check_distill(const Study& study, const PluginCatalog& catalog);

// A student's training set for one round: rows of the samples and their targets.
struct DistillRound {
    std::vector<std::size_t> rows;
    SoftTargets targets;
    std::vector<std::int64_t> kept_per_class; // pool rows that passed the thresholds, by the label given
};

// The pool rows whose top probability in `probs` ([pool, C]) reaches its class's
// threshold, as targets (hard: the top class; soft: the probabilities sharpened or
// softened by the temperature), then, with gold_weight > 0, the gold `train_rows` (their
// labels, temperature 1, weight gold_weight).
DistillRound distill_round(const DistillConfig& config, const std::vector<std::string>& labels,
                           const std::vector<Sample>& samples, const std::vector<std::size_t>& pool,
                           const at::Tensor& probs, const std::vector<std::size_t>& train_rows);

// A [distill] trial's rounds: the training set of each, from the teacher's labels of the
// pool, then from each round's student's; and what metrics.json records of them.
class Distiller {
public:
    // `everything`: the features of `samples`; `pool` its rows the teacher labels;
    // `train_rows` the gold training rows (they join with distill.gold_weight > 0).
    Distiller(const Study& study, const std::vector<Sample>& samples, const FeatureSet& everything,
              std::vector<std::size_t> pool, std::vector<std::size_t> train_rows, TrialLogFn log);
    // Round 1: the teacher labels the pool (and the validation rows, for its report).
    FeatureSet from_teacher(const PluginCatalog& catalog, const std::vector<std::size_t>& valid_rows,
                            const torch::Device& device);
    // The next round: `student` labels the pool.
    FeatureSet from_student(Classifier& student, const torch::Device& device);
    // metrics.json's "distill" additions: teacher, teacher_valid, rounds.
    const nlohmann::json& report() const { return report_; }

private:
    FeatureSet training_set(const at::Tensor& probs, const std::string& labelled_by);

    const Study& study_;
    const std::vector<Sample>& samples_;
    const FeatureSet& everything_;
    std::vector<std::size_t> pool_, train_rows_;
    TrialLogFn log_;
    nlohmann::json report_ = nlohmann::json::object();
};

// How the teacher does on labelled rows at the thresholds: the share of rows it is
// confident of ("coverage") and its accuracy on them and on all.
nlohmann::json teacher_at_thresholds(const DistillConfig& config, const std::vector<std::string>& labels,
                                     const at::Tensor& probs, const std::vector<std::int64_t>& gold);

} // namespace msa::train

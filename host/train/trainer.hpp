// Training a classification head on encoder features: the fusion plugin plus a linear
// classifier, optimised with AdamW under a warmup + decay schedule, with gradient
// clipping, early stopping on a validation metric and restore of the best epoch.
// Deterministic on the CPU: the same seed gives the same weights and metrics.
#pragma once

#include "manifest/study.hpp"
#include "train/logistic_regression.hpp"
#include "train/metrics.hpp"

#include <msa/encoder.hpp>
#include <msa/fusion.hpp>
#include <msa/loss.hpp>
#include <msa/prompt.hpp>

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace msa {
struct PluginEntry;
}

namespace msa::train {

// Training targets other than the labels, for distillation: a class distribution per row,
// the temperature T its row's logits are divided by (the row's loss is scaled by T², as
// Hinton et al. do, so gradients keep their size), and a weight per row. With them the
// loss is the weighted mean of T² · cross-entropy(probs, softmax(logits / T)), which
// differs from the KL divergence only by the targets' entropy; the study's [loss] and
// auxiliary losses are not used.
struct SoftTargets {
    at::Tensor probs;       // [N, C] float, rows summing to 1
    at::Tensor temperature; // [N] float
    at::Tensor weight;      // [N] float

    bool defined() const { return probs.defined(); }
    SoftTargets rows(const at::Tensor& index) const;
    SoftTargets to(const torch::Device& device) const;
};

// The loss above, for a batch's logits [N, C].
at::Tensor soft_target_loss(const at::Tensor& logits, const SoftTargets& targets);

// Features of a set of samples, one row per sample, and their labels (-1: unlabelled).
// A modality that is absent has an undefined pooled tensor.
struct FeatureSet {
    Features text;
    Features image;
    at::Tensor labels; // [N] int64
    SoftTargets soft;  // distillation's targets; undefined: train on `labels`

    std::int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
    // The rows `index` ([M] int64), in that order.
    FeatureSet rows(const at::Tensor& index) const;
    FeatureSet to(const torch::Device& device) const;
};

// An encoder whose top layers train with the head (`trainable_layers = k`): the
// trainer feeds it the stored prefix features of a batch and trains its module().
struct TrainableEncoder {
    TrainableTop* top = nullptr; // owned by the encoder, which outlives the training
    const PluginEntry* entry = nullptr;
};

// What the model computes for a batch: the unimodal features entering the fusion (after
// any trainable encoder top) and the class logits.
struct ModelOutput {
    Features text;
    Features image;
    at::Tensor logits; // [N, C]
};

// The widths of the pooled features the classifier standardizes ([train] standardize);
// 0: that modality enters the fusion as it is (absent, standardizing off, or through a
// trainable encoder top, whose output changes as it trains).
struct Standardization {
    std::int64_t text_dim = 0;
    std::int64_t image_dim = 0;
};

// What a trial standardizes: the frozen pooled features of each modality, when on.
Standardization standardization(const TrainConfig& config, const FusionContext& context, const TrainableEncoder& text,
                                const TrainableEncoder& image);

// [train] precision resolved for this machine: what the trainable encoder tops compute in,
// at::kBFloat16 (CPU autocast) or at::kFloat. "auto" is bfloat16 on a CPU with native BF16
// (AVX512_BF16 or AMX) and float32 elsewhere and on CUDA; "bfloat16" on a CPU without
// native BF16 warns (emulated, tens of times slower); with device = "cuda" it is an error.
at::ScalarType top_precision(const TrainConfig& config);

// The trained model: trainable encoder tops if any, the fusion, then a linear
// classifier unless the fusion already gives class logits (late fusion). Or a prompt
// model ([prompt]), which gives class logits from the stored text and image features.
class ClassifierImpl : public torch::nn::Module {
public:
    ClassifierImpl(std::shared_ptr<Fusion> fusion, const PluginEntry& fusion_entry, std::int64_t num_classes,
                   TrainableEncoder text = {}, TrainableEncoder image = {}, Standardization standardize = {},
                   at::ScalarType top_precision = at::kFloat);
    ClassifierImpl(std::shared_ptr<PromptModel> prompt, const PluginEntry& prompt_entry, std::int64_t num_classes);
    ModelOutput forward_all(const Features& text, const Features& image);
    // Class logits [N, C].
    at::Tensor forward(const Features& text, const Features& image) { return forward_all(text, image).logits; }
    // The standardized modalities' statistics, from `train`'s pooled features (mean and
    // standard deviation per dimension; a constant dimension is only centred). Kept as
    // buffers, so model.pt carries them to msa predict.
    void standardize_with(const FeatureSet& train);
    // "text", "image": the modalities standardized.
    std::vector<std::string> standardized_modalities() const;
    // Threshold moving ([train] class_bias): per-class offsets added to the logits, a
    // buffer (zeros until set), so that model.pt carries them to msa predict.
    void add_class_bias();
    void set_class_bias(const at::Tensor& offsets);
    bool has_class_bias() const { return class_bias_.defined(); }
    // The fusion's output [N, D] in eval mode, without gradients, and the linear head that
    // maps it to logits (null where the fusion gives logits itself or a prompt model
    // classifies): a linear probe fits that head alone.
    at::Tensor fused(const Features& text, const Features& image);
    torch::nn::Linear head() const { return head_; }
    // Why this model is not a multinomial logistic regression on fixed inputs (trainable
    // encoder tops, a prompt model, a fusion with parameters or giving logits); nullopt when
    // it is one.
    std::optional<std::string> not_linear() const;
    // Parameters of the trainable encoder tops, or a prompt model's pretrained ones (trained
    // at [train] encoder_learning_rate).
    std::vector<at::Tensor> encoder_parameters() const;
    // Those parameters grouped by their rate's factor over encoder_learning_rate, highest
    // first: a top's layer i below its highest trains at decay^i ([train] layer_decay), the
    // highest layer, the final step's modules and a prompt model's parameters at 1.
    std::vector<std::pair<double, std::vector<at::Tensor>>> encoder_parameter_groups(double decay) const;
    // The text features entering the fusion: through the trainable text top, if any.
    Features text_features(const Features& text);
    // The trainable text top's parameters; empty without one.
    std::vector<at::Tensor> text_top_parameters() const;
    // Stops training the text top (SetFit's head on a tuned, fixed encoder): its parameters
    // no longer require gradients and it stays in eval mode (no dropout) when the rest trains.
    void freeze_text_top();
    void train(bool on = true) override;
    std::int64_t num_classes() const { return num_classes_; }
    // What the trainable encoder tops compute in (top_precision()).
    at::ScalarType top_precision() const { return top_precision_; }

private:
    // The registered submodule `name` ("text_top", "image_top"), or null.
    std::shared_ptr<torch::nn::Module> child(const std::string& name) const;
    // `prefix` through the trainable top, in top_precision_.
    Features through_top(const TrainableEncoder& trainable, const Features& prefix) const;
    // The fusion's inputs: `f` with its pooled features standardized when `mean` is defined.
    static Features standardized(const Features& f, const at::Tensor& mean, const at::Tensor& scale);

    std::int64_t num_classes_;
    std::shared_ptr<Fusion> fusion_;
    const PluginEntry* fusion_entry_;
    std::shared_ptr<PromptModel> prompt_;
    const PluginEntry* prompt_entry_ = nullptr;
    torch::nn::Linear head_{nullptr};
    TrainableEncoder text_, image_;
    bool text_top_frozen_ = false;
    at::ScalarType top_precision_ = at::kFloat;
    at::Tensor text_mean_, text_scale_, image_mean_, image_scale_; // undefined: not standardized
    at::Tensor class_bias_;                                        // undefined: no threshold moving
};
TORCH_MODULE(Classifier);

// The training objective: L = (1 - sum of β) * main + sum of β * auxiliary.
struct Objective {
    struct Term {
        std::shared_ptr<Loss> loss;
        const PluginEntry* entry = nullptr;
        double weight = 1.0;
        Properties params; // the loss's, as the manifest gave them
    };
    Term main;
    std::vector<Term> auxiliary;

    at::Tensor operator()(const LossInput& input) const;
    // Only the main loss (validation loss).
    at::Tensor main_loss(const LossInput& input) const;
    std::vector<at::Tensor> parameters() const;
    void train(bool on) const;
};

struct EpochRecord {
    std::int64_t epoch = 0; // 1-based
    double train_loss = 0;  // mean of the batches' objective
    double valid_loss = 0;  // mean main loss on the validation set; NaN without one
    Metrics valid;          // empty without a validation set
    double learning_rate = 0; // at the end of the epoch
    double seconds = 0;
};

struct FitResult {
    std::vector<EpochRecord> history;
    std::int64_t best_epoch = 0; // whose weights the model ends with
    bool stopped_early = false;
    double seconds = 0;
    Solver solver = Solver::adamw;   // the one that ran (auto resolved)
    std::vector<L2Point> l2_points;  // lbfgs: each strength of [train] l2, the chosen one in `l2`
    double l2 = 0;
};

// The solver `config.solver` means for this model and objective: auto is lbfgs where the
// model is a multinomial logistic regression on fixed inputs trained on cross-entropy
// alone (no auxiliary losses, no soft targets), else adamw. Throws msa::Error saying why
// when lbfgs is asked for a model that is not one.
Solver resolve_solver(const TrainConfig& config, const Classifier& model, const Objective& objective,
                      const FeatureSet& train);

// The learning-rate multiplier after `step` optimizer steps of `total` (transformers'
// schedules: linear ramp from 0 over the warmup steps, then constant, linear or cosine
// decay to 0).
double schedule_factor(const TrainConfig& config, std::int64_t step, std::int64_t total);
// The head's rate: learning_rate * schedule_factor (encoder tops: encoder_learning_rate * it).
double scheduled_rate(const TrainConfig& config, std::int64_t step, std::int64_t total);

// [train] bucket_by_length: `order` (the epoch's shuffled rows) rearranged so that each
// full batch holds rows of similar `lengths` (real tokens per row): sorted within spans
// of 50 batches, the full batches then in an order drawn from `rng`, the partial one last.
void bucket_by_length(std::vector<std::size_t>& order, const std::vector<std::int64_t>& lengths,
                      std::int64_t batch_size, std::mt19937_64& rng);

// Trains `model` on `train` (its labels), choosing the best epoch on `valid` by
// config.monitor (an empty `valid` keeps the last epoch). Batches are drawn in a
// seeded order. `on_epoch` is told about each epoch as it ends. The standardized
// modalities take `train`'s statistics first. With the lbfgs solver (resolve_solver) the
// head is fitted exactly for each strength of config.l2 and the one best on `valid` by
// config.monitor is kept; `on_epoch` hears of it as epoch 1.
FitResult fit(Classifier& model, const Objective& objective, const FeatureSet& train, const FeatureSet& valid,
              const TrainConfig& config, std::uint64_t seed, const torch::Device& device,
              const std::function<void(const EpochRecord&)>& on_epoch = {});

// Class probabilities [N, C] on the CPU, in eval mode, batch by batch.
at::Tensor predict_probabilities(Classifier& model, const FeatureSet& set, const torch::Device& device);

} // namespace msa::train

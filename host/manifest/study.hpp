// The typed form of a study manifest, after every key was checked.
#pragma once

#include "manifest/builtin_defaults.hpp"
#include "manifest/vocabulary.hpp"

#include <msa/properties.hpp>
#include <msa/registry.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace msa {

// A `[fusion]`-style table: which plugin, with its checked parameters (declared
// defaults filled in).
struct PluginChoice {
    std::string plugin;
    Properties params;
    std::string where; // "file:line:column" of the table, for later messages
};

struct DatasetConfig {
    std::string format = "guid-tag";
    std::filesystem::path root;
    std::string encoding = "auto";
    std::string on_error = "fail";
    std::vector<std::string> labels{"negative", "neutral", "positive"};
};

// How the labelled samples are divided. Given files win over ratios; folds > 0 means
// k-fold cross-validation, with `fold` the held-out test fold.
struct SplitConfig {
    double valid = 0.1; // fraction of the labelled samples
    double test = 0.1;  // fraction of the labelled samples; ignored with folds
    std::int64_t folds = 0;
    std::int64_t fold = 0;
    // valid_folds > 1: cross-validated selection (a phase's select_folds writes it): the test
    // part as the ratios draw it, the other labelled samples dealt into valid_folds folds
    // with the trial's seed, fold valid_fold the validation rows (data/split.hpp).
    std::int64_t valid_folds = 0;
    std::int64_t valid_fold = 0;
    // Draws the test split (or deals the folds) with this seed instead of the trial's, so
    // every seed of a study is tested on the same rows; train/valid still follow the
    // trial's seed. Unset: the trial's seed draws all three. Not used with given files.
    std::optional<std::uint64_t> test_seed;
    std::filesystem::path train_file; // `guid,tag` lists; all three or none
    std::filesystem::path valid_file;
    std::filesystem::path test_file;
};

// Where encoder features are cached, and how they are written.
struct StoreConfig {
    std::filesystem::path path; // empty: the default per-dataset file in the user's cache
    std::string dtype = "float32";
    std::int64_t compression = 4; // gzip level, 0 = none
};

struct TrainConfig {
    std::int64_t epochs = 30;
    std::int64_t batch_size = 32;
    double learning_rate = 1e-3;
    double encoder_learning_rate = 2e-5; // of trainable encoder layers (trainable_layers > 0)
    // Layer-wise rate decay: each trainable encoder layer below the highest trains at this
    // factor times the rate of the layer above it (1: all at encoder_learning_rate).
    double layer_decay = 1.0;
    double weight_decay = 0.01;
    std::string device = "cpu";
    bool device_given = false;       // [train] device was written (else a GPU gres of [executor] means cuda)
    Schedule schedule = Schedule::linear; // after warmup: constant, linear or cosine decay to 0
    double warmup = 0.1;             // fraction of all steps spent ramping the rate up from 0
    double grad_clip = 1.0;          // max global gradient norm; 0 = no clipping
    std::int64_t patience = 5;       // epochs without improvement before stopping; 0 = never stop early
    MetricName monitor{Metric::weighted_f1, {}}; // validation metric that picks the best epoch
    bool restore_best = true;        // end with the best epoch's weights, not the last
    // Batches of texts of similar length (token sequences: fine-tuning, token fusions); on
    // by default, as it makes a fine-tuning epoch about 3x faster.
    bool bucket_by_length = true;
    std::int64_t threads = 0;        // intra-op threads; 0 = all cores
    // Pooled features of frozen encoders enter the fusion standardized per dimension with
    // the training rows' mean and standard deviation (kept in model.pt): otherwise
    // EfficientNet's 1,280 unnormalized features swamp MiniLM's unit-norm ones.
    bool standardize = true;
    bool standardize_given = false;  // written; model folders from before the key never standardized
    // How the model is fitted: adamw (epochs of mini-batches), lbfgs (the head is a multinomial
    // logistic regression on fixed features, fitted exactly, its L2 strength chosen on
    // validation from `l2`), or auto: lbfgs where the model is such a regression (a fusion
    // without parameters, cross-entropy alone, no trainable encoder top), else adamw.
    Solver solver = Solver::auto_;
    // Strengths for standardized features, where the weak end of the CLIP probe's grid
    // (1e-6 ...) is never chosen and costs the most iterations.
    std::vector<double> l2{0.001, 0.01, 0.1, 0.3, 1.0, 3.0, 10.0};
    // What the trainable encoder tops compute in on the CPU: auto = bfloat16 where the CPU
    // has native BF16 (AVX512_BF16 or AMX), else float32; float32; bfloat16. bfloat16 is
    // mixed precision (CPU autocast): matmuls and convolutions in bfloat16, the weights,
    // gradients and AdamW's state in float32, so small updates are not lost.
    std::string precision = "auto";
    bool precision_given = false; // written; model folders from before the key trained in float32
    // Threshold moving: per-class offsets added to the trained model's log-probabilities,
    // chosen on the validation rows to maximise this metric (kept in model.pt); nullopt
    // ("none"): the model's own arg-max.
    std::optional<MetricName> class_bias;
    // A finished trial folder whose model this trial takes instead of training one: their
    // configurations differ only in class_bias (applied after training), names, folders
    // and threads, so training would make that model again (train/reused_model.hpp). A
    // study writes it for a phase that sweeps only class_bias; empty: train.
    std::filesystem::path reuse_model;
};

// An auxiliary loss (image-text contrastive, matching) with its weight β.
struct AuxiliaryLoss {
    PluginChoice choice;
    double weight = 0;
};

// [augmentation] (a study's augmentation phase writes it): the augmenter adds a copy of
// each hard training sample of an earlier trial.
struct AugmentationConfig {
    std::filesystem::path hard_samples; // that trial's predictions.csv
    double hard_threshold = 0.5;        // hard: the true class got a probability below this
    double hard_fraction = 0;           // > 0: only the hardest fraction of the training rows
};

// [evaluate] (ablation): no training; a trained model evaluated with one modality kept.
struct EvaluateConfig {
    std::filesystem::path model;  // a trial folder (config.toml + model.pt)
    std::string keep = "both";    // both | text | image
    std::string fill = "zeros";   // the missing modality: zeros | mean (of the training rows)
};

// [few_shot] (a study's few-shot phase writes it): the sampler draws k training samples
// per class (SamplerContext::shots), and the validation rows are k per class drawn from
// the rest of the train split with the trial's seed, as in LM-BFF; the validation split
// itself is not used. The test split is the study's.
struct FewShotConfig {
    std::int64_t k = 16;
    std::string where; // "file:line:column" of the table, for later messages
};

// [contrastive]: SetFit (Tunstall et al. 2022). Before the head trains, the text encoder's
// trainable top learns from pairs of training posts: cosine similarity towards 1 for two
// posts of one label and 0 for two of different labels (sentence-transformers'
// CosineSimilarityLoss); then the head trains on the tuned embeddings.
struct ContrastiveConfig {
    std::int64_t pairs_per_post = 20; // half with a post of its label, half with another label's
    std::int64_t epochs = 1;
    std::int64_t batch_size = 16;     // pairs per step
    double learning_rate = 2e-5;      // linear warmup over a tenth of the steps, then linear decay
    bool freeze = true;               // the head then trains on the tuned top, fixed (SetFit); false: it goes
                                      // on training at [train] encoder_learning_rate
    std::string where; // "file:line:column" of the table, for later messages
};

// [zero_shot] (a few-shot phase writes it at k = 0): nothing is trained; each post's
// [encoders.text] embedding is compared with its labels' description embeddings.
struct ZeroShotConfig {
    std::map<std::string, std::vector<std::string>> descriptions; // by label, every label
    std::string where; // "file:line:column" of the table, for later messages
};

// [distill] (a distill phase writes it): a trained teacher labels a pool of unlabelled
// posts; the trial's model (the student) trains on the labels it is confident of.
struct DistillConfig {
    std::filesystem::path teacher;       // a finished trial folder (config.toml + model.pt)
    double threshold = 0.7;              // keep a post when the teacher's top probability reaches it
    std::map<std::string, double> thresholds; // per label, in place of `threshold`
    std::string targets = "hard";        // hard: the teacher's label; soft: its probabilities
    double temperature = 1.0;            // soft: teacher and student logits divided by it (loss x T²)
    double gold_weight = 0.0;            // > 0: the gold training rows join, each counting this much
    std::int64_t rounds = 1;             // > 1: self-training, each round's student labels the pool again
    bool unlabelled = true;              // the dataset's unlabelled rows are in the pool
    std::vector<DatasetConfig> pools;    // [[distill.pool]]: more posts, labels ignored
    std::string where; // "file:line:column" of the table, for later messages

    // The threshold of class `label`.
    double threshold_of(const std::string& label) const {
        const auto it = thresholds.find(label);
        return it == thresholds.end() ? threshold : it->second;
    }
};

// [clip] (CLIP phase): replaces the encoders and fusion with a CLIP model.
struct ClipConfig {
    std::filesystem::path checkpoint;       // a Hugging Face CLIP model folder
    std::string method = "linear-probe";    // linear-probe | zero-shot
    std::string dtype = "auto";             // the encoders' compute type: auto | float32 | bfloat16
    std::vector<std::string> templates{"a photo that feels {}.", "a {} post."}; // zero-shot prompts; {} = label
    // linear-probe: the L2 strengths tried (the one best on the validation split is kept)
    // and the embeddings concatenated into the probe's input.
    std::vector<double> l2{1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0};
    std::vector<std::string> modalities{"image", "text"};
    std::string where; // "file:line:column" of the table, for later messages
};

// [executor]: where msa run runs the trials (the command line's --executor wins). Not part
// of a trial: the same trial gives the same results on either.
struct ExecutorConfig {
    std::string kind = "local";       // local | slurm
    std::string partition, account, qos;
    std::string time;                 // per trial, as sbatch --time takes it; empty: the partition's
    std::int64_t cpus_per_trial = 2;  // slurm: --cpus-per-task, the trial's intra-op threads
    std::string mem;                  // slurm: --mem, e.g. "8G"; empty: the partition's default
    std::int64_t max_parallel = 0;    // slurm: the array's %N; 0: no limit
    std::string gres;                 // slurm: --gres, e.g. "gpu:1"; a GPU one trains on cuda unless [train] device says
    std::vector<std::string> setup;   // slurm: shell lines run before each trial
    std::vector<std::string> extra;   // slurm: more sbatch options ("--constraint=avx512"), none that msa sets
    std::string where;
};

// One axis of a phase's sweep: a manifest path and its values (kept in the manifest's
// TOML; `values` and `names` are their display forms).
struct SweepAxis {
    std::string path; // "fusion", "train.learning_rate", ...
    std::vector<std::string> values; // as labels show them: "hf-text(checkpoint=../models/x,pooling=mean)"
    // As trial folder names show them (empty: as `values`): a plugin table by what tells
    // it apart from the axis's other values, "x" for the one above beside another checkpoint.
    std::vector<std::string> names;
};

// A `[[phase]]` of a study (docs/studies.md).
struct PhaseSpec {
    std::size_t index = 0; // position among the manifest's phases
    std::string where;     // "file:line:column"
    std::string name;
    PhaseKind kind = PhaseKind::train;
    std::string from; // an earlier phase, or empty: the base configuration
    MetricName select{Metric::weighted_f1, {}};
    std::vector<std::uint64_t> seeds; // empty: the study seed
    bool has_set = false;             // a `set` table of overrides
    std::vector<SweepAxis> sweep;
    std::string search = "grid"; // grid | random
    std::int64_t n = 0;          // random: configurations drawn
    bool keep_incumbent = false; // train: the incumbent of `from` competes, its trials not run again
    // train, augmentation: > 1 trains every configuration and seed on each of this many
    // validation folds of the labelled samples outside the test split ([split]
    // valid_folds), and selects on the mean over all of them.
    std::int64_t select_folds = 0;
    // train, augmentation: "one-se" keeps the simplest configuration whose mean is within one
    // standard error of the best (study_plan.hpp); "best" keeps the best mean.
    SelectRule select_rule = SelectRule::one_se;
    double hard_threshold = 0.5; // augmentation
    double hard_fraction = 0;    // augmentation
    std::vector<std::string> fills{"zeros", "mean"}; // ablation: replacements of the missing modality
    bool retrain = true;                             // ablation: also retrain on one modality, with
    std::string text_only_fusion = builtin_defaults::text_only_fusion;   // these fusions
    std::string image_only_fusion = builtin_defaults::image_only_fusion;
    std::filesystem::path clip;                      // clip: the CLIP model folder
    std::vector<std::string> templates;              // clip: zero-shot prompts (empty: the default)
    std::vector<std::int64_t> shots;                 // few-shot: k per class, one curve point each (0: zero-shot)
    std::map<std::string, std::vector<std::string>> descriptions; // few-shot: label descriptions for k = 0
    std::int64_t draws = 5;                          // few-shot: training sets per k (seeds 1..draws)
    std::filesystem::path teacher;                   // distill: a trial folder; empty: `from`'s incumbent
    bool gold = true;                                // distill: also train the student on the gold labels
};

struct Study {
    std::filesystem::path file; // the manifest itself
    std::int64_t schema_version = 1;
    std::string name;
    std::string description;
    std::uint64_t seed = 42;
    std::filesystem::path output;
    std::vector<std::filesystem::path> plugin_paths;
    std::vector<std::filesystem::path> includes; // every file read besides `file`, in order
    DatasetConfig dataset;
    SplitConfig split;
    StoreConfig store;
    std::map<std::string, PluginChoice> encoders; // "text" and/or "image"
    PluginChoice fusion;
    PluginChoice loss;
    std::vector<AuxiliaryLoss> auxiliary_losses;
    PluginChoice sampler;
    std::optional<PluginChoice> augmenter;
    // [prompt]: a prompt model (SDK 4.3) replaces [encoders.text] and the fusion and head:
    // it reads the texts itself and takes [encoders.image]'s features, if any.
    std::optional<PluginChoice> prompt;
    TrainConfig train;
    std::optional<AugmentationConfig> augmentation;
    std::optional<EvaluateConfig> evaluate;
    std::optional<FewShotConfig> few_shot;
    std::optional<ZeroShotConfig> zero_shot;
    std::optional<ContrastiveConfig> contrastive;
    std::optional<DistillConfig> distill;
    std::optional<ClipConfig> clip;
    ExecutorConfig executor;
    std::vector<PhaseSpec> phases;
};

// Calls `f(kind, choice)` for every plugin a study names: encoders, fusion, loss,
// auxiliary losses, sampler, augmenter, prompt.
template <class F> void for_each_plugin_choice(const Study& study, F&& f) {
    for (const auto& [modality, choice] : study.encoders) f(PluginKind::encoder, choice);
    f(PluginKind::fusion, study.fusion);
    f(PluginKind::loss, study.loss);
    for (const auto& aux : study.auxiliary_losses) f(PluginKind::loss, aux.choice);
    f(PluginKind::sampler, study.sampler);
    if (study.augmenter) f(PluginKind::augmenter, *study.augmenter);
    if (study.prompt) f(PluginKind::prompt, *study.prompt);
}

} // namespace msa

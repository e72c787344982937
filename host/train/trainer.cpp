// The training loop (see trainer.hpp).
#include "train/trainer.hpp"

#include "data/split.hpp"
#include "plugin/plugin_catalog.hpp"
#include "train/adamw.hpp"
#include "util/progress.hpp"

#include <msa/models/autocast.hpp>
#include <msa/models/cpu_features.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <random>

namespace msa::train {

namespace {

// Token sequences cut after the last position any of their rows uses. The store keeps
// every text padded to the longest (128 ids for MiniLM) while most tweets are about 30,
// and a trainable top or token-level fusion costs in proportion to the length. Exact:
// the positions cut are masked out (mask 0) in every row, so nothing read them.
Features trimmed(Features f) {
    if (!f.tokens.defined() || !f.mask.defined() || f.mask.size(0) == 0) return f;
    const at::Tensor used = f.mask.ne(0).any(0).nonzero();
    const std::int64_t length = used.numel() ? used.max().item<std::int64_t>() + 1 : 1;
    if (length < f.tokens.size(1)) {
        f.tokens = f.tokens.narrow(1, 0, length);
        f.mask = f.mask.narrow(1, 0, length);
    }
    return f;
}

Features select_rows(const Features& f, const at::Tensor& index) {
    Features out;
    if (f.pooled.defined()) out.pooled = f.pooled.index_select(0, index.to(f.pooled.device()));
    if (f.tokens.defined()) out.tokens = f.tokens.index_select(0, index.to(f.tokens.device()));
    if (f.mask.defined()) out.mask = f.mask.index_select(0, index.to(f.mask.device()));
    return trimmed(std::move(out));
}

Features move_to(const Features& f, const torch::Device& device) {
    Features out;
    if (f.pooled.defined()) out.pooled = f.pooled.to(device);
    if (f.tokens.defined()) out.tokens = f.tokens.to(device);
    if (f.mask.defined()) out.mask = f.mask.to(device);
    return out;
}

// A deep copy of the model's parameters and buffers, to restore the best epoch.
std::vector<at::Tensor> snapshot(const torch::nn::Module& model) {
    std::vector<at::Tensor> out;
    for (const auto& p : model.parameters()) out.push_back(p.detach().clone());
    for (const auto& b : model.buffers()) out.push_back(b.detach().clone());
    return out;
}

void restore(torch::nn::Module& model, const std::vector<at::Tensor>& saved) {
    torch::NoGradGuard no_grad;
    std::size_t i = 0;
    for (auto& p : model.parameters()) p.copy_(saved[i++]);
    for (auto& b : model.buffers()) b.copy_(saved[i++]);
}

LossInput loss_input(const ModelOutput& out, const FeatureSet& batch) {
    return {out.logits, batch.labels, out.text.pooled, out.image.pooled};
}

} // namespace

SoftTargets SoftTargets::rows(const at::Tensor& index) const {
    if (!defined()) return {};
    const at::Tensor i = index.to(probs.device());
    return {probs.index_select(0, i), temperature.index_select(0, i), weight.index_select(0, i)};
}

SoftTargets SoftTargets::to(const torch::Device& device) const {
    if (!defined()) return {};
    return {probs.to(device), temperature.to(device), weight.to(device)};
}

at::Tensor soft_target_loss(const at::Tensor& logits, const SoftTargets& targets) {
    const at::Tensor t = targets.temperature.to(logits.dtype());
    const at::Tensor log_probs = torch::log_softmax(logits / t.unsqueeze(1), 1);
    const at::Tensor per_row = -(targets.probs.to(logits.dtype()) * log_probs).sum(1) * t * t;
    const at::Tensor weight = targets.weight.to(logits.dtype());
    return (per_row * weight).sum() / weight.sum().clamp_min(1e-12);
}

FeatureSet FeatureSet::rows(const at::Tensor& index) const {
    return {select_rows(text, index), select_rows(image, index), labels.index_select(0, index.to(labels.device())),
            soft.rows(index)};
}

FeatureSet FeatureSet::to(const torch::Device& device) const {
    return {move_to(text, device), move_to(image, device), labels.to(device), soft.to(device)};
}

Standardization standardization(const TrainConfig& config, const FusionContext& context, const TrainableEncoder& text,
                                const TrainableEncoder& image) {
    if (!config.standardize) return {};
    return {text.top ? 0 : context.text_dim, image.top ? 0 : context.image_dim};
}

at::ScalarType top_precision(const TrainConfig& config) {
    if (config.precision == "bfloat16" && config.device == "cuda")
        throw Error("[train] precision = \"bfloat16\" is CPU mixed precision (autocast); with device = \"cuda\" "
                    "the encoder tops train in float32: use precision = \"auto\" or \"float32\"");
    if (config.precision == "auto" && config.device == "cuda") return at::kFloat;
    return models::resolve_dtype(config.precision, "[train] precision") == "bfloat16" ? at::kBFloat16 : at::kFloat;
}

ClassifierImpl::ClassifierImpl(std::shared_ptr<Fusion> fusion, const PluginEntry& fusion_entry,
                               std::int64_t num_classes, TrainableEncoder text, TrainableEncoder image,
                               Standardization standardize, at::ScalarType top_precision)
    : num_classes_(num_classes), fusion_(std::move(fusion)), fusion_entry_(&fusion_entry), text_(text), image_(image),
      top_precision_(top_precision) {
    // Identity until standardize_with(); buffers, so that model.pt keeps them.
    if (standardize.text_dim > 0) {
        text_mean_ = register_buffer("text_mean", torch::zeros({standardize.text_dim}));
        text_scale_ = register_buffer("text_scale", torch::ones({standardize.text_dim}));
    }
    if (standardize.image_dim > 0) {
        image_mean_ = register_buffer("image_mean", torch::zeros({standardize.image_dim}));
        image_scale_ = register_buffer("image_scale", torch::ones({standardize.image_dim}));
    }
    // The tops first, so their parameters come first in parameters() (and in model.pt).
    for (auto [name, trainable] : {std::pair{"text_top", &text_}, std::pair{"image_top", &image_}})
        if (trainable->top)
            register_module(name, call_plugin(*trainable->entry, "trainable_top()->module()",
                                              [&] { return trainable->top->module(); }));
    register_module("fusion", fusion_);
    const bool logits = call_plugin(*fusion_entry_, "outputs_logits()", [&] { return fusion_->outputs_logits(); });
    const auto width = call_plugin(*fusion_entry_, "output_dim()", [&] { return fusion_->output_dim(); });
    if (logits && width != num_classes)
        throw Error(describe(fusion_entry) + " gives class logits of width " + std::to_string(width) + ", but the " +
                    "study has " + std::to_string(num_classes) + " classes");
    if (!logits) head_ = register_module("classifier", torch::nn::Linear(width, num_classes));
}

ClassifierImpl::ClassifierImpl(std::shared_ptr<PromptModel> prompt, const PluginEntry& prompt_entry,
                               std::int64_t num_classes)
    : num_classes_(num_classes), fusion_entry_(nullptr), prompt_(std::move(prompt)), prompt_entry_(&prompt_entry) {
    register_module("prompt", prompt_);
}

ModelOutput ClassifierImpl::forward_all(const Features& text, const Features& image) {
    if (prompt_) {
        ModelOutput out{text, image, call_plugin(*prompt_entry_, "forward()", [&] { return prompt_->forward(text, image); })};
        const auto rows = text.pooled.defined() ? text.pooled.size(0) : text.tokens.size(0);
        if (!out.logits.defined() || out.logits.dim() != 2 || out.logits.size(0) != rows ||
            out.logits.size(1) != num_classes_)
            throw Error(describe(*prompt_entry_) + " returned logits of shape " +
                        (out.logits.defined() ? c10::str(out.logits.sizes()) : std::string("(none)")) + " for " +
                        std::to_string(rows) + " posts; expected [" + std::to_string(rows) + ", " +
                        std::to_string(num_classes_) + "], one column per label");
        if (class_bias_.defined()) out.logits = out.logits + class_bias_.to(out.logits.dtype());
        return out;
    }
    ModelOutput out{through_top(text_, standardized(text, text_mean_, text_scale_)),
                    through_top(image_, standardized(image, image_mean_, image_scale_)), {}};
    at::Tensor fused = call_plugin(*fusion_entry_, "forward()", [&] { return fusion_->forward(out.text, out.image); });
    out.logits = head_ ? head_->forward(fused) : fused;
    if (class_bias_.defined()) out.logits = out.logits + class_bias_.to(out.logits.dtype());
    return out;
}

void ClassifierImpl::add_class_bias() {
    if (!class_bias_.defined()) class_bias_ = register_buffer("class_bias", torch::zeros({num_classes_}));
}

void ClassifierImpl::set_class_bias(const at::Tensor& offsets) {
    torch::NoGradGuard no_grad;
    add_class_bias();
    class_bias_.copy_(offsets.to(class_bias_.device(), class_bias_.scalar_type()).reshape({num_classes_}));
}

Features ClassifierImpl::through_top(const TrainableEncoder& trainable, const Features& prefix) const {
    if (!trainable.top) return prefix;
    const models::CpuBFloat16Autocast autocast(top_precision_ == at::kBFloat16);
    return call_plugin(*trainable.entry, "trainable_top()->forward()", [&] { return trainable.top->forward(prefix); });
}

Features ClassifierImpl::standardized(const Features& f, const at::Tensor& mean, const at::Tensor& scale) {
    if (!mean.defined() || !f.pooled.defined()) return f;
    Features out = f;
    out.pooled = (f.pooled - mean.to(f.pooled.dtype())) * scale.to(f.pooled.dtype());
    return out;
}

void ClassifierImpl::standardize_with(const FeatureSet& train) {
    torch::NoGradGuard no_grad;
    const auto fit = [&](const Features& f, at::Tensor& mean, at::Tensor& scale, const char* modality) {
        if (!mean.defined()) return;
        if (!f.pooled.defined() || f.pooled.size(0) == 0 || f.pooled.size(1) != mean.size(0))
            throw Error(std::string("standardizing the ") + modality + " features: expected training rows of width " +
                        std::to_string(mean.size(0)) + ", got " +
                        (f.pooled.defined() ? c10::str(f.pooled.sizes()) : std::string("none")));
        const at::Tensor x = f.pooled.to(torch::kDouble);
        const at::Tensor sd = x.std(0, /*unbiased=*/false);
        mean.copy_(x.mean(0));
        // A dimension constant over the training rows carries nothing: centred, not scaled.
        scale.copy_(torch::where(sd > 1e-12, sd.reciprocal(), torch::ones_like(sd)));
    };
    fit(train.text, text_mean_, text_scale_, "text");
    fit(train.image, image_mean_, image_scale_, "image");
}

std::vector<std::string> ClassifierImpl::standardized_modalities() const {
    std::vector<std::string> out;
    if (text_mean_.defined()) out.push_back("text");
    if (image_mean_.defined()) out.push_back("image");
    return out;
}

at::Tensor ClassifierImpl::fused(const Features& text, const Features& image) {
    torch::NoGradGuard no_grad;
    eval();
    return call_plugin(*fusion_entry_, "forward()", [&] {
        return fusion_->forward(standardized(text, text_mean_, text_scale_), standardized(image, image_mean_, image_scale_));
    });
}

std::optional<std::string> ClassifierImpl::not_linear() const {
    if (prompt_) return "a [prompt] model classifies";
    if (child("text_top") || child("image_top")) return "an encoder's top layers train (trainable_layers > 0)";
    if (!head_) return describe(*fusion_entry_) + " gives class logits itself";
    if (!fusion_->parameters().empty()) return describe(*fusion_entry_) + " has parameters of its own";
    return std::nullopt;
}

Features ClassifierImpl::text_features(const Features& text) { return through_top(text_, text); }

std::shared_ptr<torch::nn::Module> ClassifierImpl::child(const std::string& name) const {
    // named_children() returns a dict by value: a pointer find() gives into a temporary
    // one dangles at the end of the statement (AddressSanitizer's heap-use-after-free).
    const auto children = named_children();
    const auto* found = children.find(name);
    return found ? *found : nullptr;
}

std::vector<at::Tensor> ClassifierImpl::text_top_parameters() const {
    std::vector<at::Tensor> out;
    if (const auto top = child("text_top"))
        for (auto& p : top->parameters()) out.push_back(p);
    return out;
}

void ClassifierImpl::freeze_text_top() {
    for (auto& p : text_top_parameters()) p.requires_grad_(false);
    text_top_frozen_ = true;
    train(is_training());
}

void ClassifierImpl::train(bool on) {
    torch::nn::Module::train(on);
    if (text_top_frozen_)
        if (const auto top = child("text_top")) top->eval();
}

std::vector<std::pair<double, std::vector<at::Tensor>>> ClassifierImpl::encoder_parameter_groups(double decay) const {
    if (prompt_) return {{1.0, encoder_parameters()}};
    std::map<double, std::vector<at::Tensor>, std::greater<>> by_factor;
    for (auto [name, trainable] : {std::pair{"text_top", &text_}, std::pair{"image_top", &image_}}) {
        const auto top = child(name);
        if (!top) continue;
        // module()'s children: the k layers from the lowest to the top, then the final
        // step's modules (TrainableTop::module()); what lies outside them trains at the full rate.
        const std::int64_t k = call_plugin(*trainable->entry, "trainable_top()->layers()",
                                           [&] { return trainable->top->layers(); });
        std::vector<at::Tensor> placed;
        const auto children = top->children();
        for (std::size_t i = 0; i < children.size(); ++i) {
            const auto below_top = static_cast<std::int64_t>(k) - 1 - static_cast<std::int64_t>(i);
            const double factor = below_top > 0 ? std::pow(decay, static_cast<double>(below_top)) : 1.0;
            for (auto& p : children[i]->parameters()) {
                by_factor[factor].push_back(p);
                placed.push_back(p);
            }
        }
        for (auto& p : top->parameters())
            if (std::none_of(placed.begin(), placed.end(), [&](const at::Tensor& q) { return q.is_same(p); }))
                by_factor[1.0].push_back(p);
    }
    return {by_factor.begin(), by_factor.end()};
}

std::vector<at::Tensor> ClassifierImpl::encoder_parameters() const {
    if (prompt_)
        return call_plugin(*prompt_entry_, "pretrained_parameters()", [&] { return prompt_->pretrained_parameters(); });
    std::vector<at::Tensor> out;
    for (const char* name : {"text_top", "image_top"})
        if (const auto top = child(name))
            for (auto& p : top->parameters()) out.push_back(p);
    return out;
}

at::Tensor Objective::main_loss(const LossInput& input) const {
    return call_plugin(*main.entry, "forward()", [&] { return main.loss->forward(input); });
}

at::Tensor Objective::operator()(const LossInput& input) const {
    double rest = 1.0;
    for (const auto& term : auxiliary) rest -= term.weight;
    at::Tensor total = main_loss(input) * rest;
    for (const auto& term : auxiliary)
        total = total + term.weight * call_plugin(*term.entry, "forward()", [&] { return term.loss->forward(input); });
    return total;
}

std::vector<at::Tensor> Objective::parameters() const {
    std::vector<at::Tensor> out = main.loss->parameters();
    for (const auto& term : auxiliary)
        for (auto& p : term.loss->parameters()) out.push_back(p);
    return out;
}

void Objective::train(bool on) const {
    main.loss->train(on);
    for (const auto& term : auxiliary) term.loss->train(on);
}

double schedule_factor(const TrainConfig& config, std::int64_t step, std::int64_t total) {
    const auto warmup = static_cast<std::int64_t>(std::llround(config.warmup * static_cast<double>(total)));
    if (step < warmup) return static_cast<double>(step) / static_cast<double>(std::max<std::int64_t>(1, warmup));
    const double progress =
        static_cast<double>(step - warmup) / static_cast<double>(std::max<std::int64_t>(1, total - warmup));
    switch (config.schedule) {
    case Schedule::constant: return 1.0;
    case Schedule::linear: return std::max(0.0, 1.0 - progress);
    case Schedule::cosine: return 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
    }
    return 1.0;
}

double scheduled_rate(const TrainConfig& config, std::int64_t step, std::int64_t total) {
    return config.learning_rate * schedule_factor(config, step, total);
}

// bucket_by_length sorts the shuffled rows by text length within spans of this many
// batches: batches of similar lengths, while which rows meet stays random.
constexpr std::int64_t kBucketSpanBatches = 50;

void bucket_by_length(std::vector<std::size_t>& order, const std::vector<std::int64_t>& lengths,
                      std::int64_t batch_size, std::mt19937_64& rng) {
    const auto span = static_cast<std::size_t>(kBucketSpanBatches * batch_size);
    for (std::size_t begin = 0; begin < order.size(); begin += span)
        std::stable_sort(order.begin() + begin, order.begin() + std::min(order.size(), begin + span),
                         [&](std::size_t a, std::size_t b) { return lengths[a] < lengths[b]; });
    const auto size = static_cast<std::size_t>(batch_size);
    std::vector<std::size_t> batches(order.size() / size);
    for (std::size_t i = 0; i < batches.size(); ++i) batches[i] = i;
    data::seeded_shuffle(batches, rng);
    std::vector<std::size_t> out;
    out.reserve(order.size());
    for (const auto b : batches) out.insert(out.end(), order.begin() + b * size, order.begin() + (b + 1) * size);
    out.insert(out.end(), order.begin() + batches.size() * size, order.end());
    order = std::move(out);
}

namespace {

// Rows per forward pass when nothing trains: larger than training batches, since
// only memory bounds it.
constexpr std::int64_t kEvalBatch = 256;

struct Evaluation {
    at::Tensor probabilities; // [N, C] on the CPU
    double main_loss = std::numeric_limits<double>::quiet_NaN(); // mean over the rows; needs labels
};

// One pass in eval mode: probabilities, and the objective's main loss when given.
Evaluation evaluate(Classifier& model, const Objective* objective, const FeatureSet& set,
                    const torch::Device& device) {
    torch::NoGradGuard no_grad;
    model->eval();
    if (objective) objective->train(false);
    std::vector<at::Tensor> parts;
    double loss_sum = 0;
    // Rows with text tokens go shortest first, so that each chunk is trimmed to about its
    // own length (in the set's order, the longest of 256 tweets is near the store's 128).
    const at::Tensor order = set.text.mask.defined()
                                 ? std::get<1>(at::sort(set.text.mask.ne(0).sum(1).to(torch::kCPU), c10::optional<bool>(true), 0))
                                 : torch::arange(set.size(), torch::kLong);
    for (std::int64_t begin = 0; begin < set.size(); begin += kEvalBatch) {
        const auto index = order.narrow(0, begin, std::min(set.size() - begin, kEvalBatch));
        const FeatureSet batch = set.rows(index).to(device);
        const ModelOutput out = model->forward_all(batch.text, batch.image);
        parts.push_back(torch::softmax(out.logits, 1).to(torch::kCPU, torch::kFloat));
        if (objective)
            loss_sum += objective->main_loss(loss_input(out, batch)).item<double>() * static_cast<double>(batch.size());
    }
    Evaluation e;
    if (!parts.empty()) {
        const at::Tensor sorted = torch::cat(parts);
        e.probabilities = torch::empty_like(sorted).index_copy_(0, order, sorted);
    } else {
        e.probabilities = torch::empty({0, 0});
    }
    if (objective && set.size() > 0) e.main_loss = loss_sum / static_cast<double>(set.size());
    return e;
}

} // namespace

at::Tensor predict_probabilities(Classifier& model, const FeatureSet& set, const torch::Device& device) {
    return evaluate(model, nullptr, set, device).probabilities;
}

namespace {

// AdamW in groups: the head (fusion, classifier, loss heads), then the trainable encoder
// tops, which start from pretrained weights and take a smaller rate (a group per rate with
// [train] layer_decay below 1).
std::unique_ptr<AdamW> make_optimizer(Classifier& model, const Objective& objective, const TrainConfig& config) {
    const std::vector<at::Tensor> encoder_parameters = model->encoder_parameters();
    std::vector<at::Tensor> head_parameters;
    for (auto& p : model->parameters()) {
        const bool in_encoder = std::any_of(encoder_parameters.begin(), encoder_parameters.end(),
                                            [&](const at::Tensor& e) { return e.is_same(p); });
        if (!in_encoder) head_parameters.push_back(p);
    }
    for (auto& p : objective.parameters()) head_parameters.push_back(p);
    std::vector<AdamW::Group> groups{{head_parameters, config.learning_rate, config.weight_decay}};
    for (auto& [factor, group] : model->encoder_parameter_groups(config.layer_decay))
        groups.push_back({group, config.encoder_learning_rate * factor, config.weight_decay});
    return std::make_unique<AdamW>(std::move(groups));
}

// An epoch expected to take longer than this shows a progress line with its ETA.
constexpr double kQuietEpochSeconds = 10.0;


// One pass over the training rows in the order `rng` draws; returns the mean objective.
struct EpochRunner {
    Classifier& model;
    const Objective& objective;
    const FeatureSet& train;
    const TrainConfig& config;
    const torch::Device& device;
    AdamW& optimizer;
    std::int64_t steps_per_epoch, total_steps;
    std::vector<std::int64_t> text_lengths; // real tokens per row, when batches bucket by length
    std::int64_t step = 0;
    std::vector<double> base_rates; // each parameter group's rate before the schedule

    double run(std::int64_t epoch, std::mt19937_64& rng) {
        std::vector<std::size_t> order(static_cast<std::size_t>(train.size()));
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        data::seeded_shuffle(order, rng);
        if (!text_lengths.empty()) bucket_by_length(order, text_lengths, config.batch_size, rng);
        model->train();
        objective.train(true);
        double loss_sum = 0;
        // A long epoch (fine-tuning encoder layers) shows its progress once its first
        // step says it will take a while; a head's sub-second epochs stay quiet.
        std::unique_ptr<Progress> progress;
        const auto epoch_start = std::chrono::steady_clock::now();
        for (std::int64_t b = 0; b < steps_per_epoch; ++b) {
            const auto begin = order.begin() + b * config.batch_size;
            const auto end = order.begin() + std::min<std::int64_t>(train.size(), (b + 1) * config.batch_size);
            std::vector<std::int64_t> rows(begin, end);
            const FeatureSet batch = train.rows(torch::tensor(rows, torch::kLong)).to(device);
            const double factor = schedule_factor(config, step, total_steps);
            for (std::size_t g = 0; g < optimizer.groups().size(); ++g)
                optimizer.groups()[g].learning_rate = base_rates[g] * factor;
            optimizer.zero_grad();
            const ModelOutput out = model->forward_all(batch.text, batch.image);
            const at::Tensor loss =
                batch.soft.defined() ? soft_target_loss(out.logits, batch.soft) : objective(loss_input(out, batch));
            const double value = loss.item<double>();
            if (!std::isfinite(value))
                throw Error("training: the loss became " + std::to_string(value) + " at epoch " +
                            std::to_string(epoch) + ", step " + std::to_string(step + 1) +
                            "; lower [train] learning_rate or set grad_clip");
            loss.backward();
            optimizer.step(config.grad_clip);
            ++step;
            loss_sum += value;
            if (b == 0 && steps_per_epoch > 1) {
                const double first = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
                if (first * static_cast<double>(steps_per_epoch) > kQuietEpochSeconds)
                    progress = std::make_unique<Progress>("epoch " + std::to_string(epoch) + "/" +
                                                              std::to_string(config.epochs) + " (training rows)",
                                                          train.size(), std::cerr, Progress::Style::automatic,
                                                          epoch_start);
            }
            if (progress) progress->advance(static_cast<std::int64_t>(rows.size()));
        }
        return loss_sum / static_cast<double>(steps_per_epoch);
    }
};

// The validation loss and metrics of an epoch, and its `monitor` value.
double validate(Classifier& model, const Objective& objective, const FeatureSet& valid, const TrainConfig& config,
                const torch::Device& device, EpochRecord& record) {
    const Evaluation e = evaluate(model, &objective, valid, device);
    std::vector<std::int64_t> labels(valid.labels.data_ptr<std::int64_t>(),
                                     valid.labels.data_ptr<std::int64_t>() + valid.size());
    record.valid = compute_metrics(labels, e.probabilities, model->num_classes());
    record.valid_loss = e.main_loss;
    return config.monitor.metric == Metric::loss ? record.valid_loss : record.valid.get(config.monitor);
}

// Why `objective` on `train` is not plain cross-entropy on the labels; nullopt when it is.
std::optional<std::string> not_cross_entropy(const Objective& objective, const FeatureSet& train) {
    if (train.soft.defined()) return "it trains on a teacher's soft targets";
    if (!objective.auxiliary.empty()) return "auxiliary losses train with it";
    const Objective::Term& main = objective.main;
    if (main.entry->info.name != "cross-entropy") return "its loss is " + describe(*main.entry) + ", not cross-entropy";
    if (main.params.has("label_smoothing") && main.params.get_real("label_smoothing") != 0.0)
        return "its cross-entropy smooths the labels";
    if (main.params.has("class_weights") && !main.params.get_reals("class_weights").empty())
        return "its cross-entropy weighs the classes";
    return std::nullopt;
}

// The lbfgs solver: the head as a multinomial logistic regression on the fusion's output,
// fitted for each strength of config.l2, the best on `valid` kept.
FitResult fit_linear_probe(Classifier& model, const Objective& objective, const FeatureSet& train,
                           const FeatureSet& valid, const TrainConfig& config, const torch::Device& device,
                           const std::function<void(const EpochRecord&)>& on_epoch) {
    const auto start = std::chrono::steady_clock::now();
    const auto inputs = [&](const FeatureSet& set) {
        return set.size() ? model->fused(set.text, set.image).to(torch::kCPU) : torch::empty({0, 0});
    };
    if (config.l2.size() > 1 && valid.size() == 0)
        throw Error("training: [train] l2 lists " + std::to_string(config.l2.size()) +
                    " strengths to choose from on the validation rows, but there are none (check [split])");
    const L2Sweep sweep = choose_l2(inputs(train), train.labels.to(torch::kCPU), inputs(valid),
                                    valid.labels.to(torch::kCPU), model->num_classes(), config.l2, config.monitor);
    {
        torch::NoGradGuard no_grad;
        torch::nn::Linear head = model->head();
        head->weight.copy_(sweep.best.layer->weight);
        head->bias.copy_(sweep.best.layer->bias);
    }
    FitResult result;
    result.solver = Solver::lbfgs;
    result.l2_points = sweep.points;
    result.l2 = sweep.best.l2;
    result.best_epoch = 1;
    EpochRecord record;
    record.epoch = 1;
    record.train_loss = sweep.best.train_loss;
    record.valid_loss = std::numeric_limits<double>::quiet_NaN();
    if (valid.size() > 0) validate(model, objective, valid, config, device, record);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    record.seconds = result.seconds;
    result.history.push_back(record);
    if (on_epoch) on_epoch(record);
    model->eval();
    return result;
}

} // namespace

Solver resolve_solver(const TrainConfig& config, const Classifier& model, const Objective& objective,
                      const FeatureSet& train) {
    if (config.solver == Solver::adamw) return Solver::adamw;
    auto why_not = model->not_linear();
    if (!why_not) why_not = not_cross_entropy(objective, train);
    if (!why_not) return Solver::lbfgs;
    if (config.solver == Solver::lbfgs)
        throw Error("[train] solver = \"lbfgs\" fits a linear head on fixed features by cross-entropy, but " +
                    *why_not + "; use solver = \"adamw\" (or \"auto\"), or a fusion without parameters such as "
                    "linear");
    return Solver::adamw;
}

FitResult fit(Classifier& model, const Objective& objective, const FeatureSet& train, const FeatureSet& valid,
              const TrainConfig& config, std::uint64_t seed, const torch::Device& device,
              const std::function<void(const EpochRecord&)>& on_epoch) {
    if (train.size() == 0) throw Error("training: the training set is empty (check [split] and [sampler])");
    model->standardize_with(train);
    if (resolve_solver(config, model, objective, train) == Solver::lbfgs) {
        model->to(device);
        objective.main.loss->to(device);
        return fit_linear_probe(model, objective, train, valid, config, device, on_epoch);
    }
    const auto start = std::chrono::steady_clock::now();
    model->to(device);
    objective.main.loss->to(device);
    for (const auto& term : objective.auxiliary) term.loss->to(device);
    const auto optimizer = make_optimizer(model, objective, config);
    const std::int64_t steps_per_epoch = (train.size() + config.batch_size - 1) / config.batch_size;
    EpochRunner epochs{model, objective, train, config, device, *optimizer,
                       steps_per_epoch, steps_per_epoch * config.epochs, {}};
    for (const auto& group : optimizer->groups()) epochs.base_rates.push_back(group.learning_rate);
    if (config.bucket_by_length && train.text.mask.defined()) {
        const at::Tensor lengths = train.text.mask.ne(0).sum(1).to(torch::kCPU, torch::kLong).contiguous();
        epochs.text_lengths.assign(lengths.data_ptr<std::int64_t>(), lengths.data_ptr<std::int64_t>() + lengths.numel());
    }
    const bool higher = config.monitor.higher_is_better();

    // Batch order and dropout masks follow the seed alone, whatever ran before.
    std::mt19937_64 rng(seed);
    torch::manual_seed(seed);
    FitResult result;
    std::vector<at::Tensor> best_state = snapshot(*model);
    double best_value = higher ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    std::int64_t since_best = 0;
    for (std::int64_t epoch = 1; epoch <= config.epochs; ++epoch) {
        const auto epoch_start = std::chrono::steady_clock::now();
        EpochRecord record;
        record.epoch = epoch;
        record.train_loss = epochs.run(epoch, rng);
        record.learning_rate = scheduled_rate(config, epochs.step, epochs.total_steps);
        record.valid_loss = std::numeric_limits<double>::quiet_NaN();
        bool improved = true; // without a validation set the last epoch is the one kept
        if (valid.size() > 0) {
            const double value = validate(model, objective, valid, config, device, record);
            improved = higher ? value > best_value : value < best_value;
            if (improved) best_value = value;
        }
        if (improved) {
            result.best_epoch = epoch;
            best_state = snapshot(*model);
            since_best = 0;
        } else {
            ++since_best;
        }
        record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
        result.history.push_back(record);
        if (on_epoch) on_epoch(record);
        if (config.patience > 0 && since_best >= config.patience && epoch < config.epochs) {
            result.stopped_early = true;
            break;
        }
    }
    if (config.restore_best) restore(*model, best_state);
    else result.best_epoch = static_cast<std::int64_t>(result.history.size());
    model->eval();
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

} // namespace msa::train

#include "train/contrastive.hpp"

#include "train/adamw.hpp"
#include "train/run_folder.hpp"
#include "util/progress.hpp"

#include <msa/random.hpp>

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <random>

namespace msa::train {

std::vector<Pair> contrastive_pairs(const std::vector<std::int64_t>& labels, std::int64_t per_row, std::uint64_t seed) {
    std::map<std::int64_t, std::vector<std::int64_t>> by_label;
    for (std::size_t i = 0; i < labels.size(); ++i) by_label[labels[i]].push_back(static_cast<std::int64_t>(i));
    std::mt19937_64 rng(seed);
    std::vector<Pair> pairs;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const auto row = static_cast<std::int64_t>(i);
        const std::vector<std::int64_t>& same = by_label[labels[i]];
        const std::size_t others = labels.size() - same.size();
        for (std::int64_t r = 0; r < per_row; ++r) {
            if (r % 2 == 0 && same.size() > 1) {
                // A partner of its label other than itself: draw among the rest.
                auto j = static_cast<std::size_t>(uniform_below(rng, same.size() - 1));
                if (same[j] == row) j = same.size() - 1;
                pairs.push_back({row, same[j], 1.0f});
            } else if (others > 0) {
                // The n-th row outside its label, counting over the labels in order.
                auto n = static_cast<std::size_t>(uniform_below(rng, others));
                for (const auto& [label, members] : by_label) {
                    if (label == labels[i]) continue;
                    if (n < members.size()) {
                        pairs.push_back({row, members[n], 0.0f});
                        break;
                    }
                    n -= members.size();
                }
            }
        }
    }
    std::vector<std::size_t> order(pairs.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    seeded_shuffle(order, rng);
    std::vector<Pair> shuffled;
    for (auto i : order) shuffled.push_back(pairs[i]);
    return shuffled;
}

ContrastiveResult contrastive_tune(Classifier& model, const FeatureSet& train, const ContrastiveConfig& config,
                                   double weight_decay, std::uint64_t seed, const torch::Device& device,
                                   const std::function<void(const std::string&)>& log) {
    std::vector<at::Tensor> parameters = model->text_top_parameters();
    if (parameters.empty())
        throw ConfigError(config.where, "[contrastive] fine-tunes the text encoder's top layers: set trainable_layers "
                                        "(e.g. 2) and cached_prefix = true in [encoders.text]");
    const auto start = std::chrono::steady_clock::now();
    const at::Tensor cpu_labels = train.labels.to(torch::kCPU, torch::kLong).contiguous();
    const std::vector<std::int64_t> labels(cpu_labels.data_ptr<std::int64_t>(),
                                           cpu_labels.data_ptr<std::int64_t>() + cpu_labels.numel());
    const std::vector<Pair> pairs = contrastive_pairs(labels, config.pairs_per_post, seed);
    ContrastiveResult result;
    result.pairs = static_cast<std::int64_t>(pairs.size());
    for (const auto& p : pairs) result.same_label += p.target > 0.5f ? 1 : 0;
    if (pairs.empty()) throw ConfigError(config.where, "[contrastive]: the training rows make no pairs (one row?)");

    model->to(device);
    AdamW optimizer({{parameters, config.learning_rate, weight_decay}});
    const std::int64_t steps_per_epoch = (result.pairs + config.batch_size - 1) / config.batch_size;
    TrainConfig schedule; // sentence-transformers' WarmupLinear over a tenth of the steps
    schedule.schedule = Schedule::linear;
    schedule.warmup = 0.1;
    const std::int64_t total = steps_per_epoch * config.epochs;
    torch::manual_seed(seed);
    model->train();
    std::int64_t step = 0;
    for (std::int64_t epoch = 1; epoch <= config.epochs; ++epoch) {
        double loss_sum = 0;
        // Shown only when the first step says the epoch will take a while (as training's).
        std::unique_ptr<Progress> progress;
        const auto epoch_start = std::chrono::steady_clock::now();
        for (std::int64_t b = 0; b < steps_per_epoch; ++b) {
            const auto first = static_cast<std::size_t>(b * config.batch_size);
            const auto last = std::min(pairs.size(), first + static_cast<std::size_t>(config.batch_size));
            std::vector<std::int64_t> a, z;
            std::vector<float> target;
            for (std::size_t p = first; p < last; ++p) {
                a.push_back(pairs[p].a);
                z.push_back(pairs[p].b);
                target.push_back(pairs[p].target);
            }
            // Each side trims its token sequences to its own longest text.
            const Features left = train.rows(torch::tensor(a, torch::kLong)).to(device).text;
            const Features right = train.rows(torch::tensor(z, torch::kLong)).to(device).text;
            const at::Tensor cosine =
                torch::cosine_similarity(model->text_features(left).pooled, model->text_features(right).pooled, 1);
            const at::Tensor loss = torch::mse_loss(cosine, torch::tensor(target).to(device));
            optimizer.groups()[0].learning_rate = config.learning_rate * schedule_factor(schedule, step, total);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step(/*max_grad_norm=*/1.0);
            ++step;
            loss_sum += loss.item<double>();
            if (b == 0 && steps_per_epoch > 1 &&
                std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count() *
                        static_cast<double>(steps_per_epoch) > 10.0)
                progress = std::make_unique<Progress>("contrastive epoch " + std::to_string(epoch) + "/" +
                                                          std::to_string(config.epochs) + " (pairs)",
                                                      result.pairs, std::cerr, Progress::Style::automatic, epoch_start);
            if (progress) progress->advance(static_cast<std::int64_t>(last - first));
        }
        result.epoch_loss.push_back(loss_sum / static_cast<double>(steps_per_epoch));
    }
    result.steps = step;
    if (config.freeze) model->freeze_text_top();
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string losses;
    for (double l : result.epoch_loss) losses += (losses.empty() ? "" : ", ") + fixed(l, 4);
    log("contrastive: " + std::to_string(result.pairs) + " pairs (" + std::to_string(result.same_label) +
        " of one label) from " + std::to_string(train.size()) + " training rows, " + std::to_string(result.steps) +
        " steps, loss per epoch " + losses + ", " + fixed(result.seconds, 1) + " s; the text top is then " +
        (config.freeze ? "fixed" : "trained on with the head"));
    return result;
}

} // namespace msa::train

// itm: image-text matching loss. A small 2-way head learns whether a text and an image
// belong to the same post: the batch's true pairs are the positives, and each text
// paired with another sample's image is a negative. An auxiliary loss; logits and
// targets are not used.
//
//   t = W_t · text + b_t,   i = W_i · image + b_i                  (both to `dim`)
//   head(t, i) = Linear(hidden → 2)(ReLU(Linear(3·dim → hidden)([t; i; t ∘ i])))
//   loss = CE over the 2N pairs: (t_k, i_k) → 1 (match), (t_k, i_π(k)) → 0 (no match)
//
// π has no fixed point: with negatives = "roll" π(k) = (k + 1) mod N (the image column
// rolled by one position); with "shuffle" a fresh random single cycle per batch
// (Sattolo's algorithm on mt19937_64 seeded with `seed`, so runs repeat exactly).
// A batch of one sample has no negative: the loss is then 0, computed as 0 · (the head's
// output on the positive pair), so backward() still works and gives zero gradients.
//
// | parameter | type   | default | meaning                                                  |
// | dim       | int    | 128     | width both modalities are projected to, in [1, 65536]    |
// | hidden    | int    | 128     | hidden width of the matching head, in [1, 65536]          |
// | negatives | string | "roll"  | "roll" (image of the next sample) or "shuffle" (random)   |
// | seed      | int    | 0       | seed of the "shuffle" negatives (only with "shuffle")     |
#include <msa/loss.hpp>
#include <msa/plugin.hpp>

#include <torch/torch.h>

#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

class ImageTextMatchingLoss final : public msa::Loss {
public:
    ImageTextMatchingLoss(const msa::Properties& props, const msa::LossContext& context)
        : text_projection_(nullptr), image_projection_(nullptr), head_(nullptr) {
        if (context.text_dim <= 0 || context.image_dim <= 0)
            throw msa::Error("itm loss matches texts with images, but was built without " +
                             std::string(context.text_dim <= 0 ? "text" : "image") + " features (text_dim = " +
                             std::to_string(context.text_dim) + ", image_dim = " + std::to_string(context.image_dim) +
                             ")");
        const std::int64_t dim = props.get_int("dim");
        const std::int64_t hidden = props.get_int("hidden");
        text_projection_ = register_module("text_projection", torch::nn::Linear(context.text_dim, dim));
        image_projection_ = register_module("image_projection", torch::nn::Linear(context.image_dim, dim));
        head_ = register_module("head", torch::nn::Sequential(torch::nn::Linear(3 * dim, hidden), torch::nn::ReLU(),
                                                              torch::nn::Linear(hidden, /*classes=*/2)));
        shuffle_ = props.get_string("negatives") == "shuffle";
        // The seed is read only for "shuffle", so that setting it with "roll" is reported.
        if (shuffle_) rng_.seed(static_cast<std::uint64_t>(props.get_int("seed")));
    }

    at::Tensor forward(const msa::LossInput& input) override {
        TORCH_CHECK(input.text.defined() && input.image.defined(),
                    "itm loss needs the pooled text and image features of the batch; the host passed ",
                    input.text.defined() ? "no image features" : "no text features");
        TORCH_CHECK(input.text.dim() == 2 && input.image.dim() == 2 && input.text.size(0) == input.image.size(0) &&
                        input.text.size(1) == text_projection_->options.in_features() &&
                        input.image.size(1) == image_projection_->options.in_features(),
                    "itm loss: expected text [N, ", text_projection_->options.in_features(), "] and image [N, ",
                    image_projection_->options.in_features(), "], got ", input.text.sizes(), " and ",
                    input.image.sizes());
        const auto text = text_projection_(input.text);
        const auto image = image_projection_(input.image);
        const std::int64_t n = text.size(0);
        const auto positive = head_->forward(pair(text, image));
        if (n < 2) return positive.sum() * 0;

        const auto negative_image = image.index_select(0, negative_partners(n).to(image.device()));
        const auto logits = torch::cat({positive, head_->forward(pair(text, negative_image))}, 0);
        const auto labels = torch::cat({torch::ones({n}, torch::kLong), torch::zeros({n}, torch::kLong)}).to(logits.device());
        return torch::nn::functional::cross_entropy(logits, labels);
    }

private:
    static at::Tensor pair(const at::Tensor& text, const at::Tensor& image) {
        return torch::cat({text, image, text * image}, 1);
    }

    // π as above: the image index each text is paired with as a negative.
    at::Tensor negative_partners(std::int64_t n) {
        std::vector<std::int64_t> partner(static_cast<std::size_t>(n));
        for (std::int64_t k = 0; k < n; ++k) partner[static_cast<std::size_t>(k)] = (k + 1) % n;
        if (shuffle_) {
            std::vector<std::int64_t> order(static_cast<std::size_t>(n));
            for (std::int64_t k = 0; k < n; ++k) order[static_cast<std::size_t>(k)] = k;
            // Sattolo: j < i strictly, so the permutation is one n-cycle and no k maps to itself.
            for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[uniform_below(i)]);
            for (std::size_t k = 0; k + 1 < order.size(); ++k)
                partner[static_cast<std::size_t>(order[k])] = order[k + 1];
            partner[static_cast<std::size_t>(order.back())] = order.front();
        }
        return torch::tensor(partner, torch::kLong);
    }

    // Uniform in [0, n) with rejection, so results do not depend on the standard library.
    std::uint64_t uniform_below(std::uint64_t n) {
        const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() -
                                    std::numeric_limits<std::uint64_t>::max() % n;
        std::uint64_t x;
        do x = rng_();
        while (x >= limit);
        return x % n;
    }

    torch::nn::Linear text_projection_;
    torch::nn::Linear image_projection_;
    torch::nn::Sequential head_;
    bool shuffle_ = false;
    std::mt19937_64 rng_;
};

void register_plugins(msa::Registry& registry) {
    registry.add_loss(
        msa::PluginInfo{"itm",
         "Image-text matching loss: a 2-way head on [t; i; t*i] with the batch's true pairs against swapped pairs.",
         {msa::ParamSpec::integer("dim", 128, "Width both modalities are projected to").range(1, 65536),
          msa::ParamSpec::integer("hidden", 128, "Hidden width of the matching head").range(1, 65536),
          msa::ParamSpec::choice("negatives", "roll", {"roll", "shuffle"},
                                 "Negative image of each text: the next sample's (roll) or a random other's (shuffle)"),
          msa::ParamSpec::integer("seed", 0, "Seed of the shuffle negatives (only with negatives = \"shuffle\")")
              .at_least(0)}}
            .with_needs({/*text=*/true, /*image=*/true}),
        [](const msa::Properties& props, const msa::LossContext& context) {
            return std::make_shared<ImageTextMatchingLoss>(props, context);
        });
}

} // namespace

MSA_PLUGIN(register_plugins)

// Zero-shot by label descriptions: class embeddings from unequal numbers of descriptions,
// and probabilities from cosines.
#include "train/zero_shot_trial.hpp"

#include <catch2/catch.hpp>

#include <torch/torch.h>

TEST_CASE("zero-shot: a class embedding is the normalised mean of its normalised descriptions", "[zero-shot]") {
    // Class 0 has two descriptions of different lengths, class 1 one.
    const at::Tensor descriptions = torch::tensor({{3.0f, 0.0f}, {0.0f, 0.5f}, {-2.0f, 0.0f}});
    const at::Tensor classes = msa::train::description_class_embeddings(descriptions, {0, 0, 1}, 2);
    const float half = static_cast<float>(std::sqrt(0.5));
    CHECK(torch::allclose(classes, torch::tensor({{half, half}, {-1.0f, 0.0f}}), 1e-6, 1e-6));
    CHECK_THROWS_WITH(msa::train::description_class_embeddings(descriptions, {0, 0, 0}, 2),
                      Catch::Matchers::Contains("class 1 has no description"));

    // softmax(scale * cosine): the post closest to a class gets it, whatever its length.
    const at::Tensor posts = torch::tensor({{10.0f, 9.0f}, {-0.1f, 0.01f}});
    const at::Tensor probs = msa::train::cosine_probabilities(posts, classes, 20.0);
    CHECK(probs.argmax(1).equal(torch::tensor({0, 1}, torch::kLong)));
    CHECK(torch::allclose(probs.sum(1), torch::ones({2})));
    const double cos00 = (10.0 * half + 9.0 * half) / std::sqrt(181.0), cos01 = -10.0 / std::sqrt(181.0);
    const double expected = std::exp(20 * cos00) / (std::exp(20 * cos00) + std::exp(20 * cos01));
    CHECK(probs[0][0].item<double>() == Approx(expected).epsilon(1e-5));
}

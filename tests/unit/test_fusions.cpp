// The built-in fusion plugins, constructed through the real plugin catalog: shapes,
// gradients, eval-mode determinism, the errors a researcher meets, and each fusion's
// formula checked against a computation from its own parameters.
#include "test_helpers.hpp"

#include <msa/fusion.hpp>

#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

using namespace msa;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

using Overrides = std::map<std::string, Value>;

constexpr std::int64_t kText = 5, kImage = 7, kClasses = 3, kBatch = 4;
const FusionContext kBoth{kText, kImage, kClasses};

Value integer(std::int64_t i) { return Value{i}; }

std::shared_ptr<Fusion> make(const std::string& name, const Overrides& overrides = {},
                             const FusionContext& context = kBoth) {
    return test::builtin_catalog().create_fusion(name, test::properties(PluginKind::fusion, name, overrides), context);
}

// Every built-in fusion with layers of its own in a tiny configuration, with the output
// width it must have (linear, which has none, has a test case of its own).
struct FusionCase {
    std::string name;
    Overrides overrides;
    std::int64_t width;
};

std::vector<FusionCase> all_fusions() {
    return {
        {"concat", {{"hidden", integer(8)}}, 8},
        {"attention", {{"hidden", integer(8)}}, 8},
        {"attention-combine", {{"hidden", integer(8)}}, 24},
        {"gated", {{"hidden", integer(8)}}, 8},
        {"cross-attention", {{"hidden", integer(8)}, {"heads", integer(2)}}, 16},
        {"bilinear", {{"rank", integer(6)}, {"hidden", integer(8)}}, 8},
        {"tensor", {{"dim", integer(3)}, {"hidden", integer(8)}}, 8},
        {"late", {{"hidden", integer(4)}}, kClasses},
        {"text-only", {{"hidden", integer(8)}}, 8},
        {"image-only", {{"hidden", integer(8)}}, 8},
    };
}

// Fusions that combine both modalities and so refuse a study with one.
const std::vector<std::string> kBimodal{"linear",  "attention", "attention-combine", "gated", "cross-attention",
                                        "bilinear", "tensor",    "late"};

// Token features: [n, lengths.size()...] with a mask marking the first lengths[i] tokens real.
Features tokens(std::int64_t n, std::int64_t length, std::int64_t dim, const std::vector<std::int64_t>& real = {}) {
    Features f;
    f.tokens = torch::randn({n, length, dim});
    f.pooled = f.tokens.mean(1);
    if (!real.empty()) {
        f.mask = torch::zeros({n, length}, torch::kLong);
        for (std::int64_t i = 0; i < n; ++i) f.mask[i].narrow(0, 0, real[static_cast<std::size_t>(i)]).fill_(1);
    }
    return f;
}

// What fusion `name` declares it reads.
const PluginNeeds& needs(const std::string& name) {
    return test::builtin_catalog().get(PluginKind::fusion, name).info.needs;
}

// Inputs the fusion can use: pooled features, and token sequences when it declares it reads them.
std::pair<Features, Features> inputs(const std::string& name, std::int64_t n = kBatch) {
    if (needs(name).tokens) {
        std::vector<std::int64_t> text_real(static_cast<std::size_t>(n), 6);
        text_real[0] = 2;
        return {tokens(n, 6, kText, text_real), tokens(n, 4, kImage)};
    }
    return {Features{torch::randn({n, kText}), {}, {}}, Features{torch::randn({n, kImage}), {}, {}}};
}

at::Tensor param(const Fusion& fusion, const std::string& name) {
    const auto params = fusion.named_parameters();
    const at::Tensor* found = params.find(name);
    if (!found) {
        std::string known;
        for (const auto& p : params) known += " " + p.key();
        FAIL("no parameter '" << name << "'; the fusion has:" << known);
    }
    return *found;
}

void set_param(Fusion& fusion, const std::string& name, const at::Tensor& value) {
    torch::NoGradGuard no_grad;
    param(fusion, name).copy_(value);
}

at::Tensor linear(const Fusion& fusion, const std::string& prefix, const at::Tensor& x) {
    return torch::nn::functional::linear(x, param(fusion, prefix + ".weight"), param(fusion, prefix + ".bias"));
}

} // namespace

TEST_CASE("fusions: every built-in fusion is covered by these tests", "[fusion]") {
    std::vector<std::string> covered;
    for (const auto& c : all_fusions()) covered.push_back(c.name);
    covered.push_back("linear");
    std::sort(covered.begin(), covered.end());
    CHECK(test::builtin_catalog().names(PluginKind::fusion) == covered);
}

TEST_CASE("fusions: linear passes the pooled text and image features on, concatenated, with no parameters",
          "[fusion][selection]") {
    const auto fusion = make("linear");
    CHECK(fusion->parameters().empty());
    const auto [text, image] = inputs("linear");
    CHECK(fusion->output_dim() == kText + kImage);
    CHECK(torch::equal(fusion->forward(text, image), torch::cat({text.pooled, image.pooled}, 1)));
}

TEST_CASE("fusions: output width equals output_dim()", "[fusion]") {
    torch::manual_seed(1);
    for (const auto& c : all_fusions()) {
        INFO("fusion '" << c.name << "'");
        auto fusion = make(c.name, c.overrides);
        CHECK(fusion->output_dim() == c.width);
        CHECK(fusion->outputs_logits() == (c.name == "late"));
        CHECK(needs(c.name).tokens == (c.name == "cross-attention"));
        const auto [text, image] = inputs(c.name);
        const at::Tensor out = fusion->forward(text, image);
        CHECK(out.sizes() == std::vector<std::int64_t>{kBatch, c.width});
        CHECK(torch::isfinite(out).all().item<bool>());
    }
}

TEST_CASE("fusions: gradients of the summed output reach every parameter", "[fusion]") {
    torch::manual_seed(2);
    for (const auto& c : all_fusions()) {
        INFO("fusion '" << c.name << "'");
        auto fusion = make(c.name, c.overrides);
        fusion->train();
        REQUIRE(!fusion->parameters().empty());
        const auto [text, image] = inputs(c.name);
        fusion->forward(text, image).sum().backward();
        for (const auto& p : fusion->named_parameters()) {
            INFO("parameter '" << p.key() << "'");
            REQUIRE(p.value().grad().defined());
            // Not merely nonzero: a parameter whose effect cancels out gets rounding noise.
            CHECK(p.value().grad().abs().max().item<double>() > 1e-4);
        }
    }
}

TEST_CASE("fusions: eval mode is deterministic, training mode applies dropout", "[fusion]") {
    torch::manual_seed(3);
    for (auto c : all_fusions()) {
        INFO("fusion '" << c.name << "'");
        c.overrides["dropout"] = Value{0.5};
        auto fusion = make(c.name, c.overrides);
        const auto [text, image] = inputs(c.name);
        fusion->train();
        const at::Tensor a = fusion->forward(text, image), b = fusion->forward(text, image);
        CHECK_FALSE(torch::equal(a, b));
        fusion->eval();
        torch::NoGradGuard no_grad;
        CHECK(torch::equal(fusion->forward(text, image), fusion->forward(text, image)));
    }
}

// The host checks a study against the fusion's declared needs first (next test case), in
// manifest terms; a fusion built without a width it reads says so in its own terms.
TEST_CASE("fusions: a fusion built without a modality it reads says which", "[fusion]") {
    for (const auto& name : kBimodal) {
        INFO("fusion '" << name << "'");
        CHECK_THROWS_WITH(make(name, {}, FusionContext{kText, 0, kClasses}),
                          Contains(name + " fusion combines text and image features, but was built without image "
                                          "features (text_dim = " + std::to_string(kText) + ", image_dim = 0)"));
        CHECK_THROWS_WITH(make(name, {}, FusionContext{0, kImage, kClasses}), Contains("built without text features"));
        CHECK_THROWS_WITH(make(name, {}, FusionContext{0, 0, kClasses}), Contains("built without either"));
    }
    CHECK_THROWS_WITH(make("text-only", {}, FusionContext{0, kImage, kClasses}),
                      Contains("text-only fusion uses the text features, but was built without them (text_dim = 0)"));
    CHECK_THROWS_WITH(make("image-only", {}, FusionContext{kText, 0, kClasses}),
                      Contains("image-only fusion uses the image features, but was built without them"));
}

TEST_CASE("fusions: what a fusion reads is declared, and checked against the study's encoders", "[fusion]") {
    for (const auto& name : kBimodal) {
        INFO("fusion '" << name << "'");
        CHECK((needs(name).text && needs(name).image));
    }
    CHECK((needs("text-only").text && !needs("text-only").image));
    CHECK((needs("image-only").image && !needs("image-only").text));
    CHECK((!needs("concat").text && !needs("concat").image)); // works with either or both

    const auto& catalog = test::builtin_catalog();
    CHECK_NOTHROW(catalog.check_needs(PluginKind::fusion, "gated", "m.toml:3:1", true, true));
    CHECK_NOTHROW(catalog.check_needs(PluginKind::fusion, "text-only", "m.toml:3:1", true, false));
    CHECK_THROWS_WITH(catalog.check_needs(PluginKind::fusion, "gated", "m.toml:3:1", true, false),
                      StartsWith("m.toml:3:1: fusion 'gated'") && Contains("reads text and image features") &&
                          Contains("no [encoders.image]") && Contains("text-only") && Contains("concat") &&
                          !Contains("image-only"));
    CHECK_THROWS_WITH(catalog.check_needs(PluginKind::loss, "itc", "", false, true),
                      Contains("no [encoders.text]") && Contains("cross-entropy") && !Contains("itm"));
}

TEST_CASE("fusions: features missing or of the wrong width at forward time are named", "[fusion]") {
    torch::manual_seed(4);
    const Features text{torch::randn({2, kText}), {}, {}}, image{torch::randn({2, kImage}), {}, {}};
    for (const std::string name : {"attention", "attention-combine", "gated", "bilinear", "tensor", "late"}) {
        INFO("fusion '" << name << "'");
        auto fusion = make(name);
        CHECK_THROWS_WITH(fusion->forward(text, Features{}),
                          Contains(name + " fusion received no image features") && Contains("width 7"));
        CHECK_THROWS_WITH(fusion->forward(Features{}, image), Contains("received no text features"));
        CHECK_THROWS_WITH(fusion->forward(text, Features{torch::randn({2, 6}), {}, {}}),
                          Contains("image features of shape [2, 6]; expected [N, 7]"));
        CHECK_THROWS_WITH(fusion->forward(text, Features{torch::randn({3, kImage}), {}, {}}),
                          Contains("2 text rows but 3 image rows"));
    }
    CHECK_THROWS_WITH(make("text-only")->forward(Features{}, image), Contains("text-only fusion received no text features"));
    CHECK_THROWS_WITH(make("image-only")->forward(text, Features{}), Contains("image-only fusion received no image features"));
}

TEST_CASE("fusions: declared parameter ranges refuse unusable values", "[fusion]") {
    const auto problem = [](const std::string& fusion, const std::string& param, const Value& value) {
        const auto& params = test::builtin_catalog().get(PluginKind::fusion, fusion).info.params;
        auto spec = std::find_if(params.begin(), params.end(), [&](const ParamSpec& s) { return s.name == param; });
        if (spec == params.end()) FAIL("fusion '" << fusion << "' declares no parameter '" << param << "'");
        return spec->check(value).value_or("accepted");
    };
    for (const auto& c : all_fusions()) {
        INFO("fusion '" << c.name << "'");
        CHECK_THAT(problem(c.name, "dropout", Value{1.0}), Contains("out of range; accepted: [0.0, 0.95]"));
        CHECK_THAT(problem(c.name, "hidden", integer(-1)), Contains("out of range"));
        CHECK(problem(c.name, "hidden", integer(64)) == "accepted");
    }
    for (const std::string name : {"attention", "attention-combine", "gated", "cross-attention"})
        CHECK_THAT(problem(name, "hidden", integer(0)), Contains("out of range; accepted: [1, 65536]"));
    CHECK(problem("bilinear", "hidden", integer(0)) == "accepted");
    CHECK_THAT(problem("bilinear", "rank", integer(0)), Contains("out of range"));
    CHECK_THAT(problem("tensor", "dim", integer(0)), Contains("out of range"));
    CHECK_THAT(problem("tensor", "dim", integer(300)), Contains("out of range; accepted: [1, 256]"));
    CHECK_THAT(problem("cross-attention", "heads", integer(0)), Contains("out of range"));
}

TEST_CASE("fusions: settings that cannot work together are refused where they were written", "[fusion]") {
    CHECK_THROWS_WITH(make("cross-attention", {{"hidden", integer(10)}, {"heads", integer(4)}}),
                      Contains("test: fusion 'cross-attention'") &&
                          Contains("hidden (10) must be a multiple of heads (4)") && Contains("hidden = 8 or 12"));
    CHECK_THROWS_WITH(make("cross-attention", {{"hidden", integer(3)}, {"heads", integer(4)}}),
                      Contains("e.g. hidden = 4"));
    CHECK_THROWS_WITH(make("late", {}, FusionContext{kText, kImage, 0}), Contains("needs at least 2 classes"));
    // A parameter the plugin never reads is reported by the host; every fusion reads all of its own.
    for (const auto& c : all_fusions()) {
        Overrides all = c.overrides;
        for (const auto& spec : test::builtin_catalog().get(PluginKind::fusion, c.name).info.params)
            all.emplace(spec.name, *spec.default_value);
        INFO("fusion '" << c.name << "'");
        CHECK_NOTHROW(make(c.name, all));
    }
}

TEST_CASE("cross-attention: padded tokens do not change the output", "[fusion]") {
    torch::manual_seed(5);
    auto fusion = make("cross-attention", {{"hidden", integer(8)}, {"heads", integer(2)}});
    fusion->eval();
    torch::NoGradGuard no_grad;
    const Features text = tokens(2, 5, kText, {3, 5});
    const Features image = tokens(2, 4, kImage, {4, 2});
    const at::Tensor out = fusion->forward(text, image);

    Features text2 = text, image2 = image;
    text2.tokens = text.tokens.clone();
    image2.tokens = image.tokens.clone();
    text2.tokens[0].narrow(0, 3, 2).normal_(0, 100);  // sample 0: tokens 3 and 4 are padding
    image2.tokens[1].narrow(0, 2, 2).normal_(0, 100); // sample 1: patches 2 and 3 are padding
    CHECK(torch::allclose(fusion->forward(text2, image2), out, /*rtol=*/1e-5, /*atol=*/1e-6));

    // The same change to real tokens does change it, for both samples.
    Features text3 = text;
    text3.tokens = text.tokens.clone();
    text3.tokens[1].narrow(0, 3, 2).normal_(0, 100);
    const at::Tensor changed = fusion->forward(text3, image);
    CHECK_FALSE(torch::allclose(changed[1], out[1], 1e-3, 1e-3));
    CHECK(torch::allclose(changed[0], out[0], 1e-5, 1e-6));

    // No mask means every token is real (image encoders give none).
    Features unmasked = image, all_real = image;
    unmasked.mask = at::Tensor();
    all_real.mask = torch::ones({2, 4}, torch::kLong);
    CHECK(torch::allclose(fusion->forward(text, unmasked), fusion->forward(text, all_real)));
}

TEST_CASE("cross-attention: missing or mis-sized tokens say what to set", "[fusion]") {
    torch::manual_seed(6);
    auto fusion = make("cross-attention", {{"hidden", integer(8)}, {"heads", integer(2)}});
    const Features pooled_text{torch::randn({2, kText}), {}, {}};
    const Features image = tokens(2, 4, kImage);
    CHECK_THROWS_WITH(fusion->forward(pooled_text, image),
                      Contains("the text features came without tokens") &&
                          Contains("set `tokens = true` on both encoders"));
    CHECK_THROWS_WITH(fusion->forward(tokens(2, 3, kText), Features{}),
                      Contains("image features came without tokens (and without pooled features)"));
    CHECK_THROWS_WITH(fusion->forward(tokens(2, 3, kText), tokens(2, 4, 9)),
                      Contains("image tokens 9 wide but was built for 7") && Contains("`image_token_dim = 9`"));
    Features no_real = tokens(2, 3, kText, {0, 3});
    CHECK_THROWS_WITH(fusion->forward(no_real, image), Contains("marks no real token"));

    auto wide = make("cross-attention",
                     {{"hidden", integer(8)}, {"heads", integer(2)}, {"image_token_dim", integer(9)}});
    CHECK(wide->forward(tokens(2, 3, kText), tokens(2, 4, 9)).sizes() == std::vector<std::int64_t>{2, 16});
}

TEST_CASE("late: outputs the average of the two unimodal classifiers' logits", "[fusion]") {
    torch::manual_seed(7);
    const at::Tensor x_text = torch::randn({kBatch, kText}), x_image = torch::randn({kBatch, kImage});
    const Features text{x_text, {}, {}}, image{x_image, {}, {}};
    torch::NoGradGuard no_grad;

    auto plain = make("late");
    plain->eval();
    const at::Tensor expected =
        (linear(*plain, "text.output", x_text) + linear(*plain, "image.output", x_image)) / 2;
    CHECK(plain->forward(text, image).sizes() == std::vector<std::int64_t>{kBatch, kClasses});
    CHECK(torch::allclose(plain->forward(text, image), expected, 1e-5, 1e-6));
    CHECK(plain->parameters().size() == 4);

    auto deep = make("late", {{"hidden", integer(6)}});
    deep->eval();
    const at::Tensor t = linear(*deep, "text.output", torch::relu(linear(*deep, "text.hidden", x_text)));
    const at::Tensor i = linear(*deep, "image.output", torch::relu(linear(*deep, "image.hidden", x_image)));
    CHECK(torch::allclose(deep->forward(text, image), (t + i) / 2, 1e-5, 1e-6));
}

TEST_CASE("gated: every output feature mixes the two modalities with the gate's weight", "[fusion]") {
    torch::manual_seed(8);
    const std::int64_t hidden = 6;
    auto fusion = make("gated", {{"hidden", integer(hidden)}});
    fusion->eval();
    torch::NoGradGuard no_grad;
    const at::Tensor x_text = torch::randn({kBatch, kText}), x_image = torch::randn({kBatch, kImage});
    const Features text{x_text, {}, {}}, image{x_image, {}, {}};
    const at::Tensor h_text = torch::tanh(linear(*fusion, "text", x_text));
    const at::Tensor h_image = torch::tanh(linear(*fusion, "image", x_image));

    // A gate that ignores the input: z = sigmoid(bias), known per feature.
    set_param(*fusion, "gate.weight", torch::zeros({hidden, kText + kImage}));
    const at::Tensor bias = torch::tensor({-40.0f, -1.0f, 0.0f, 0.5f, 2.0f, 40.0f});
    set_param(*fusion, "gate.bias", bias);
    const at::Tensor z = torch::sigmoid(bias);
    const at::Tensor out = fusion->forward(text, image);
    CHECK(torch::allclose(out, z * h_text + (1 - z) * h_image, 1e-5, 1e-6));
    CHECK(torch::allclose(out.select(1, 0), h_image.select(1, 0), 1e-5, 1e-6)); // z = 0: image only
    CHECK(torch::allclose(out.select(1, 2), (h_text + h_image).select(1, 2) / 2, 1e-5, 1e-6));
    CHECK(torch::allclose(out.select(1, 5), h_text.select(1, 5), 1e-5, 1e-6)); // z = 1: text only

    // A gate that depends on the input still gives a point between h_text and h_image.
    set_param(*fusion, "gate.weight", torch::randn({hidden, kText + kImage}) * 3);
    const at::Tensor mixed = fusion->forward(text, image);
    const at::Tensor z_input = torch::sigmoid(linear(*fusion, "gate", torch::cat({x_text, x_image}, 1)));
    CHECK(torch::allclose(mixed, z_input * h_text + (1 - z_input) * h_image, 1e-5, 1e-6));
    CHECK((mixed >= torch::min(h_text, h_image) - 1e-6).all().item<bool>());
    CHECK((mixed <= torch::max(h_text, h_image) + 1e-6).all().item<bool>());
}

TEST_CASE("tensor: the flattened outer product of [z_t; 1] and [z_i; 1] is (dim + 1)^2 wide", "[fusion]") {
    torch::manual_seed(9);
    CHECK(make("tensor")->output_dim() == 128);
    CHECK(make("tensor", {{"hidden", integer(0)}})->output_dim() == 33 * 33);
    CHECK(make("tensor", {{"dim", integer(4)}, {"hidden", integer(0)}})->output_dim() == 25);

    const std::int64_t d = 3;
    auto fusion = make("tensor", {{"dim", integer(d)}, {"hidden", integer(0)}});
    torch::NoGradGuard no_grad;
    const at::Tensor x_text = torch::randn({kBatch, kText}), x_image = torch::randn({kBatch, kImage});
    const at::Tensor out = fusion->forward(Features{x_text, {}, {}}, Features{x_image, {}, {}});
    REQUIRE(out.sizes() == std::vector<std::int64_t>{kBatch, (d + 1) * (d + 1)});
    const at::Tensor ones = torch::ones({kBatch, 1});
    const at::Tensor z_text = torch::cat({linear(*fusion, "text", x_text), ones}, 1);
    const at::Tensor z_image = torch::cat({linear(*fusion, "image", x_image), ones}, 1);
    CHECK(torch::allclose(out.view({kBatch, d + 1, d + 1}), torch::einsum("nj,nk->njk", {z_text, z_image}), 1e-5, 1e-6));
    // The appended ones keep the unimodal features inside the product.
    CHECK(torch::allclose(out.view({kBatch, d + 1, d + 1}).select(2, d), z_text));
    CHECK(torch::allclose(out.view({kBatch, d + 1, d + 1}).select(1, d), z_image));

    auto projected = make("tensor", {{"dim", integer(d)}, {"hidden", integer(5)}});
    projected->eval();
    const at::Tensor p_text = torch::cat({linear(*projected, "text", x_text), ones}, 1);
    const at::Tensor p_image = torch::cat({linear(*projected, "image", x_image), ones}, 1);
    const at::Tensor flat = torch::einsum("nj,nk->njk", {p_text, p_image}).reshape({kBatch, -1});
    CHECK(torch::allclose(projected->forward(Features{x_text, {}, {}}, Features{x_image, {}, {}}),
                          torch::relu(linear(*projected, "projection", flat)), 1e-5, 1e-6));
}

TEST_CASE("attention: a softmax-weighted sum of the tanh-projected modalities", "[fusion]") {
    torch::manual_seed(10);
    const at::Tensor x_text = torch::randn({kBatch, kText}), x_image = torch::randn({kBatch, kImage});
    const Features text{x_text, {}, {}}, image{x_image, {}, {}};
    torch::NoGradGuard no_grad;
    for (const std::string name : {"attention", "attention-combine"}) {
        INFO("fusion '" << name << "'");
        auto fusion = make(name, {{"hidden", integer(6)}});
        fusion->eval();
        const at::Tensor h_text = torch::tanh(linear(*fusion, "text", x_text));
        const at::Tensor h_image = torch::tanh(linear(*fusion, "image", x_image));
        const at::Tensor v = param(*fusion, "score.weight").squeeze(0);
        const at::Tensor w = torch::softmax(torch::stack({h_text.matmul(v), h_image.matmul(v)}, 1), 1);
        const at::Tensor fused = w.select(1, 0).unsqueeze(1) * h_text + w.select(1, 1).unsqueeze(1) * h_image;
        const at::Tensor expected = name == "attention" ? fused : torch::cat({fused, h_text, h_image}, 1);
        CHECK(torch::allclose(fusion->forward(text, image), expected, 1e-5, 1e-6));

        // A zero scoring vector weighs both modalities equally.
        set_param(*fusion, "score.weight", torch::zeros_like(param(*fusion, "score.weight")));
        CHECK(torch::allclose(fusion->forward(text, image).narrow(1, 0, 6), (h_text + h_image) / 2, 1e-5, 1e-6));
    }
}

TEST_CASE("bilinear: tanh(U x_t) * tanh(V x_i), projected to hidden", "[fusion]") {
    torch::manual_seed(11);
    const at::Tensor x_text = torch::randn({kBatch, kText}), x_image = torch::randn({kBatch, kImage});
    const Features text{x_text, {}, {}}, image{x_image, {}, {}};
    torch::NoGradGuard no_grad;
    auto raw = make("bilinear", {{"rank", integer(6)}, {"hidden", integer(0)}});
    raw->eval();
    CHECK(raw->output_dim() == 6);
    const at::Tensor product = torch::tanh(linear(*raw, "text", x_text)) * torch::tanh(linear(*raw, "image", x_image));
    CHECK(torch::allclose(raw->forward(text, image), product, 1e-5, 1e-6));

    auto projected = make("bilinear", {{"rank", integer(6)}, {"hidden", integer(4)}});
    projected->eval();
    const at::Tensor p =
        torch::tanh(linear(*projected, "text", x_text)) * torch::tanh(linear(*projected, "image", x_image));
    CHECK(torch::allclose(projected->forward(text, image), linear(*projected, "projection", p), 1e-5, 1e-6));
}

TEST_CASE("text-only and image-only: one modality, projected like concat, the other ignored", "[fusion]") {
    torch::manual_seed(12);
    const Features text{torch::randn({kBatch, kText}), {}, {}}, image{torch::randn({kBatch, kImage}), {}, {}};
    auto text_raw = make("text-only", {{"hidden", integer(0)}});
    CHECK(text_raw->output_dim() == kText);
    CHECK(torch::equal(text_raw->forward(text, image), text.pooled));
    CHECK(torch::equal(text_raw->forward(text, Features{}), text.pooled));
    CHECK(text_raw->parameters().empty());
    auto text_alone = make("text-only", {{"hidden", integer(0)}}, FusionContext{kText, 0, kClasses});
    CHECK(torch::equal(text_alone->forward(text, Features{}), text.pooled));

    auto image_projected = make("image-only", {{"hidden", integer(8)}}, FusionContext{0, kImage, kClasses});
    image_projected->eval();
    torch::NoGradGuard no_grad;
    CHECK(torch::allclose(image_projected->forward(Features{}, image),
                          torch::relu(linear(*image_projected, "projection", image.pooled))));
}

// concat: the baseline fusion. Concatenates the pooled text and image features and,
// with hidden > 0, projects them through Linear -> ReLU -> Dropout.
//
// | parameter | type  | default | meaning                                        |
// | hidden    | int   | 256     | projection width; 0 passes the concatenation   |
// | dropout   | float | 0.1     | dropout after the projection                   |
#include <msa/fusion.hpp>
#include <msa/plugin.hpp>

#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

namespace {

class ConcatFusion final : public msa::Fusion {
public:
    ConcatFusion(const msa::Properties& props, const msa::FusionContext& context)
        : input_dim_(context.text_dim + context.image_dim), hidden_(props.get_int("hidden")) {
        const double dropout = props.get_real("dropout");
        if (input_dim_ <= 0) throw msa::Error("concat fusion needs at least one modality with features");
        if (hidden_ > 0) {
            projection_ = register_module("projection", torch::nn::Linear(input_dim_, hidden_));
            dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
        }
    }

    std::int64_t output_dim() const override { return hidden_ > 0 ? hidden_ : input_dim_; }

    at::Tensor forward(const msa::Features& text, const msa::Features& image) override {
        std::vector<at::Tensor> parts;
        for (const auto* features : {&text, &image})
            if (features->pooled.defined()) parts.push_back(features->pooled);
        at::Tensor joint = torch::cat(parts, /*dim=*/1);
        if (hidden_ == 0) return joint;
        return dropout_(torch::relu(projection_(joint)));
    }

private:
    std::int64_t input_dim_;
    std::int64_t hidden_;
    torch::nn::Linear projection_{nullptr};
    torch::nn::Dropout dropout_{nullptr};
};

void register_plugins(msa::Registry& registry) {
    registry.add_fusion(
        {"concat",
         "Concatenate pooled text and image features, then an optional Linear-ReLU-Dropout projection.",
         {msa::ParamSpec::integer("hidden", 256, "Projection width; 0 passes the concatenation through")
              .range(0, 65536),
          msa::ParamSpec::real("dropout", 0.1, "Dropout probability after the projection").range(0.0, 0.95)}},
        [](const msa::Properties& props, const msa::FusionContext& context) {
            return std::make_shared<ConcatFusion>(props, context);
        });
}

} // namespace

MSA_PLUGIN(register_plugins)

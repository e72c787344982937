// Prompt models: classifiers that read a post's text themselves, e.g. a masked language
// model scoring label words at the mask of a template ("{text} It was [MASK]."), with the
// image entering as tokens. They do not fit encoder -> fusion -> head (the image joins
// inside the language model), so they are a plugin kind of their own. SDK 4.3.
//
// The host trains one as it trains a fusion and head: the same loop, losses, schedule,
// early stopping, predictions, model.pt and `msa predict`. What stays fixed for a post
// (the templated text through the model's frozen bottom) is computed once by text_encoder()
// and kept in the feature store; forward() runs the rest on every step.
#pragma once

#include <msa/encoder.hpp>

#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace msa {

struct PromptContext {
    // The study's labels in class-index order: forward() returns logits in this order.
    std::vector<std::string> class_names;
    // Width of the pooled image features forward() receives; 0 when it receives none (a
    // study without an image encoder, or a zero-shot trial, where nothing would map them).
    std::int64_t image_dim = 0;
    // False for a zero-shot trial (a few-shot phase's k = 0): the host evaluates the model
    // as built, without training it.
    bool trains = true;
};

class __attribute__((visibility("default"))) PromptModel : public torch::nn::Module {
public:
    // The fixed part as an encoder of the text modality: encode() gives for a batch of
    // posts what forward() reads as `text` (e.g. the templated ids through the frozen
    // layers as tokens [N, T, D] and mask [N, T], pooled [N, D] as the store wants a row
    // per post). The store keys its output on this plugin's name and version and on the
    // encoder's cache_key(), which must name everything that changes it (checkpoint,
    // template, where the frozen part ends). Its threads() and batch_size() apply while it
    // encodes.
    virtual std::shared_ptr<Encoder> text_encoder() = 0;
    // Class logits [N, C] for a batch: `text` as text_encoder() stored it (token sequences
    // cut after the batch's longest row), `image` the image encoder's features (pooled
    // undefined when PromptContext::image_dim is 0). Autograd runs through what trains.
    virtual at::Tensor forward(const Features& text, const Features& image) = 0;
    // The parameters that come pretrained (language-model layers, its MLM head), which
    // train at [train] encoder_learning_rate; every other parameter (new ones, such as an
    // image mapping) trains at learning_rate.
    virtual std::vector<at::Tensor> pretrained_parameters() = 0;
};

} // namespace msa

// clip-tags: offline captions from a CLIP model: the k words of a vocabulary whose prompts
// ("a photo of {}") CLIP finds closest to the image, joined by ", ". No server, no
// network; deterministic for a checkpoint and vocabulary.
//
// | parameter  | type   | default        | meaning                                            |
// | checkpoint | path   | (required)     | Hugging Face CLIPModel folder (both towers, projections) |
// | vocabulary | path   | "" (built-in)  | text file, one word or phrase a line; # comments    |
// | k          | int    | 5              | words per caption                                  |
// | prompt     | string | a photo of {}  | what the text tower reads for each word ({} = the word) |
// | batch_size | int    | 32             | prompts or images per forward pass                 |
// | template, on_missing: see msa/caption_augmenter.hpp                                      |
//
// The built-in vocabulary is clip_tags_vocabulary.txt beside this file, compiled in (see
// plugins/CMakeLists.txt) so that the plugin needs no file of its own at run time.
#include "clip_tags_vocabulary.hpp" // generated: clip_tags_default_vocabulary

#include <msa/caption_augmenter.hpp>
#include <msa/encoder.hpp>
#include <msa/models/clip.hpp>
#include <msa/models/encoder_support.hpp>
#include <msa/models/tokenizer.hpp>
#include <msa/plugin.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <unordered_map>

namespace {

using namespace msa::models;
using msa::Sample;
using msa::augmenters::Caption;
using msa::augmenters::trim;

const char* const hint = "e.g. an openai/clip-vit-base-patch32 snapshot (a CLIPModel: both towers and projections)";

// One word or phrase a line; blank lines and lines starting with # are skipped; a word
// twice is an error (it would take two of the k places). `source` names the text in errors.
std::vector<std::string> parse_vocabulary(std::istream& in, const std::string& source) {
    std::vector<std::string> words;
    std::unordered_map<std::string, std::size_t> seen;
    std::string line;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
        const std::string word = trim(line);
        if (word.empty() || word[0] == '#') continue;
        if (auto [it, added] = seen.emplace(word, number); !added)
            throw msa::ConfigError(source + ":" + std::to_string(number),
                                   "clip-tags: \"" + word + "\" is in the vocabulary twice (first at line " +
                                       std::to_string(it->second) + ")");
        words.push_back(word);
    }
    return words;
}

class ClipTagsAugmenter final : public msa::augmenters::CaptionAugmenter {
public:
    explicit ClipTagsAugmenter(const msa::Properties& props)
        : CaptionAugmenter(props, "clip-tags"), k_(props.get_int("k")), batch_size_(props.get_int("batch_size")) {
        const std::string folder = props.get_string("checkpoint");
        const std::string where = props.where("checkpoint");
        if (!std::filesystem::is_directory(folder))
            throw msa::ConfigError(where, "clip-tags: checkpoint folder '" + folder +
                                              "' does not exist. Point `checkpoint` at a Hugging Face CLIP model folder "
                                              "you already have (models are never downloaded at run time); " + hint);
        std::shared_ptr<Tokenizer> tokenizer;
        Checkpoint checkpoint;
        try {
            checkpoint = load_checkpoint(folder);
            model_ = load_clip_model(checkpoint);
            tokenizer = load_tokenizer(folder, "clip-bpe");
        } catch (const CheckpointError& e) {
            throw msa::ConfigError(where, std::string("clip-tags: ") + e.what());
        }
        const auto& vision = model_->vision->config();
        processor_ = image_processor_for(checkpoint, "CLIPImageProcessor", vision.image_size, vision.image_size);

        words_ = read_vocabulary(props.get_string("vocabulary"), props.where("vocabulary"));
        if (k_ > static_cast<std::int64_t>(words_.size()))
            throw msa::ConfigError(props.where("k"), "clip-tags: k = " + std::to_string(k_) + " but the vocabulary has " +
                                                         std::to_string(words_.size()) + " words; accepted: [1, " +
                                                         std::to_string(words_.size()) + "]");
        const std::string prompt = props.get_string("prompt");
        if (prompt.find("{}") == std::string::npos)
            throw msa::ConfigError(props.where("prompt"), "clip-tags: prompt \"" + prompt +
                                                              "\" has no {} where the word goes; e.g. \"a photo of {}\"");
        word_embeddings_ = encode_words(*tokenizer, prompt);
    }

protected:
    std::vector<Caption> captions(const std::vector<Sample>& sources) override {
        std::vector<Caption> out(sources.size());
        std::vector<std::size_t> with_image;
        for (std::size_t i = 0; i < sources.size(); ++i) {
            if (sources[i].image_path.empty())
                out[i] = none(sources[i], "no image");
            else
                with_image.push_back(i);
        }
        torch::NoGradGuard no_grad;
        for (std::size_t begin = 0; begin < with_image.size(); begin += static_cast<std::size_t>(batch_size_)) {
            const std::size_t end = std::min(with_image.size(), begin + static_cast<std::size_t>(batch_size_));
            msa::EncoderBatch batch;
            for (std::size_t j = begin; j < end; ++j) batch.samples.push_back(&sources[with_image[j]]);
            // Errors name the sample and its file.
            const at::Tensor pixels = load_image_batch(batch, processor_, /*threads=*/0);
            const at::Tensor images = clip_normalize(model_->vision->forward(pixels).projected);
            const at::Tensor similarity = images.matmul(word_embeddings_.t()).contiguous(); // [n, words]
            for (std::size_t j = begin; j < end; ++j)
                out[with_image[j]] = {top_words(similarity[static_cast<std::int64_t>(j - begin)]), {}};
        }
        return out;
    }

private:
    static std::vector<std::string> read_vocabulary(const std::string& file, const std::string& where) {
        std::vector<std::string> words;
        if (file.empty()) {
            std::istringstream in(clip_tags_default_vocabulary);
            words = parse_vocabulary(in, "clip-tags built-in vocabulary");
        } else {
            std::ifstream in(file);
            if (!in)
                throw msa::ConfigError(where, "clip-tags: vocabulary file '" + file +
                                                  "' cannot be read; expected a text file with one word or phrase "
                                                  "a line, or vocabulary = \"\" for the built-in one");
            words = parse_vocabulary(in, file);
        }
        if (words.empty())
            throw msa::ConfigError(where, "clip-tags: the vocabulary '" + file + "' has no words (only blank lines "
                                          "and # comments)");
        return words;
    }

    // Every prompt through the text tower once: projected, normalized [words, dim].
    at::Tensor encode_words(const Tokenizer& tokenizer, const std::string& prompt) {
        torch::NoGradGuard no_grad;
        const std::int64_t max_length = model_->text->config().max_position_embeddings;
        std::vector<at::Tensor> parts;
        for (std::size_t begin = 0; begin < words_.size(); begin += static_cast<std::size_t>(batch_size_)) {
            const std::size_t end = std::min(words_.size(), begin + static_cast<std::size_t>(batch_size_));
            std::vector<std::string> texts;
            for (std::size_t i = begin; i < end; ++i) {
                std::string text = prompt;
                for (std::size_t at; (at = text.find("{}")) != std::string::npos;) text.replace(at, 2, words_[i]);
                texts.push_back(std::move(text));
            }
            const TokenBatch tokens = tokenize_batch(tokenizer, texts, max_length);
            auto& text = model_->text;
            const at::Tensor hidden = text->run_layers(text->embed(tokens.ids), tokens.mask, 0, text->num_layers());
            // At the end token, the last real position, as the clip-text encoder pools.
            const at::Tensor positions = tokens.mask.sum(1).to(at::kLong) - 1;
            parts.push_back(text->head(hidden, positions).projected);
        }
        return clip_normalize(at::cat(parts));
    }

    // The k most similar words, best first; ties go to the earlier word, so the caption
    // never depends on the sort's whims.
    std::string top_words(const at::Tensor& similarity) const {
        const at::Tensor scores = similarity.to(at::kDouble).contiguous();
        const double* s = scores.data_ptr<double>();
        std::vector<std::size_t> order(words_.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::partial_sort(order.begin(), order.begin() + k_, order.end(),
                          [s](std::size_t a, std::size_t b) { return s[a] > s[b] || (s[a] == s[b] && a < b); });
        std::string caption;
        for (std::int64_t i = 0; i < k_; ++i) caption += (i ? ", " : "") + words_[order[static_cast<std::size_t>(i)]];
        return caption;
    }

    std::int64_t k_;
    std::int64_t batch_size_;
    ClipModel model_{nullptr};
    msa::media::ImageProcessorOptions processor_;
    std::vector<std::string> words_;
    at::Tensor word_embeddings_;
};

void register_plugins(msa::Registry& registry) {
    std::vector<msa::ParamSpec> params{
        msa::ParamSpec::path("checkpoint", "", std::string("Hugging Face CLIP model folder (config.json + weights + "
                                                           "tokenizer files); ") + hint)
            .model_folder()
            .required(),
        msa::ParamSpec::path("vocabulary", "",
                             "Text file, one word or phrase a line (# comments); empty = the built-in list of "
                             "sentiment and scene words"),
        msa::ParamSpec::integer("k", 5, "Words per caption, most similar first").range(1, 1000),
        msa::ParamSpec::string("prompt", "a photo of {}", "What CLIP's text tower reads for each word; {} is the word"),
        msa::ParamSpec::integer("batch_size", 32, "Prompts or images per forward pass").range(1, 4096)};
    for (auto& spec : msa::augmenters::caption_params()) params.push_back(std::move(spec));
    registry.add_augmenter({"clip-tags", "Caption-enriched copies with the k vocabulary words CLIP finds closest to "
                                         "the image (offline).",
                            params},
                           [](const msa::Properties& props) { return std::make_shared<ClipTagsAugmenter>(props); });
}

} // namespace

MSA_PLUGIN(register_plugins)

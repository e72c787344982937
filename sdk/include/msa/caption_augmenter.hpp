// A base for augmenters that caption samples (the built-in captions-file, vlm and
// clip-tags derive from it, and so can a third-party plugin): the text template that
// joins a source's text and its caption, the ids of the copies, and what becomes of a
// source without a caption (`on_missing`). A subclass says where captions come from
// (`captions()`) and declares `caption_params()` after its own parameters. Link msa::media
// (the copies' ids are SHA-256 digests). SDK 3.0.
#pragma once

#include <msa/augmenter.hpp>
#include <msa/error.hpp>
#include <msa/media/digest.hpp>
#include <msa/properties.hpp>

#include <algorithm>
#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace msa::augmenters {

inline std::string trim(const std::string& s) {
    const char* space = " \t\r\n\f\v";
    const auto begin = s.find_first_not_of(space);
    if (begin == std::string::npos) return {};
    return s.substr(begin, s.find_last_not_of(space) - begin + 1);
}

// The `template` parameter: literal text with the placeholders {text} (the source's text)
// and {caption}; {{ and }} stand for literal braces. Parsed once, so that a typo such as
// {captoin} is a configuration error before any caption is made.
class CaptionTemplate {
public:
    CaptionTemplate(const std::string& text, const std::string& plugin, const std::string& where) {
        bool has_caption = false;
        std::string literal;
        for (std::size_t i = 0; i < text.size(); ++i) {
            const char c = text[i];
            if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
                literal += c;
                ++i;
                continue;
            }
            if (c == '}')
                throw ConfigError(where, plugin + ": template \"" + text + "\" has a lone '}' at offset " +
                                             std::to_string(i) + "; write }} for a literal brace");
            if (c != '{') {
                literal += c;
                continue;
            }
            const auto close = text.find('}', i);
            if (close == std::string::npos)
                throw ConfigError(where, plugin + ": template \"" + text + "\" has an unclosed '{' at offset " +
                                             std::to_string(i) + "; write {{ for a literal brace");
            const std::string name = text.substr(i, close - i + 1);
            if (name != "{text}" && name != "{caption}")
                throw ConfigError(where, plugin + ": template \"" + text + "\" has an unknown placeholder " + name +
                                             "; accepted: {text}, {caption}, and {{ }} for literal braces");
            parts_.push_back({std::move(literal), false, false});
            literal.clear();
            parts_.push_back({{}, true, name == "{caption}"});
            has_caption = has_caption || name == "{caption}";
            i = close;
        }
        parts_.push_back({std::move(literal), false, false});
        if (!has_caption)
            throw ConfigError(where, plugin + ": template \"" + text +
                                         "\" has no {caption}, so the copies would not carry the caption; e.g. "
                                         "\"{text} {caption}\"");
    }

    // The filled template, without leading or trailing white space (an empty {text} must
    // not leave "{text} {caption}" starting with a space).
    std::string fill(const std::string& source_text, const std::string& caption) const {
        std::string out;
        for (const auto& part : parts_)
            out += !part.is_placeholder ? part.literal : part.is_caption ? caption : source_text;
        return trim(out);
    }

private:
    struct Part {
        std::string literal;
        bool is_placeholder = false;
        bool is_caption = false;
    };
    std::vector<Part> parts_;
};

// The parameters every caption augmenter declares, after its own.
inline std::vector<ParamSpec> caption_params() {
    return {ParamSpec::string("template", "{text} {caption}",
                              "Text of each copy: {text} is the source's text, {caption} the caption (required); "
                              "{{ and }} are literal braces"),
            ParamSpec::choice("on_missing", "skip", {"skip", "fail"},
                              "A source without a caption: skip leaves it out (counted on stderr), fail stops with "
                              "an error naming it")};
}

// One source's caption, or why it has none.
struct Caption {
    std::string text;
    std::string missing; // non-empty: there is no caption, and this says why
};

// An augmenter that adds, for each source, one copy whose text is the template filled
// with the source's text and a caption; image and label stay. Subclasses say where
// captions come from.
class CaptionAugmenter : public Augmenter {
public:
    CaptionAugmenter(const Properties& props, std::string plugin)
        : plugin_(std::move(plugin)), template_(props.get_string("template"), plugin_, props.where("template")),
          fail_on_missing_(props.get_string("on_missing") == "fail") {}

    std::vector<Sample> augment(const std::vector<Sample>& sources) final {
        const std::vector<Caption> found = captions(sources);
        if (found.size() != sources.size())
            throw Error(plugin_ + ": made " + std::to_string(found.size()) + " captions for " +
                        std::to_string(sources.size()) + " sources (a bug in the plugin)");
        std::vector<Sample> out;
        std::map<std::string, std::vector<std::string>> left_out; // reason -> ids
        for (std::size_t i = 0; i < sources.size(); ++i) {
            const Sample& source = sources[i];
            if (!found[i].missing.empty()) {
                none(source, found[i].missing); // throws when on_missing = "fail"
                left_out[found[i].missing].push_back(source.id);
                continue;
            }
            Sample copy = source;
            copy.text = template_.fill(source.text, found[i].text);
            // The caption's hash in the id: a feature store keyed by id never mistakes a
            // copy for one with another caption (another model, prompt or file).
            copy.id = source.id + "#" + plugin_ + "-" + media::sha256_hex(copy.text).substr(0, 8);
            copy.group = source.group.empty() ? source.id : source.group;
            out.push_back(std::move(copy));
        }
        if (!left_out.empty()) report_left_out(left_out, sources.size());
        return out;
    }

protected:
    // Each source's caption, in order.
    virtual std::vector<Caption> captions(const std::vector<Sample>& sources) = 0;

    // A source without a caption: an error when on_missing = "fail" (called as soon as a
    // subclass knows, so that no model time is spent first), else the entry to return.
    Caption none(const Sample& source, const std::string& why) const {
        if (fail_on_missing_)
            throw Error(plugin_ + ": sample '" + source.id + "' has no caption: " + why +
                        " (on_missing = \"fail\"; \"skip\" leaves such samples out)");
        return {{}, why};
    }

    const std::string& plugin() const { return plugin_; }

private:
    void report_left_out(const std::map<std::string, std::vector<std::string>>& left_out, std::size_t total) const {
        std::size_t count = 0;
        for (const auto& [_, ids] : left_out) count += ids.size();
        std::string line = plugin_ + ": left out " + std::to_string(count) + " of " + std::to_string(total) +
                           " samples without a caption (on_missing = \"skip\")";
        constexpr std::size_t shown = 5;
        for (const auto& [why, ids] : left_out) {
            line += "; " + why + ": ";
            for (std::size_t i = 0; i < std::min(ids.size(), shown); ++i) line += (i ? ", " : "") + ids[i];
            if (ids.size() > shown) line += " and " + std::to_string(ids.size() - shown) + " more";
        }
        std::cerr << line << "\n";
    }

    std::string plugin_;
    CaptionTemplate template_;
    bool fail_on_missing_;
};

} // namespace msa::augmenters

// What the vlm augmenter reads back from its endpoint and its cache, apart from the
// plugin so that the fuzz target of tests/fuzz reads answers with the plugin's own code.
// Only vlm_augmenter.cpp includes it.
#pragma once

#include <nlohmann/json.hpp>

#include <istream>
#include <optional>
#include <string>

namespace msa::augmenters::vlm {

// choices[0].message.content of an OpenAI-compatible /chat/completions body, untrimmed: a
// string as it is, null as "", an array as its "text" parts joined (some servers answer
// with content parts, as requests are written). nullopt when the body is not such an answer.
inline std::optional<std::string> answer_content(const std::string& body) {
    nlohmann::json answer = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    const nlohmann::json* content = nullptr;
    if (answer.is_object() && answer.contains("choices") && answer["choices"].is_array() &&
        !answer["choices"].empty() && answer["choices"][0].is_object() &&
        answer["choices"][0].contains("message") && answer["choices"][0]["message"].is_object())
        if (auto it = answer["choices"][0]["message"].find("content"); it != answer["choices"][0]["message"].end())
            content = &*it;
    if (!content || !(content->is_string() || content->is_null() || content->is_array())) return std::nullopt;
    if (content->is_string()) return content->get<std::string>();
    std::string text;
    if (content->is_array())
        for (const auto& part : *content)
            if (part.is_object()) {
                // Compared, not read with value(): a "type" that is not a string is not "text".
                const auto type = part.find("type"), value = part.find("text");
                if (type != part.end() && *type == "text" && value != part.end() && value->is_string())
                    text += value->get<std::string>();
            }
    return text;
}

// The caption of a cache entry ({"caption": "...", ...}); nullopt when the entry is not
// one (it is then asked for again and replaced).
inline std::optional<std::string> cached_caption(std::istream& in) {
    const auto entry = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!entry.is_object() || !entry.contains("caption") || !entry["caption"].is_string()) return std::nullopt;
    return entry["caption"].get<std::string>();
}

} // namespace msa::augmenters::vlm

// captions-file: captions made elsewhere (a notebook, a hosted model, people), read from
// a JSONL file with one {"id": ..., "caption": ...} object per line.
//
// | parameter   | type   | default            | meaning                                          |
// | file        | path   | (required)         | the JSONL file                                   |
// | id_key      | string | id                 | the key holding the sample id (string or integer) |
// | caption_key | string | caption            | the key holding the caption (string)             |
// | template    | string | {text} {caption}   | text of each copy                                |
// | on_missing  | string | skip               | skip or fail for a source the file has no caption for |

#include <msa/caption_augmenter.hpp>
#include <msa/plugin.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <unordered_map>

namespace {

using msa::augmenters::Caption;
using msa::augmenters::trim;

class CaptionsFileAugmenter final : public msa::augmenters::CaptionAugmenter {
public:
    explicit CaptionsFileAugmenter(const msa::Properties& props)
        : CaptionAugmenter(props, "captions-file"), file_(props.get_string("file")) {
        // Read now, not at augment(): a bad file is reported when the study starts.
        read(props.where("file"), props.get_string("id_key"), props.get_string("caption_key"));
    }

protected:
    std::vector<Caption> captions(const std::vector<msa::Sample>& sources) override {
        std::vector<Caption> out;
        for (const auto& source : sources) {
            auto it = captions_.find(source.id);
            out.push_back(it != captions_.end() ? Caption{it->second.text, {}}
                                                : none(source, "no line for it in " + file_));
        }
        return out;
    }

private:
    struct Entry {
        std::string text;
        std::size_t line = 0;
    };

    void read(const std::string& where, const std::string& id_key, const std::string& caption_key) {
        if (!std::filesystem::is_regular_file(file_))
            throw msa::ConfigError(where, "captions-file: file '" + file_ + "' " +
                                              (std::filesystem::exists(file_) ? "is not a regular file"
                                                                              : "does not exist") +
                                              "; expected a JSONL file with one {\"" + id_key + "\": ..., \"" +
                                              caption_key + "\": \"...\"} object per line");
        std::ifstream in(file_, std::ios::binary);
        if (!in) throw msa::ConfigError(where, "captions-file: cannot read '" + file_ + "'");
        const std::string expected = "expected a JSON object with \"" + id_key + "\" (a string or an integer) and \"" +
                                     caption_key + "\" (a non-empty string), e.g. {\"" + id_key + "\": \"1234\", \"" +
                                     caption_key + "\": \"a dog on a beach\"}";
        std::string text;
        for (std::size_t number = 1; std::getline(in, text); ++number) {
            if (number == 1 && text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3); // a UTF-8 byte-order mark
            if (trim(text).empty()) continue;
            const std::string at = file_ + ":" + std::to_string(number);
            auto bad = [&](const std::string& what) {
                throw msa::ConfigError(at, "captions-file: " + what + "; " + expected);
            };
            nlohmann::json object;
            try {
                object = nlohmann::json::parse(text);
            } catch (const nlohmann::json::exception& e) { // parse_error, or out_of_range for 1e400
                bad(std::string("not JSON (") + e.what() + ")");
            }
            if (!object.is_object()) bad(std::string("found a JSON ") + object.type_name());
            const auto id = object.find(id_key);
            if (id == object.end()) bad("no \"" + id_key + "\"");
            if (!id->is_string() && !id->is_number_integer()) bad("\"" + id_key + "\" is a " + id->type_name());
            const auto caption = object.find(caption_key);
            if (caption == object.end()) bad("no \"" + caption_key + "\"");
            if (!caption->is_string()) bad("\"" + caption_key + "\" is a " + caption->type_name());
            const std::string value = trim(caption->get<std::string>());
            if (value.empty()) bad("\"" + caption_key + "\" is empty");
            // Integer ids as the dataset writes them (mvsa ids are numbers).
            const std::string key = id->is_string() ? id->get<std::string>() : id->dump();
            const auto [it, added] = captions_.emplace(key, Entry{value, number});
            if (!added)
                throw msa::ConfigError(at, "captions-file: id '" + key + "' appears again (first at line " +
                                               std::to_string(it->second.line) + "); each sample takes one caption");
        }
    }

    std::string file_;
    std::unordered_map<std::string, Entry> captions_;
};

void register_plugins(msa::Registry& registry) {
    std::vector<msa::ParamSpec> params{
        msa::ParamSpec::path("file", "", "JSONL file, one {\"id\": ..., \"caption\": \"...\"} object per line")
            .required(),
        msa::ParamSpec::string("id_key", "id", "Key of the sample id in each line (a string or an integer)"),
        msa::ParamSpec::string("caption_key", "caption", "Key of the caption in each line")};
    for (auto& spec : msa::augmenters::caption_params()) params.push_back(std::move(spec));
    registry.add_augmenter({"captions-file", "Caption-enriched copies with captions read from a JSONL file.", params},
                           [](const msa::Properties& props) { return std::make_shared<CaptionsFileAugmenter>(props); });
}

} // namespace

MSA_PLUGIN(register_plugins)

// The caption augmenters: captions-file (JSONL).
#include "test_helpers.hpp"

#include "store/encoder_key.hpp" // sha256_hex

#include <msa/augmenter.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <iostream>
#include <sstream>

using namespace msa;
using Catch::Matchers::Contains;

namespace {

const PluginCatalog& catalog() { return test::builtin_catalog(); }

std::shared_ptr<Augmenter> make(const std::string& plugin, const std::map<std::string, Value>& params) {
    return catalog().create_augmenter(plugin, test::properties(PluginKind::augmenter, plugin, params));
}

Value text(const std::string& s) { return Value{s}; }
Value integer(std::int64_t i) { return Value{i}; }

std::filesystem::path image(const std::string& name) { return std::filesystem::path(MSA_FIXTURE_DIR) / "images" / name; }

// Hard samples: two with images (JPEG, PNG), one with a group of its own, one without an image.
std::vector<Sample> hard_samples() {
    return {{"s0", "what a lovely day", image("photo.jpg").string(), 2, ""},
            {"s1", "never again", image("alpha.png").string(), 0, "g1"},
            {"s2", "", image("grey.jpg").string(), 1, "s2"}};
}

std::string file_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// What std::cerr receives while it lives (the plugins report on stderr).
class CaptureStderr {
public:
    CaptureStderr() : old_(std::cerr.rdbuf(buffer_.rdbuf())) {}
    ~CaptureStderr() { std::cerr.rdbuf(old_); }
    std::string text() const { return buffer_.str(); }

private:
    std::ostringstream buffer_;
    std::streambuf* old_;
};

// Every copy: caption-enriched text, same image and label, the source's group (its id when
// empty), id "<source>#<plugin>-<8 hex of SHA-256 of the new text>".
void check_copy(const Sample& copy, const Sample& source, const std::string& plugin, const std::string& new_text) {
    INFO("copy of " << source.id);
    CHECK(copy.text == new_text);
    CHECK(copy.image_path == source.image_path);
    CHECK(copy.label == source.label);
    CHECK(copy.group == (source.group.empty() ? source.id : source.group));
    CHECK(copy.id == source.id + "#" + plugin + "-" + sha256_hex(new_text).substr(0, 8));
}

} // namespace

// ---------------------------------------------------------------- captions-file

TEST_CASE("captions-file: one copy per source with the template filled, ids from the new text", "[augmenters]") {
    test::TempDir dir;
    const auto file = dir.write("captions.jsonl", "{\"id\": \"s0\", \"caption\": \"  a sunny beach \"}\n"
                                                  "\n"
                                                  "{\"id\": \"s1\", \"caption\": \"a broken phone\", \"model\": \"x\"}\n"
                                                  "{\"id\": \"s2\", \"caption\": \"a grey wall\"}\n");
    const auto sources = hard_samples();
    const auto added = make("captions-file", {{"file", text(file.string())}})->augment(sources);
    REQUIRE(added.size() == 3);
    check_copy(added[0], sources[0], "captions-file", "what a lovely day a sunny beach");
    check_copy(added[1], sources[1], "captions-file", "never again a broken phone");
    // An empty text leaves no leading space.
    check_copy(added[2], sources[2], "captions-file", "a grey wall");

    const auto custom = make("captions-file", {{"file", text(file.string())},
                                               {"template", text("{{{caption}}} | {text}")}})->augment(sources);
    check_copy(custom[0], sources[0], "captions-file", "{a sunny beach} | what a lovely day");
    CHECK(custom[0].id != added[0].id); // another text, another id
}

TEST_CASE("captions-file: the file parameter is a path, integer ids and other key names are accepted",
          "[augmenters]") {
    const auto& params = catalog().get(PluginKind::augmenter, "captions-file").info.params;
    const auto file_spec = std::find_if(params.begin(), params.end(), [](const auto& p) { return p.name == "file"; });
    REQUIRE(file_spec != params.end());
    CHECK(file_spec->is_path);
    CHECK(file_spec->is_required());

    test::TempDir dir;
    const auto file = dir.write("c.jsonl", "\xEF\xBB\xBF{\"guid\": 1234, \"text\": \"a cat\"}\n");
    std::vector<Sample> sources{{"1234", "meow", image("photo.jpg").string(), 1, ""}};
    const auto added = make("captions-file", {{"file", text(file.string())},
                                              {"id_key", text("guid")},
                                              {"caption_key", text("text")}})
                           ->augment(sources);
    REQUIRE(added.size() == 1);
    check_copy(added[0], sources[0], "captions-file", "meow a cat");
}

TEST_CASE("captions-file: sources without a caption are skipped and reported, or fail by id", "[augmenters]") {
    test::TempDir dir;
    const auto file = dir.write("captions.jsonl", "{\"id\": \"s1\", \"caption\": \"a broken phone\"}\n");
    const auto sources = hard_samples();
    CaptureStderr err;
    const auto added = make("captions-file", {{"file", text(file.string())}})->augment(sources);
    REQUIRE(added.size() == 1);
    CHECK(added[0].id.rfind("s1#captions-file-", 0) == 0);
    CHECK_THAT(err.text(), Contains("captions-file: left out 2 of 3 samples without a caption (on_missing = \"skip\")") &&
                               Contains("no line for it in " + file.string() + ": s0, s2"));

    CHECK_THROWS_WITH(make("captions-file", {{"file", text(file.string())}, {"on_missing", text("fail")}})
                          ->augment(sources),
                      Contains("captions-file: sample 's0' has no caption: no line for it in " + file.string()) &&
                          Contains("on_missing = \"fail\""));
}

TEST_CASE("captions-file: bad lines, duplicate ids, a missing file and a bad template are errors that say where",
          "[augmenters]") {
    test::TempDir dir;
    auto error_for = [&](const std::string& content, std::map<std::string, Value> params = {}) {
        const auto file = dir.write("bad.jsonl", content);
        params.emplace("file", text(file.string()));
        try {
            make("captions-file", params);
        } catch (const std::exception& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    const std::string at2 = (dir.path() / "bad.jsonl").string() + ":2: ";
    const std::string ok = "{\"id\": \"a\", \"caption\": \"x\"}\n";
    CHECK_THAT(error_for(ok + "{\"id\": \"b\", \"caption\": \"y\"\n"),
               Contains(at2) && Contains("not JSON") && Contains("expected a JSON object with \"id\""));
    CHECK_THAT(error_for(ok + "[1, 2]\n"), Contains(at2) && Contains("found a JSON array"));
    CHECK_THAT(error_for(ok + "{\"id\": \"b\"}\n"), Contains(at2) && Contains("no \"caption\""));
    CHECK_THAT(error_for(ok + "{\"id\": \"b\", \"caption\": 3}\n"), Contains(at2) && Contains("\"caption\" is a number"));
    CHECK_THAT(error_for(ok + "{\"id\": \"b\", \"caption\": \" \"}\n"), Contains(at2) && Contains("\"caption\" is empty"));
    CHECK_THAT(error_for(ok + "{\"id\": [1], \"caption\": \"y\"}\n"), Contains(at2) && Contains("\"id\" is a array"));
    CHECK_THAT(error_for("{\"guid\": \"a\", \"caption\": \"x\"}\n{\"id\": \"b\", \"caption\": \"y\"}\n",
                         {{"id_key", text("guid")}}),
               Contains(at2) && Contains("no \"guid\""));
    CHECK_THAT(error_for(ok + "\n" + "{\"id\": \"a\", \"caption\": \"z\"}\n"),
               Contains("bad.jsonl:3: ") && Contains("captions-file: id 'a' appears again (first at line 1)"));

    CHECK_THROWS_WITH(make("captions-file", {{"file", text((dir.path() / "absent.jsonl").string())}}),
                      Contains("absent.jsonl' does not exist") && Contains("one {\"id\": ..., \"caption\""));
    CHECK_THAT(error_for(ok, {{"template", text("{text} and nothing else")}}),
               Contains("has no {caption}") && Contains("\"{text} {caption}\""));
    CHECK_THAT(error_for(ok, {{"template", text("{text} {captoin}")}}),
               Contains("unknown placeholder {captoin}") && Contains("accepted: {text}, {caption}"));
    CHECK_THAT(error_for(ok, {{"template", text("{caption} {text")}}), Contains("unclosed '{'"));
}

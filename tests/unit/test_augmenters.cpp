// The caption augmenters: captions-file (JSONL), vlm (an OpenAI-compatible endpoint,
// here a small HTTP server in this file on 127.0.0.1) and clip-tags (the tiny CLIP parity
// checkpoint, checked against a brute-force similarity through the CLIP encoder plugins).
#include "test_helpers.hpp"
#include "vlm_answer.hpp"

#include <msa/media/digest.hpp>

#include <msa/augmenter.hpp>
#include <msa/encoder.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <iostream>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

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
    CHECK(copy.id == source.id + "#" + plugin + "-" + media::sha256_hex(new_text).substr(0, 8));
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

// ---------------------------------------------------------------- vlm

namespace {

std::string base64_decode(const std::string& in, bool& ok) {
    static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    unsigned value = 0;
    int bits = 0;
    ok = in.size() % 4 == 0;
    for (std::size_t i = 0; i < in.size() && ok; ++i) {
        if (in[i] == '=') {
            ok = i + 2 >= in.size();
            continue;
        }
        const auto d = alphabet.find(in[i]);
        if (d == std::string::npos) ok = false;
        value = (value << 6) | static_cast<unsigned>(d);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((value >> bits) & 0xFF);
        }
    }
    return out;
}

// A one-thread HTTP/1.1 server on 127.0.0.1 speaking enough of OpenAI's
// /v1/chat/completions for the vlm plugin. It checks every request as such a server
// would (path, JSON, model, content parts, the image's data URL, the key) and answers
// with a caption made from the decoded image, "a jpeg image of 3480 bytes", so a test can
// tell which caption belongs to which image. Statuses queued with fail_next() are
// answered first; a 401 body echoes the Authorization header, as careless servers do.
class FakeVlmServer {
public:
    explicit FakeVlmServer(std::string key = {}) : key_(std::move(key)) {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(listener_ >= 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = 0; // any free port
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        REQUIRE(::listen(listener_, 64) == 0);
        socklen_t length = sizeof address;
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeVlmServer() {
        stop_ = true;
        thread_.join();
        ::close(listener_);
    }

    std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
    int requests() const { return requests_; }
    void fail_next(std::vector<int> statuses) {
        std::lock_guard<std::mutex> lock(mutex_);
        statuses_.insert(statuses_.end(), statuses.begin(), statuses.end());
    }
    void delay(std::chrono::milliseconds d) { delay_ = d; }
    // Protocol problems seen in requests; a test expects none.
    std::vector<std::string> problems() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return problems_;
    }

private:
    void serve() {
        while (!stop_) {
            pollfd p{listener_, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) continue;
            const int client = ::accept(listener_, nullptr, nullptr);
            if (client < 0) continue;
            handle(client);
            ::close(client);
        }
    }

    void handle(int client) {
        std::string data;
        char chunk[65536];
        std::size_t header_end;
        while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
            const auto n = ::recv(client, chunk, sizeof chunk, 0);
            if (n <= 0) return;
            data.append(chunk, static_cast<std::size_t>(n));
        }
        std::istringstream head(data.substr(0, header_end));
        std::string method, path, line;
        head >> method >> path;
        std::getline(head, line);
        std::map<std::string, std::string> headers;
        while (std::getline(head, line)) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            const auto colon = line.find(':');
            if (colon == std::string::npos) continue;
            std::string name = line.substr(0, colon);
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
            const auto value = line.find_first_not_of(' ', colon + 1);
            headers[name] = value == std::string::npos ? "" : line.substr(value);
        }
        const std::size_t length = headers.count("content-length") ? std::stoul(headers["content-length"]) : 0;
        std::string body = data.substr(header_end + 4);
        while (body.size() < length) {
            const auto n = ::recv(client, chunk, sizeof chunk, 0);
            if (n <= 0) return;
            body.append(chunk, static_cast<std::size_t>(n));
        }
        ++requests_;
        std::this_thread::sleep_for(delay_.load());

        int forced = 0;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!statuses_.empty()) {
                forced = statuses_.front();
                statuses_.pop_front();
            }
        }
        const std::string auth = headers.count("authorization") ? headers["authorization"] : "";
        if (forced == 401 || (!key_.empty() && auth != "Bearer " + key_))
            return respond(client, 401, nlohmann::json{{"error", "invalid key in 'Authorization: " + auth + "'"}}.dump());
        if (forced) return respond(client, forced, "{\"error\": \"forced\"}");
        if (key_.empty() && !auth.empty()) problem("an Authorization header without a key");
        if (method != "POST" || path != "/v1/chat/completions") problem("request to " + method + " " + path);
        const auto request = nlohmann::json::parse(body, nullptr, false);
        std::string caption;
        try {
            caption = caption_for(request);
        } catch (const std::exception& e) {
            problem(e.what());
            return respond(client, 400, "{\"error\": \"bad request\"}");
        }
        // Spaces and a newline around it: the plugin trims.
        const nlohmann::json answer{
            {"id", "chatcmpl-1"},
            {"object", "chat.completion"},
            {"choices",
             {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", "  " + caption + "\n"}}}, {"finish_reason", "stop"}}}}};
        respond(client, 200, answer.dump());
    }

    static std::string caption_for(const nlohmann::json& request) {
        const auto& content = request.at("messages").at(0).at("content");
        if (request.at("messages").at(0).at("role") != "user") throw Error("role is not user");
        if (content.at(0).at("type") != "text" || content.at(0).at("text").get<std::string>().empty())
            throw Error("first part is not the prompt");
        if (content.at(1).at("type") != "image_url") throw Error("second part is not image_url");
        if (!request.at("max_tokens").is_number_integer() || !request.at("temperature").is_number())
            throw Error("max_tokens or temperature missing");
        const std::string url = content.at(1).at("image_url").at("url");
        const std::regex data_url("data:image/(jpeg|png);base64,(.*)");
        std::smatch m;
        if (!std::regex_match(url, m, data_url)) throw Error("not a JPEG or PNG data URL: " + url.substr(0, 40));
        bool ok = false;
        const std::string bytes = base64_decode(m[2], ok);
        if (!ok) throw Error("bad base64");
        const bool jpeg = bytes.rfind("\xFF\xD8\xFF", 0) == 0, png = bytes.rfind("\x89PNG", 0) == 0;
        if ((m[1] == "jpeg" && !jpeg) || (m[1] == "png" && !png)) throw Error("MIME type does not match the bytes");
        return "a " + std::string(m[1]) + " image of " + std::to_string(bytes.size()) + " bytes";
    }

    void problem(const std::string& what) {
        std::lock_guard<std::mutex> lock(mutex_);
        problems_.push_back(what);
    }

    static void respond(int client, int status, const std::string& body) {
        const std::string response = "HTTP/1.1 " + std::to_string(status) + " Status\r\nContent-Type: application/json\r\n" +
                                     "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
                                     body;
        // MSG_NOSIGNAL: a client that timed out and left must not kill the test with SIGPIPE.
        ::send(client, response.data(), response.size(), MSG_NOSIGNAL);
    }

    std::string key_;
    int listener_ = -1;
    int port_ = 0;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<int> requests_{0};
    std::atomic<std::chrono::milliseconds> delay_{std::chrono::milliseconds(0)};
    mutable std::mutex mutex_;
    std::deque<int> statuses_;
    std::vector<std::string> problems_;
};

// A proxy in the environment must not take requests to the local server.
void no_proxy_for_localhost() {
    ::setenv("no_proxy", "127.0.0.1,localhost", 1);
    ::setenv("NO_PROXY", "127.0.0.1,localhost", 1);
}

std::string expected_caption(const std::string& image_name) {
    const bool png = image_name.size() > 4 && image_name.substr(image_name.size() - 4) == ".png";
    return std::string("a ") + (png ? "png" : "jpeg") + " image of " + std::to_string(file_bytes(image(image_name)).size()) +
           " bytes";
}

std::map<std::string, Value> vlm_params(const FakeVlmServer& server, const test::TempDir& cache) {
    return {{"endpoint", text(server.endpoint())},
            {"model", text("test-vlm")},
            {"cache", text(cache.path().string())},
            {"backoff", Value{0.01}}};
}

std::vector<std::filesystem::path> files_in(const std::filesystem::path& folder) {
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(folder))
        if (entry.is_regular_file()) files.push_back(entry.path());
    return files;
}

// Every file's name and bytes.
std::string folder_contents(const std::filesystem::path& folder) {
    std::string all;
    for (const auto& file : files_in(folder)) all += file.string() + "\n" + file_bytes(file) + "\n";
    return all;
}

} // namespace

TEST_CASE("vlm: captions from the endpoint, sent with the key, cached so that a rerun makes no request",
          "[augmenters]") {
    no_proxy_for_localhost();
    const std::string key = "sk-test-0123456789";
    ::setenv("MSA_TEST_VLM_KEY", key.c_str(), 1);
    FakeVlmServer server(key);
    test::TempDir cache;
    auto params = vlm_params(server, cache);
    params["api_key_env"] = text("MSA_TEST_VLM_KEY");
    auto sources = hard_samples();
    sources.push_back({"s3", "no picture", "", 1, ""});

    CaptureStderr err;
    const auto added = make("vlm", params)->augment(sources);
    CHECK(server.problems().empty());
    CHECK(server.requests() == 3);
    REQUIRE(added.size() == 3); // s3 has no image
    check_copy(added[0], sources[0], "vlm", "what a lovely day " + expected_caption("photo.jpg"));
    check_copy(added[1], sources[1], "vlm", "never again " + expected_caption("alpha.png"));
    check_copy(added[2], sources[2], "vlm", expected_caption("grey.jpg"));
    CHECK_THAT(err.text(), Contains("vlm: 3/3 captions: 3 requested from " + server.endpoint() + "/chat/completions") &&
                               Contains("left out 1 of 4 samples without a caption") && Contains("no image: s3"));

    // A new augmenter (a rerun) reads every caption from the cache, whatever the endpoint.
    auto again = params;
    again["endpoint"] = text("http://127.0.0.1:1/v1");
    const auto rerun = make("vlm", again)->augment(sources);
    CHECK(server.requests() == 3);
    REQUIRE(rerun.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(rerun[i].id == added[i].id);
        CHECK(rerun[i].text == added[i].text);
    }
    CHECK_THAT(err.text(), Contains("0 requested from http://127.0.0.1:1/v1/chat/completions, 3 from the cache"));

    // Another prompt is another question: asked again.
    auto other_prompt = params;
    other_prompt["prompt"] = text("Name the main object.");
    make("vlm", other_prompt)->augment({sources[0]});
    CHECK(server.requests() == 4);

    // The key is in no cache file (nor its name).
    const auto entries = files_in(cache.path());
    CHECK(entries.size() == 4); // no temporary file left behind
    for (const auto& entry : entries) CHECK(entry.extension() == ".json");
    const std::string cached = folder_contents(cache.path());
    CHECK_THAT(cached, Contains("image_sha256") && Contains("test-vlm"));
    CHECK(cached.find(key) == std::string::npos);
    ::unsetenv("MSA_TEST_VLM_KEY");
}

TEST_CASE("vlm: connection errors, 429 and 5xx are retried with backoff, 4xx is not, and the key never shows",
          "[augmenters]") {
    no_proxy_for_localhost();
    const std::vector<Sample> one{hard_samples()[0]};
    test::TempDir cache;
    CaptureStderr quiet;

    SECTION("500 then 429 then an answer") {
        FakeVlmServer server;
        server.fail_next({500, 429});
        auto params = vlm_params(server, cache);
        params["retries"] = integer(2);
        const auto added = make("vlm", params)->augment(one);
        CHECK(server.requests() == 3);
        REQUIRE(added.size() == 1);
        CHECK(added[0].text == "what a lovely day " + expected_caption("photo.jpg"));
    }
    SECTION("retries run out") {
        FakeVlmServer server;
        server.fail_next({503, 503, 503});
        auto params = vlm_params(server, cache);
        params["retries"] = integer(1);
        CHECK_THROWS_WITH(make("vlm", params)->augment(one),
                          Contains("vlm: POST " + server.endpoint() + "/chat/completions for sample 's0' failed after 2 "
                                                                      "attempts: HTTP 503: {\"error\": \"forced\"}"));
        CHECK(server.requests() == 2);
    }
    SECTION("401 is final, and the key echoed in its body is redacted") {
        const std::string key = "sk-wrong-key-42";
        ::setenv("MSA_TEST_VLM_KEY", key.c_str(), 1);
        FakeVlmServer server("the-right-key");
        auto params = vlm_params(server, cache);
        params["api_key_env"] = text("MSA_TEST_VLM_KEY");
        params["retries"] = integer(3);
        std::string message;
        try {
            make("vlm", params)->augment(one);
        } catch (const std::exception& e) {
            message = e.what();
        }
        CHECK(server.requests() == 1);
        CHECK_THAT(message, Contains("vlm: POST " + server.endpoint() + "/chat/completions for sample 's0' failed: "
                                                                        "HTTP 401") &&
                                Contains("Bearer [api key]") && Contains("not retried"));
        CHECK(message.find(key) == std::string::npos);
        CHECK(folder_contents(cache.path()).find(key) == std::string::npos);
        ::unsetenv("MSA_TEST_VLM_KEY");
    }
    SECTION("an unreachable endpoint fails after its retries, naming it") {
        int port = 0;
        {
            // A port that was free a moment ago, now closed: connection refused.
            const int s = ::socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in address{};
            address.sin_family = AF_INET;
            address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            ::bind(s, reinterpret_cast<sockaddr*>(&address), sizeof address);
            socklen_t length = sizeof address;
            ::getsockname(s, reinterpret_cast<sockaddr*>(&address), &length);
            port = ntohs(address.sin_port);
            ::close(s);
        }
        const std::string endpoint = "http://127.0.0.1:" + std::to_string(port) + "/v1";
        const auto start = std::chrono::steady_clock::now();
        CHECK_THROWS_WITH(make("vlm", {{"endpoint", text(endpoint)},
                                       {"model", text("m")},
                                       {"cache", text(cache.path().string())},
                                       {"retries", integer(2)},
                                       {"backoff", Value{0.05}},
                                       {"timeout", Value{2.0}}})
                              ->augment(one),
                          Contains("vlm: POST " + endpoint + "/chat/completions for sample 's0' failed after 3 attempts") &&
                              Contains("Couldn't connect to server") && Contains("is the server running"));
        // Waited 0.05 + 0.1 s between the attempts, no more.
        CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    }
    SECTION("a slow server times out") {
        FakeVlmServer server;
        server.delay(std::chrono::milliseconds(600));
        auto params = vlm_params(server, cache);
        params["timeout"] = Value{0.1};
        params["retries"] = integer(0);
        CHECK_THROWS_WITH(make("vlm", params)->augment(one),
                          Contains("for sample 's0' failed after 1 attempt: Timeout was reached"));
    }
}

TEST_CASE("vlm: an answer's content is a string, null or text parts, and anything else is no answer", "[augmenters]") {
    using msa::augmenters::vlm::answer_content;
    CHECK(answer_content(R"({"choices":[{"message":{"content":" A dog. "}}]})") == " A dog. ");
    CHECK(answer_content(R"({"choices":[{"message":{"content":null}}]})") == "");
    // A part whose "type" is not a string is skipped (tests/fuzz found json's type_error here).
    CHECK(answer_content(R"({"choices":[{"message":{"content":[{"type":{"url":"x"}},{"type":"text","text":"A cat"}]}}]})") ==
          "A cat");
    CHECK_FALSE(answer_content(R"({"choices":[]})"));
    CHECK_FALSE(answer_content("not json"));
}

TEST_CASE("vlm: settings are checked before any request", "[augmenters]") {
    test::TempDir cache;
    ::unsetenv("MSA_TEST_VLM_ABSENT");
    auto base = std::map<std::string, Value>{{"endpoint", text("http://localhost:8000/v1")},
                                             {"model", text("m")},
                                             {"cache", text(cache.path().string())}};
    auto with = [&](const std::string& key, Value value) {
        auto params = base;
        params[key] = std::move(value);
        return params;
    };
    CHECK_THROWS_WITH(make("vlm", with("api_key_env", text("MSA_TEST_VLM_ABSENT"))),
                      Contains("the environment variable MSA_TEST_VLM_ABSENT is not set"));
    CHECK_THROWS_WITH(make("vlm", with("endpoint", text("localhost:8000/v1"))),
                      Contains("is not an http:// or https:// URL") && Contains("http://localhost:11434/v1 (Ollama)"));
    CHECK_THROWS_WITH(make("vlm", with("template", text("{text}"))), Contains("has no {caption}"));
    CHECK_THROWS_WITH(make("vlm", with("model", text(" "))), Contains("model is empty"));

    // on_missing = "fail" stops at a sample without an image before asking anything.
    std::vector<Sample> sources{{"x", "t", "", 0, ""}};
    CHECK_THROWS_WITH(make("vlm", with("on_missing", text("fail")))->augment(sources),
                      Contains("vlm: sample 'x' has no caption: no image"));
    sources[0].image_path = (cache.path() / "absent.jpg").string();
    CHECK_THROWS_WITH(make("vlm", base)->augment(sources), Contains("vlm: sample 'x'") && Contains("absent.jpg"));
}

// ---------------------------------------------------------------- clip-tags

namespace {

// Short words whose prompts fit the fixture's 11 positions, so nothing is truncated.
const std::vector<std::string> clip_words{"sad", "joy", "cat", "dog", "sun", "war", "fun", "red", "the", "sky", "sea", "art"};

std::filesystem::path write_vocabulary(const test::TempDir& dir) {
    std::string content = "# test vocabulary\n";
    for (const auto& w : clip_words) content += w + "\n\n";
    return dir.write("vocabulary.txt", content);
}

// The k best words by brute force: every prompt through the clip-text plugin, every image
// through clip-image, cosine similarity of the projected embeddings, sorted.
std::vector<std::string> brute_force_top(const std::vector<Sample>& sources, std::size_t k) {
    const auto checkpoint = test::clip_text_fixture().string();
    auto text_encoder = catalog().create_encoder(
        "clip-text", test::properties(PluginKind::encoder, "clip-text",
                                      {{"checkpoint", text(checkpoint)}, {"max_length", integer(11)}}));
    auto image_encoder = catalog().create_encoder(
        "clip-image", test::properties(PluginKind::encoder, "clip-image", {{"checkpoint", text(checkpoint)}}));
    std::vector<Sample> prompts;
    for (const auto& w : clip_words) prompts.push_back({w, "a " + w, "", -1, ""});
    EncoderBatch text_batch, image_batch;
    for (const auto& p : prompts) text_batch.samples.push_back(&p);
    for (const auto& s : sources) image_batch.samples.push_back(&s);
    const auto words = torch::nn::functional::normalize(text_encoder->encode(text_batch).pooled,
                                                        torch::nn::functional::NormalizeFuncOptions().dim(1));
    const auto images = torch::nn::functional::normalize(image_encoder->encode(image_batch).pooled,
                                                         torch::nn::functional::NormalizeFuncOptions().dim(1));
    const auto similarity = images.matmul(words.t()).to(torch::kDouble);
    std::vector<std::string> captions;
    for (std::int64_t i = 0; i < similarity.size(0); ++i) {
        std::vector<std::pair<double, std::size_t>> scored;
        for (std::size_t w = 0; w < clip_words.size(); ++w)
            scored.emplace_back(-similarity[i][static_cast<std::int64_t>(w)].item<double>(), w);
        std::sort(scored.begin(), scored.end());
        std::string caption;
        for (std::size_t j = 0; j < k; ++j) caption += (j ? ", " : "") + clip_words[scored[j].second];
        captions.push_back(caption);
    }
    return captions;
}

} // namespace

TEST_CASE("clip-tags: the k vocabulary words closest to each image, as a brute-force similarity finds them",
          "[augmenters]") {
    test::TempDir dir;
    const auto vocabulary = write_vocabulary(dir);
    const std::map<std::string, Value> params{{"checkpoint", text(test::clip_text_fixture().string())},
                                              {"vocabulary", text(vocabulary.string())},
                                              {"k", integer(5)},
                                              {"prompt", text("a {}")},
                                              {"batch_size", integer(5)}};
    auto sources = hard_samples();
    sources.push_back({"s3", "no picture", "", 1, ""});
    CaptureStderr err;
    const auto added = make("clip-tags", params)->augment(sources);
    REQUIRE(added.size() == 3);
    CHECK_THAT(err.text(), Contains("clip-tags: left out 1 of 4 samples without a caption") && Contains("no image: s3"));

    const auto expected = brute_force_top({sources[0], sources[1], sources[2]}, 5);
    check_copy(added[0], sources[0], "clip-tags", "what a lovely day " + expected[0]);
    check_copy(added[1], sources[1], "clip-tags", "never again " + expected[1]);
    check_copy(added[2], sources[2], "clip-tags", expected[2]);
    // Five different vocabulary words each; the tiny random model ranks the words alike
    // for every image, but the first two images part at the fifth word.
    for (const auto& caption : expected) {
        std::set<std::string> words;
        std::istringstream in(caption);
        for (std::string w; std::getline(in >> std::ws, w, ',');) words.insert(w);
        CHECK(words.size() == 5);
        for (const auto& w : words) CHECK(std::count(clip_words.begin(), clip_words.end(), w) == 1);
    }
    CHECK(expected[0] != expected[1]);

    // Deterministic: another instance, another batch size, the same copies.
    auto again = params;
    again["batch_size"] = integer(1);
    const auto rerun = make("clip-tags", again)->augment(sources);
    REQUIRE(rerun.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) CHECK(rerun[i].id == added[i].id);
}

TEST_CASE("clip-tags: the built-in vocabulary, and clear errors for a missing checkpoint or vocabulary",
          "[augmenters]") {
    const auto checkpoint = test::clip_text_fixture().string();
    const auto added = make("clip-tags", {{"checkpoint", text(checkpoint)}, {"k", integer(4)}})->augment(hard_samples());
    REQUIRE(added.size() == 3);
    std::ifstream in(std::filesystem::path(MSA_SOURCE_DIR) / "plugins" / "augmenters" / "clip_tags_vocabulary.txt");
    std::set<std::string> builtin;
    for (std::string line; std::getline(in, line);)
        if (!line.empty() && line[0] != '#') builtin.insert(line);
    CHECK(builtin.size() > 200);
    const std::string tags = added[0].text.substr(std::string("what a lovely day ").size());
    std::size_t count = 0;
    std::istringstream words(tags);
    for (std::string w; std::getline(words >> std::ws, w, ','); ++count) CHECK(builtin.count(w) == 1);
    CHECK(count == 4);

    test::TempDir dir;
    CHECK_THROWS_WITH(make("clip-tags", {{"checkpoint", text((dir.path() / "no-clip").string())}}),
                      Contains("clip-tags: checkpoint folder '" + (dir.path() / "no-clip").string() +
                               "' does not exist") &&
                          Contains("openai/clip-vit-base-patch32"));
    // A ConfigError, which a study reports as a skipped phase.
    CHECK_THROWS_AS(make("clip-tags", {{"checkpoint", text((dir.path() / "no-clip").string())}}), ConfigError);
    CHECK_THROWS_WITH(make("clip-tags", {{"checkpoint", text(checkpoint)},
                                         {"vocabulary", text((dir.path() / "absent.txt").string())}}),
                      Contains("vocabulary file '" + (dir.path() / "absent.txt").string() + "' cannot be read"));
    const auto two = dir.write("two.txt", "sad\n# happy\nsun\n");
    CHECK_THROWS_WITH(make("clip-tags", {{"checkpoint", text(checkpoint)}, {"vocabulary", text(two.string())}}),
                      Contains("k = 5 but the vocabulary has 2 words"));
    const auto twice = dir.write("twice.txt", "sad\nsun\n sad \n");
    CHECK_THROWS_WITH(make("clip-tags", {{"checkpoint", text(checkpoint)}, {"vocabulary", text(twice.string())}}),
                      Contains("twice.txt:3") && Contains("\"sad\" is in the vocabulary twice (first at line 1)"));
    CHECK_THROWS_WITH(make("clip-tags", {{"checkpoint", text(checkpoint)}, {"prompt", text("a photo")}}),
                      Contains("has no {} where the word goes"));
}

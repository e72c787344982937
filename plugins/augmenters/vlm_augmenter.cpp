// vlm: captions from a vision-language model behind an OpenAI-compatible
// /v1/chat/completions endpoint (vLLM, Ollama, llama.cpp's server, hosted APIs), over
// libcurl, with an on-disk cache so that a rerun of a study makes no requests at all.
//
// | parameter   | type   | default                 | meaning                                         |
// | endpoint    | string | (required)              | base URL, e.g. http://localhost:8000/v1         |
// | model       | string | (required)              | the model name the server knows                 |
// | prompt      | string | one neutral sentence    | the instruction sent with each image            |
// | api_key_env | string | "" (no key)             | environment variable holding the API key        |
// | timeout     | float  | 120                     | seconds per request                             |
// | retries     | int    | 3                       | extra attempts after connection errors, 429, 5xx |
// | backoff     | float  | 1                       | seconds before the first retry; doubles each time |
// | max_tokens  | int    | 60                      | longest caption, in tokens                      |
// | temperature | float  | 0                       | sampling temperature                            |
// | cache       | path   | "" (user cache folder)  | folder of cached answers                        |
// | concurrency | int    | 4                       | requests in flight at once                      |
// | template, on_missing: see msa/caption_augmenter.hpp                                         |
//
// The API key is read from the environment once and lives only in memory: it is never
// logged, never part of an error message (a body excerpt that echoes it is redacted) and
// never written to the cache, whose key does not depend on the endpoint either.

#include <msa/caption_augmenter.hpp>
#include <msa/media/image.hpp>
#include <msa/plugin.hpp>

#include "vlm_answer.hpp"

#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h> // base64 of the image

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

namespace {

namespace fs = std::filesystem;
using msa::Sample;
using msa::augmenters::Caption;
using msa::media::sha256_hex;
using msa::augmenters::trim;
using Clock = std::chrono::steady_clock;

const char* const default_prompt =
    "Describe this image in one short, neutral sentence: what it shows, without guessing at anyone's feelings.";

// The same rule as the feature store's default folder: ${XDG_CACHE_HOME:-$HOME/.cache}/msa-workbench/...
fs::path default_cache_folder(const std::string& where) {
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg && fs::path(xdg).is_absolute())
        return fs::path(xdg) / "msa-workbench" / "vlm";
    if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "msa-workbench" / "vlm";
    throw msa::ConfigError(where, "vlm: neither XDG_CACHE_HOME nor HOME is set, so there is no default cache folder; "
                                  "set `cache` to a folder");
}

std::string base64(const std::string& bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

const char* mime_type(msa::media::ImageFormat format) {
    switch (format) {
    case msa::media::ImageFormat::jpeg: return "image/jpeg";
    case msa::media::ImageFormat::png: return "image/png";
    case msa::media::ImageFormat::gif: return "image/gif";
    case msa::media::ImageFormat::webp: return "image/webp";
    default: return nullptr; // BMP and unknown: not among the formats these APIs take
    }
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (!in) throw msa::Error("cannot read " + path);
    return bytes.str();
}

// libcurl's global state, set up once per process; never cleaned up, as the library
// stays loaded until exit.
void init_curl() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            throw msa::Error("vlm: libcurl failed to initialise (curl_global_init)");
    });
}

struct Settings {
    std::string url; // endpoint + "/chat/completions"
    std::string model;
    std::string prompt;
    std::string api_key; // empty: no Authorization header
    long timeout_ms = 0;
    std::int64_t retries = 0;
    double backoff = 0;
    std::int64_t max_tokens = 0;
    double temperature = 0;
    fs::path cache;
    std::int64_t concurrency = 1;
};

struct HttpResult {
    CURLcode code = CURLE_OK;
    long status = 0;
    std::string body;
    std::string error;    // libcurl's message when code != CURLE_OK
    double retry_after = 0; // seconds, from a Retry-After header
};

// One connection per worker thread, kept alive between requests.
class HttpClient {
public:
    HttpClient() : curl_(curl_easy_init()) {
        if (!curl_) throw msa::Error("vlm: libcurl could not create a handle (curl_easy_init)");
    }
    ~HttpClient() { curl_easy_cleanup(curl_); }
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    HttpResult post_json(const Settings& s, const std::string& body) {
        HttpResult result;
        char error[CURL_ERROR_SIZE] = {0};
        curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
        // No "Expect: 100-continue" round trip for large bodies (an image is one).
        headers = curl_slist_append(headers, "Expect:");
        if (!s.api_key.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + s.api_key).c_str());
        curl_easy_setopt(curl_, CURLOPT_URL, s.url.c_str());
        curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
        curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, s.timeout_ms);
        curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L); // several threads: no SIGALRM for timeouts
        curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error);
        curl_easy_setopt(curl_, CURLOPT_USERAGENT, "msa-workbench-vlm/1");
        curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &HttpClient::append);
        curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &result.body);
        result.code = curl_easy_perform(curl_);
        curl_slist_free_all(headers);
        if (result.code == CURLE_OK) {
            curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &result.status);
            curl_off_t retry_after = 0;
            if (curl_easy_getinfo(curl_, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0)
                result.retry_after = static_cast<double>(retry_after);
        } else {
            result.error = *error ? error : curl_easy_strerror(result.code);
        }
        // The handle keeps the options; the next request sets them all again.
        curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, nullptr);
        curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, nullptr);
        return result;
    }

private:
    static std::size_t append(char* data, std::size_t size, std::size_t count, void* out) {
        static_cast<std::string*>(out)->append(data, size * count);
        return size * count;
    }
    CURL* curl_;
};

class VlmAugmenter final : public msa::augmenters::CaptionAugmenter {
public:
    explicit VlmAugmenter(const msa::Properties& props) : CaptionAugmenter(props, "vlm") {
        std::string endpoint = trim(props.get_string("endpoint"));
        if (endpoint.rfind("http://", 0) != 0 && endpoint.rfind("https://", 0) != 0)
            throw msa::ConfigError(props.where("endpoint"),
                                   "vlm: endpoint \"" + endpoint +
                                       "\" is not an http:// or https:// URL; expected the API's base URL, e.g. "
                                       "http://localhost:8000/v1 (vLLM), http://localhost:11434/v1 (Ollama)");
        while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
        // The base URL, as OpenAI clients take it; a full URL is accepted as it is.
        const std::string path = "/chat/completions";
        s_.url = endpoint.size() >= path.size() && endpoint.compare(endpoint.size() - path.size(), path.size(), path) == 0
                     ? endpoint
                     : endpoint + path;
        s_.model = props.get_string("model");
        if (trim(s_.model).empty())
            throw msa::ConfigError(props.where("model"), "vlm: model is empty; name the model the server serves");
        s_.prompt = props.get_string("prompt");
        if (trim(s_.prompt).empty())
            throw msa::ConfigError(props.where("prompt"), "vlm: prompt is empty; say what the caption should be");
        const std::string key_env = props.get_string("api_key_env");
        if (!key_env.empty()) {
            const char* key = std::getenv(key_env.c_str());
            if (!key || !*key)
                throw msa::ConfigError(props.where("api_key_env"),
                                       "vlm: api_key_env = \"" + key_env + "\" but the environment variable " + key_env +
                                           " is not set or empty; export it, or set api_key_env = \"\" for an "
                                           "endpoint without a key");
            s_.api_key = key;
        }
        s_.timeout_ms = std::lround(props.get_real("timeout") * 1000);
        s_.retries = props.get_int("retries");
        s_.backoff = props.get_real("backoff");
        s_.max_tokens = props.get_int("max_tokens");
        s_.temperature = props.get_real("temperature");
        const std::string cache = props.get_string("cache");
        s_.cache = cache.empty() ? default_cache_folder(props.where("cache")) : fs::path(cache);
        s_.concurrency = props.get_int("concurrency");
        init_curl();
    }

protected:
    std::vector<Caption> captions(const std::vector<Sample>& sources) override {
        std::vector<Caption> out(sources.size());
        // First what needs no model: samples without a usable image (on_missing = "fail"
        // stops here, before any request).
        std::vector<std::pair<std::size_t, const char*>> jobs; // source index, MIME type
        for (std::size_t i = 0; i < sources.size(); ++i) {
            const Sample& source = sources[i];
            if (source.image_path.empty()) {
                out[i] = none(source, "no image");
                continue;
            }
            msa::media::ImageInfo info;
            try {
                info = msa::media::probe_image(source.image_path);
            } catch (const std::exception& e) {
                throw msa::Error("vlm: sample '" + source.id + "': " + e.what());
            }
            if (const char* mime = mime_type(info.format)) {
                jobs.emplace_back(i, mime);
            } else {
                out[i] = none(source, std::string("a ") + msa::media::to_string(info.format) +
                                          " image, which is not sent (accepted: JPEG, PNG, GIF, WebP)");
            }
        }
        run_jobs(sources, jobs, out);
        return out;
    }

private:
    // Runs the jobs on `concurrency` threads. The first error stops the others (after
    // their request in flight) and is rethrown.
    void run_jobs(const std::vector<Sample>& sources, const std::vector<std::pair<std::size_t, const char*>>& jobs,
                  std::vector<Caption>& out) {
        const auto start = Clock::now();
        std::atomic<std::size_t> next{0}, done{0}, from_cache{0};
        std::atomic<bool> stop{false};
        std::exception_ptr error;
        std::mutex mutex; // error and stderr
        auto last_report = start;
        auto work = [&] {
            try {
                HttpClient client;
                for (std::size_t j; !stop && (j = next++) < jobs.size();) {
                    const auto [index, mime] = jobs[j];
                    bool cached = false;
                    const std::string caption = caption_of(client, sources[index], mime, stop, cached);
                    out[index] = caption.empty() ? none(sources[index], "the model answered with an empty caption")
                                                 : Caption{caption, {}};
                    if (cached) ++from_cache;
                    const std::size_t n = ++done;
                    std::lock_guard<std::mutex> lock(mutex);
                    if (n < jobs.size() && Clock::now() - last_report > std::chrono::seconds(2)) {
                        last_report = Clock::now();
                        std::cerr << "vlm: " << n << "/" << jobs.size() << " captions (" << from_cache
                                  << " from the cache)\n";
                    }
                }
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex);
                if (!error) error = std::current_exception();
                stop = true;
            }
        };
        const auto threads = static_cast<std::size_t>(std::min<std::int64_t>(
            s_.concurrency, static_cast<std::int64_t>(std::max<std::size_t>(jobs.size(), 1))));
        std::vector<std::thread> pool;
        for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work);
        work();
        for (auto& thread : pool) thread.join();
        if (error) std::rethrow_exception(error);
        if (!jobs.empty()) {
            const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
            std::ostringstream line;
            line.precision(3);
            line << "vlm: " << jobs.size() << "/" << jobs.size() << " captions: " << jobs.size() - from_cache
                 << " requested from " << s_.url << ", " << from_cache << " from the cache " << s_.cache.string()
                 << " (" << seconds << " s)\n";
            std::cerr << line.str();
        }
    }

    // The caption of one image: from the cache, else from the endpoint (then cached).
    std::string caption_of(HttpClient& client, const Sample& source, const char* mime, const std::atomic<bool>& stop,
                           bool& cached) const {
        std::string bytes;
        try {
            bytes = read_file(source.image_path);
        } catch (const std::exception& e) {
            throw msa::Error("vlm: sample '" + source.id + "': " + e.what());
        }
        const std::string image_digest = sha256_hex(bytes);
        // Everything that changes the answer, and nothing else: not the endpoint (the same
        // model served elsewhere gives the same captions) and never the key.
        std::string material;
        for (const std::string& part : {std::string("msa-vlm-cache-1"), s_.model, s_.prompt,
                                        std::to_string(s_.max_tokens), msa::format_value(msa::Value{s_.temperature}),
                                        image_digest})
            material += part + '\0';
        const fs::path file = s_.cache / (sha256_hex(material) + ".json");
        if (auto hit = read_cache(file)) {
            cached = true;
            return *hit;
        }
        nlohmann::json request{
            {"model", s_.model},
            {"messages",
             {{{"role", "user"},
               {"content",
                {{{"type", "text"}, {"text", s_.prompt}},
                 {{"type", "image_url"},
                  {"image_url", {{"url", std::string("data:") + mime + ";base64," + base64(bytes)}}}}}}}}},
            {"max_tokens", s_.max_tokens},
            {"temperature", s_.temperature},
            {"stream", false}};
        const std::string answer = request_caption(client, source, request.dump(), stop);
        write_cache(file, {{"caption", answer},
                           {"model", s_.model},
                           {"prompt", s_.prompt},
                           {"max_tokens", s_.max_tokens},
                           {"temperature", s_.temperature},
                           {"image_sha256", image_digest}});
        return answer;
    }

    // POSTs with retries on connection errors, 429 and 5xx (waiting backoff, 2 backoff,
    // ..., or the server's Retry-After); any other status is final.
    std::string request_caption(HttpClient& client, const Sample& source, const std::string& body,
                                const std::atomic<bool>& stop) const {
        const std::string who = "vlm: POST " + s_.url + " for sample '" + source.id + "'";
        for (std::int64_t attempt = 0;; ++attempt) {
            const HttpResult r = client.post_json(s_, body);
            const bool transport_error = r.code != CURLE_OK;
            if (!transport_error && r.status >= 200 && r.status < 300) return parse_answer(who, r);
            // A malformed URL or an unsupported scheme will not get better.
            const bool permanent = r.code == CURLE_URL_MALFORMAT || r.code == CURLE_UNSUPPORTED_PROTOCOL;
            const bool retryable = transport_error ? !permanent : r.status == 429 || r.status >= 500;
            const std::string what =
                transport_error ? std::string(curl_easy_strerror(r.code)) + " (" + redact(r.error) + ")"
                                : "HTTP " + std::to_string(r.status) + ": " + excerpt(r.body);
            if (!retryable)
                throw msa::Error(who + " failed: " + what +
                                 (transport_error                          ? ""
                                  : r.status == 401 || r.status == 403 ? " (not retried; check the key api_key_env names)"
                                                                           : " (not retried: the request was refused)"));
            if (attempt >= s_.retries || stop)
                throw msa::Error(who + " failed after " + std::to_string(attempt + 1) + " attempt" +
                                 (attempt ? "s" : "") + ": " + what +
                                 (r.code == CURLE_COULDNT_CONNECT ? "; is the server running at that address?" : ""));
            double wait = std::min(s_.backoff * std::pow(2.0, static_cast<double>(attempt)), 60.0);
            if (r.retry_after > 0) wait = std::min(r.retry_after, 300.0);
            std::this_thread::sleep_for(std::chrono::duration<double>(wait));
        }
    }

    std::string parse_answer(const std::string& who, const HttpResult& r) const {
        const std::optional<std::string> content = msa::augmenters::vlm::answer_content(r.body);
        if (!content)
            throw msa::Error(who + ": HTTP " + std::to_string(r.status) +
                             " without choices[0].message.content, as an OpenAI-compatible "
                             "/chat/completions answers: " + excerpt(r.body));
        return trim(*content);
    }

    // What a body says, short, on one line and without the key (a server may echo the
    // request's headers in an error page).
    std::string excerpt(const std::string& body) const {
        std::string out = redact(body.substr(0, 300));
        std::replace_if(out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
        if (body.size() > 300) out += "...";
        return out.empty() ? "(empty body)" : out;
    }

    std::string redact(std::string text) const {
        if (s_.api_key.empty()) return text;
        for (std::size_t at; (at = text.find(s_.api_key)) != std::string::npos;)
            text.replace(at, s_.api_key.size(), "[api key]");
        return text;
    }

    static std::optional<std::string> read_cache(const fs::path& file) {
        std::ifstream in(file, std::ios::binary);
        if (!in) return std::nullopt;
        // An unreadable entry is asked for again and replaced.
        return msa::augmenters::vlm::cached_caption(in);
    }

    // Atomically (a temporary file, then rename), so that a killed run or a parallel
    // trial never leaves a half-written entry.
    void write_cache(const fs::path& file, const nlohmann::json& entry) const {
        std::error_code ec;
        fs::create_directories(s_.cache, ec);
        const fs::path temporary = file.string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                                   std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
        {
            std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
            out << entry.dump(2) << "\n";
            if (!out.flush())
                throw msa::Error("vlm: cannot write the cache entry " + temporary.string() +
                                 "; is the cache folder writable? (set `cache` to another folder)");
        }
        fs::rename(temporary, file, ec);
        if (ec) {
            fs::remove(temporary, ec);
            throw msa::Error("vlm: cannot move the cache entry into place at " + file.string() + ": " + ec.message());
        }
    }

    Settings s_;
};

void register_plugins(msa::Registry& registry) {
    std::vector<msa::ParamSpec> params{
        msa::ParamSpec::string("endpoint", "",
                               "Base URL of an OpenAI-compatible API, e.g. http://localhost:8000/v1 (vLLM), "
                               "http://localhost:11434/v1 (Ollama), http://localhost:8080/v1 (llama.cpp server)")
            .required(),
        msa::ParamSpec::string("model", "", "Model name, as the server knows it").required(),
        msa::ParamSpec::string("prompt", default_prompt, "Instruction sent with each image"),
        msa::ParamSpec::string("api_key_env", "",
                               "Environment variable holding the API key, sent as a Bearer token; empty = no key. "
                               "The key is never logged or written anywhere"),
        msa::ParamSpec::real("timeout", 120, "Seconds allowed for one request").range(0.1, 86400),
        msa::ParamSpec::integer("retries", 3, "Extra attempts after a connection error, HTTP 429 or 5xx (never 4xx)")
            .range(0, 100),
        msa::ParamSpec::real("backoff", 1, "Seconds before the first retry; doubles with each retry (Retry-After wins)")
            .range(0, 600),
        msa::ParamSpec::integer("max_tokens", 60, "Longest caption, in tokens").range(1, 100000),
        msa::ParamSpec::real("temperature", 0, "Sampling temperature (0: the most likely caption)").range(0, 2),
        msa::ParamSpec::path("cache", "",
                             "Folder of cached answers (one JSON file each); empty = "
                             "${XDG_CACHE_HOME:-~/.cache}/msa-workbench/vlm"),
        msa::ParamSpec::integer("concurrency", 4, "Requests in flight at once").range(1, 256)};
    for (auto& spec : msa::augmenters::caption_params()) params.push_back(std::move(spec));
    registry.add_augmenter(
        {"vlm", "Caption-enriched copies with captions from a vision-language model (OpenAI-compatible endpoint).",
         params},
        [](const msa::Properties& props) { return std::make_shared<VlmAugmenter>(props); });
}

} // namespace

MSA_PLUGIN(register_plugins)

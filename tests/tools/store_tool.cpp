// A feature-store writer and checker for the crash and concurrency tests
// (tests/integration/test_store_crash.sh). Every value is a function of its id, so any
// stored row can be checked without knowing who wrote it.
//
//   msa_store_tool write FILE --prefix P --count N [--start S] [--batch B] [--dim D]
//       [--length T --token-dim E] [--dtype float32|float16] [--compression L]
//       [--plugin NAME] [--version V] [--cache-key C] [--key K] [--delay-ms M] [--crash-at-write W]
//     appends ids P-S .. P-(S+N-1) in batches, skipping stored ones (missing()), and prints
//     "committed ID ID ..." (flushed) after each append that returned. --crash-at-write
//     tears the W-th journal/store write of this process and SIGKILLs it.
//   msa_store_tool check FILE [--key K | --plugin/--version/--cache-key] [--committed LIST]
//       [--expect-count N]
//     verify() must pass, every id in LIST ("committed ..." lines) must be stored, and
//     every stored row must hold its id's values. Exit 0 when all holds.
//   msa_store_tool time-read FILE [--rows N] [--dim D] [--dtype T] [--compression L] [--repeat R]
//     writes N x D normal random features (batches of 64), then prints the median
//     seconds of reading them all back in shuffled order.
#include "store/feature_store.hpp"
#include "store/rollback_journal.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Args = std::map<std::string, std::string>;

std::string get(const Args& args, const std::string& name, const std::string& fallback) {
    const auto it = args.find(name);
    return it == args.end() ? fallback : it->second;
}
std::int64_t get_int(const Args& args, const std::string& name, std::int64_t fallback) {
    return std::stoll(get(args, name, std::to_string(fallback)));
}

std::uint64_t hash(const std::string& s) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

// k/256 with |k| < 256: exact in float16 and float32.
float value(const std::string& id, std::uint64_t index) {
    const std::uint64_t h = hash(id) + index * 2654435761ull;
    return float(std::int64_t((h ^ (h >> 29)) % 511) - 255) / 256.0f;
}

std::string key_of(const Args& args) {
    if (args.count("--key")) return args.at("--key");
    return msa::encoder_key(get(args, "--plugin", "test-encoder"), get(args, "--version", "1"),
                            get(args, "--cache-key", "default"));
}

int write(const std::string& file, const Args& args) {
    const std::string prefix = get(args, "--prefix", "id");
    const std::int64_t start = get_int(args, "--start", 0), count = get_int(args, "--count", 100);
    const std::int64_t batch_size = get_int(args, "--batch", 16), dim = get_int(args, "--dim", 32);
    const std::int64_t length = get_int(args, "--length", 0), token_dim = get_int(args, "--token-dim", 0);
    const std::int64_t delay_ms = get_int(args, "--delay-ms", 0);
    msa::FeatureStore store(file, {get(args, "--dtype", "float32"), int(get_int(args, "--compression", 4))});
    const msa::EncoderMeta meta{get(args, "--plugin", "test-encoder"), get(args, "--version", "1"),
                                get(args, "--cache-key", "default"), R"({"dim":)" + std::to_string(dim) + "}"};
    const std::string key = key_of(args);
    bool armed = false;
    for (std::int64_t begin = start; begin < start + count; begin += batch_size) {
        std::vector<std::string> ids;
        for (std::int64_t i = begin; i < std::min(begin + batch_size, start + count); ++i)
            ids.push_back(prefix + "-" + std::to_string(i));
        ids = store.missing(key, ids);
        if (ids.empty()) continue;
        const std::size_t n = ids.size();
        std::vector<float> pooled(n * std::size_t(dim)), tokens(n * std::size_t(length * token_dim)),
            mask(n * std::size_t(length));
        for (std::size_t r = 0; r < n; ++r) {
            for (std::int64_t j = 0; j < dim; ++j) pooled[r * std::size_t(dim) + std::size_t(j)] = value(ids[r], std::uint64_t(j));
            for (std::int64_t j = 0; j < length * token_dim; ++j)
                tokens[r * std::size_t(length * token_dim) + std::size_t(j)] = value(ids[r], 100000 + std::uint64_t(j));
            for (std::int64_t t = 0; t < length; ++t)
                mask[r * std::size_t(length) + std::size_t(t)] = float(std::uint64_t(t) <= hash(ids[r]) % std::uint64_t(length));
        }
        msa::FeatureView view;
        view.rows = std::int64_t(n);
        view.dim = dim;
        view.pooled = pooled.data();
        if (length > 0) {
            view.length = length;
            view.token_dim = token_dim;
            view.tokens = tokens.data();
            view.mask = mask.data();
        }
        if (!armed && args.count("--crash-at-write")) {
            msa::rollback_journal::arm_crash_for_testing(long(get_int(args, "--crash-at-write", 0)));
            armed = true;
        }
        store.append(key, meta, ids, view);
        std::ostringstream line;
        line << "committed";
        for (const auto& id : ids) line << ' ' << id;
        std::cout << line.str() << std::endl; // flushed: the test reads it after a kill
        if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    }
    std::cout << "done" << std::endl;
    return 0;
}

int check(const std::string& file, const Args& args) {
    msa::FeatureStore store(file);
    const auto report = store.verify();
    if (!report.ok()) {
        for (const auto& p : report.problems) std::cerr << "verify: " << p.key << ": " << p.message << "\n";
        return 1;
    }
    const std::string key = key_of(args);
    const auto stored = store.ids(key);
    std::size_t committed = 0;
    if (args.count("--committed")) {
        std::ifstream in(args.at("--committed"));
        std::vector<std::string> wanted;
        for (std::string line; std::getline(in, line);) {
            std::istringstream words(line);
            std::string word;
            if (!(words >> word) || word != "committed") continue;
            while (words >> word) wanted.push_back(word);
        }
        const auto lost = store.missing(key, wanted);
        if (!lost.empty()) {
            std::cerr << lost.size() << " committed ids are not in the store, e.g. " << lost.front() << "\n";
            return 1;
        }
        committed = wanted.size();
    }
    if (args.count("--expect-count") && std::int64_t(stored.size()) != get_int(args, "--expect-count", 0)) {
        std::cerr << "the group holds " << stored.size() << " ids, expected " << args.at("--expect-count") << "\n";
        return 1;
    }
    if (!stored.empty()) {
        const auto features = store.read_arrays(key, stored);
        for (std::size_t r = 0; r < stored.size(); ++r) {
            for (std::int64_t j = 0; j < features.dim; ++j)
                if (features.pooled[r * std::size_t(features.dim) + std::size_t(j)] != value(stored[r], std::uint64_t(j))) {
                    std::cerr << "wrong pooled value for id " << stored[r] << " column " << j << "\n";
                    return 1;
                }
            const std::size_t row = std::size_t(features.length * features.token_dim);
            for (std::size_t j = 0; j < row; ++j)
                if (features.tokens[r * row + j] != value(stored[r], 100000 + j)) {
                    std::cerr << "wrong token value for id " << stored[r] << " element " << j << "\n";
                    return 1;
                }
            for (std::int64_t t = 0; t < features.length; ++t)
                if (features.mask[r * std::size_t(features.length) + std::size_t(t)] !=
                    float(std::uint64_t(t) <= hash(stored[r]) % std::uint64_t(features.length))) {
                    std::cerr << "wrong mask for id " << stored[r] << "\n";
                    return 1;
                }
        }
    }
    std::cout << "ok: " << stored.size() << " ids stored, " << committed << " committed ids present\n";
    return 0;
}

int time_read(const std::string& file, const Args& args) {
    const std::int64_t rows = get_int(args, "--rows", 4869), dim = get_int(args, "--dim", 768);
    msa::FeatureStore store(file, {get(args, "--dtype", "float32"), int(get_int(args, "--compression", 4))});
    const msa::EncoderMeta meta{"time-read", "1", "random", "{}"};
    const std::string key = msa::encoder_key(meta);
    std::mt19937 rng(7);
    std::normal_distribution<float> normal;
    std::vector<std::string> ids;
    const auto write_start = std::chrono::steady_clock::now();
    for (std::int64_t begin = 0; begin < rows; begin += 64) {
        const std::int64_t n = std::min<std::int64_t>(64, rows - begin);
        std::vector<std::string> batch;
        std::vector<float> pooled(std::size_t(n * dim));
        for (auto& x : pooled) x = normal(rng);
        for (std::int64_t i = 0; i < n; ++i) batch.push_back(std::to_string(1000000 + begin + i));
        msa::FeatureView view;
        view.rows = n;
        view.dim = dim;
        view.pooled = pooled.data();
        store.append(key, meta, batch, view);
        ids.insert(ids.end(), batch.begin(), batch.end());
    }
    const double write_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - write_start).count();
    std::shuffle(ids.begin(), ids.end(), rng);
    std::vector<double> runs;
    for (std::int64_t r = 0; r < get_int(args, "--repeat", 5); ++r) {
        const auto start = std::chrono::steady_clock::now();
        const auto features = store.read_arrays(key, ids);
        runs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        if (features.rows != rows) return 1;
    }
    std::sort(runs.begin(), runs.end());
    std::cout << "rows " << rows << " dim " << dim << " dtype " << get(args, "--dtype", "float32") << " compression "
              << get(args, "--compression", "4") << ": write " << write_seconds << " s, file "
              << std::filesystem::file_size(file) << " bytes, read median " << runs[runs.size() / 2] << " s (min "
              << runs.front() << ", max " << runs.back() << ")\n";
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::cerr << "usage: msa_store_tool write|check FILE [--option value]...\n";
        return 2;
    }
    Args args;
    for (int i = 3; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
    try {
        const std::string command = argv[1];
        if (command == "write") return write(argv[2], args);
        if (command == "check") return check(argv[2], args);
        if (command == "time-read") return time_read(argv[2], args);
        std::cerr << "unknown command " << command << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "msa_store_tool: " << e.what() << "\n";
        return 1;
    }
}

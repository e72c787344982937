// Benchmarks run by tests/bench/bench_*.sh (CTest label bench):
//   msa_bench images DIR [--threads N] [--size S] [--repeat R]   decode + preprocess *.jpg
//   msa_bench store [--rows N] [--dim D] [--dtype T] [--repeat R] read N x D features
//   msa_bench encoder MANIFEST MODALITY [--limit N] [--repeat R] [--out PREFIX]
//       encode the manifest's first N samples with its MODALITY encoder; PREFIX.f32
//       (pooled rows, float32) and PREFIX.jsonl (id, text, image per row) let a
//       reference implementation encode the same samples and compare
// Each prints one JSON object with the median of R runs.
#include "cli/commands.hpp"
#include "data/dataset_reader.hpp"
#include "manifest/manifest_reader.hpp"
#include "store/feature_store.hpp"
#include "util/heap_policy.hpp"
#include "util/omp_wait_policy.hpp"

#include <msa/encoder.hpp>

#include <msa/media/image.hpp>
#include <msa/media/image_processor.hpp>
#include <msa/models/cpu_features.hpp>

#include <nlohmann/json.hpp>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include <unistd.h>

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// Every result says which CPU it ran on: the machines differ (AVX2 only, or AVX-512 with
// native BF16), and so do their figures.
nlohmann::json cpu_json() {
    const msa::models::CpuFeatures& cpu = msa::models::cpu_features();
    return {{"model", cpu.model}, {"flags", cpu.flags()}, {"native_bf16", cpu.native_bf16()}};
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::string option(const std::vector<std::string>& args, const std::string& name, const std::string& fallback) {
    auto it = std::find(args.begin(), args.end(), name);
    return it != args.end() && it + 1 != args.end() ? *(it + 1) : fallback;
}

// ViTImageProcessor's pipeline at size x size: what an image encoder does per image.
int bench_images(const fs::path& folder, const std::vector<std::string>& args) {
    const int threads = std::stoi(option(args, "--threads", "1"));
    const int size = std::stoi(option(args, "--size", "224"));
    const int repeat = std::stoi(option(args, "--repeat", "3"));
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(folder))
        if (entry.path().extension() == ".jpg") files.push_back(entry.path().string());
    std::sort(files.begin(), files.end());
    msa::media::ImageProcessorOptions options;
    options.size = {size, size};
    std::vector<double> runs;
    for (int r = 0; r < repeat; ++r) {
        const auto start = Clock::now();
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t)
            workers.emplace_back([&, t] {
                std::vector<float> pixels(3 * static_cast<std::size_t>(size) * size);
                for (std::size_t i = t; i < files.size(); i += threads)
                    msa::media::preprocess_into(msa::media::decode_image(files[i]), options, pixels.data());
            });
        for (auto& worker : workers) worker.join();
        runs.push_back(seconds_since(start));
    }
    const double seconds = median(runs);
    std::cout << nlohmann::json{{"benchmark", "images"}, {"cpu", cpu_json()}, {"images", files.size()}, {"threads", threads},
                                {"size", size}, {"seconds", seconds}, {"images_per_second", files.size() / seconds}}
              << "\n";
    return 0;
}

int bench_store(const std::vector<std::string>& args) {
    const std::int64_t rows = std::stoll(option(args, "--rows", "4869"));
    const std::int64_t dim = std::stoll(option(args, "--dim", "768"));
    const std::string dtype = option(args, "--dtype", "float32");
    const int repeat = std::stoi(option(args, "--repeat", "5"));
    const fs::path file = fs::temp_directory_path() / ("msa-bench-store-" + std::to_string(::getpid()) + ".h5");
    msa::FeatureStore store(file, {dtype, 4});
    const msa::EncoderMeta meta{"bench", "1", "rows=" + std::to_string(rows), "{}"};
    const std::string key = msa::encoder_key(meta);
    std::mt19937 rng(7);
    std::normal_distribution<float> normal;
    std::vector<std::string> ids;
    constexpr std::int64_t batch = 256;
    for (std::int64_t begin = 0; begin < rows; begin += batch) {
        const std::int64_t n = std::min(batch, rows - begin);
        std::vector<std::string> batch_ids;
        std::vector<float> pooled(static_cast<std::size_t>(n * dim));
        for (auto& x : pooled) x = normal(rng);
        for (std::int64_t i = 0; i < n; ++i) batch_ids.push_back(std::to_string(begin + i));
        msa::FeatureView view;
        view.rows = n;
        view.dim = dim;
        view.pooled = pooled.data();
        store.append(key, meta, batch_ids, view);
        ids.insert(ids.end(), batch_ids.begin(), batch_ids.end());
    }
    std::shuffle(ids.begin(), ids.end(), rng); // a split asks in its own order
    std::vector<double> runs;
    for (int r = 0; r < repeat; ++r) {
        const auto start = Clock::now();
        const auto arrays = store.read_arrays(key, ids);
        runs.push_back(seconds_since(start));
        if (arrays.rows != rows) throw msa::Error("read the wrong number of rows");
    }
    const auto bytes = fs::file_size(file);
    fs::remove(file);
    std::cout << nlohmann::json{{"benchmark", "store"}, {"cpu", cpu_json()}, {"rows", rows}, {"dim", dim}, {"dtype", dtype},
                                {"file_bytes", bytes}, {"seconds", median(runs)}}
              << "\n";
    return 0;
}

int bench_encoder(const std::string& manifest, const std::string& modality, const std::vector<std::string>& args) {
    const std::size_t limit = std::stoul(option(args, "--limit", "1000000"));
    const int repeat = std::stoi(option(args, "--repeat", "3"));
    const std::string out = option(args, "--out", "");
    const auto document = msa::ManifestDocument::load(manifest);
    msa::PluginCatalog catalog;
    msa::cli::load_plugins(catalog, document.plugin_paths());
    const msa::Study study = document.to_study(catalog);
    const auto choice = study.encoders.find(modality);
    if (choice == study.encoders.end()) throw msa::Error(manifest + " has no [encoders." + modality + "]");
    const auto dataset = msa::data::read_dataset(study.dataset);
    std::vector<const msa::Sample*> samples;
    for (const auto& sample : dataset.samples)
        if (samples.size() < limit) samples.push_back(&sample);

    const auto load_start = Clock::now();
    auto encoder = catalog.create_encoder(choice->second.plugin, choice->second.params);
    const double load_seconds = seconds_since(load_start);
    const auto batch_size = static_cast<std::size_t>(encoder->batch_size());
    at::Tensor pooled;
    std::vector<double> runs;
    for (int r = 0; r < repeat; ++r) {
        std::vector<at::Tensor> rows;
        const auto start = Clock::now();
        for (std::size_t begin = 0; begin < samples.size(); begin += batch_size) {
            msa::EncoderBatch batch;
            batch.samples.assign(samples.begin() + begin, samples.begin() + std::min(samples.size(), begin + batch_size));
            rows.push_back(encoder->encode(batch).pooled);
        }
        runs.push_back(seconds_since(start));
        pooled = at::cat(rows).to(at::kFloat).contiguous();
    }
    if (!out.empty()) {
        std::ofstream f32(out + ".f32", std::ios::binary);
        f32.write(reinterpret_cast<const char*>(pooled.data_ptr<float>()), pooled.numel() * sizeof(float));
        std::ofstream jsonl(out + ".jsonl");
        for (const auto* sample : samples)
            jsonl << nlohmann::json{{"id", sample->id}, {"text", sample->text}, {"image", sample->image_path}}.dump() << "\n";
    }
    const double seconds = median(runs);
    std::cout << nlohmann::json{{"benchmark", "encoder"}, {"cpu", cpu_json()}, {"precision", encoder->precision()},
                                {"plugin", choice->second.plugin}, {"modality", modality},
                                {"samples", samples.size()}, {"batch_size", batch_size}, {"threads", at::get_num_threads()},
                                {"dim", pooled.size(1)}, {"load_seconds", load_seconds}, {"seconds", seconds},
                                {"samples_per_second", samples.size() / seconds}}
              << "\n";
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    msa::use_passive_omp_wait(argv); // as msa runs
    msa::keep_freed_memory();
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (args.size() >= 2 && args[0] == "images") return bench_images(args[1], args);
        if (!args.empty() && args[0] == "store") return bench_store(args);
        if (args.size() >= 3 && args[0] == "encoder") return bench_encoder(args[1], args[2], args);
    } catch (const std::exception& e) {
        std::cerr << "msa_bench: " << e.what() << "\n";
        return 1;
    }
    std::cerr << "usage: msa_bench images DIR [--threads N] [--size S] [--repeat R]\n"
                 "       msa_bench store [--rows N] [--dim D] [--dtype float32|float16] [--repeat R]\n"
                 "       msa_bench encoder MANIFEST text|image [--limit N] [--repeat R] [--out PREFIX]\n";
    return 2;
}

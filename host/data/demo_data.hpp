// A small synthetic image + text sentiment dataset in the guid-tag layout (`msa demo-data`):
// drawn images and templated texts, seeded, so a study runs on a machine with no data.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>

namespace msa::data {

struct DemoDataOptions {
    int samples = 600;          // labelled rows in train.txt
    int unlabelled = -1;        // rows in test_without_label.txt; -1: samples / 10, rounded
    std::uint64_t seed = 1;
    double conflict_share = 0.15; // share of rows whose image shows another sentiment than the text
    int image_size = 96;          // square images, pixels
    bool force = false;           // write into a folder that is not empty
};

// Classes in the order positive, negative, neutral.
struct DemoDataSummary {
    std::filesystem::path folder;
    std::array<int, 3> labelled{};  // per class
    std::array<int, 3> unlabelled{}; // per (hidden) class
    int conflicts = 0;               // labelled and unlabelled rows together
    int labelled_conflicts = 0;
};

// Writes `out`/train.txt, test_without_label.txt, truth.csv and data/{guid}.jpg|txt;
// creates `out` when missing. The same options give byte-identical files. Throws
// msa::Error for bad options, a folder that is not empty (without `force`) and files
// that cannot be written. `on_sample` runs after each sample is written.
DemoDataSummary write_demo_data(const std::filesystem::path& out, const DemoDataOptions& options,
                                const std::function<void()>& on_sample = {});

} // namespace msa::data

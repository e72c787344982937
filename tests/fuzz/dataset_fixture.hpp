// The dataset targets' fixed files: a data/ folder of a few real images (from
// tests/fixtures/images) and texts, in the scratch folder; the fuzzed lists and one
// fuzzed text file (data/9.txt, with data/9.jpg) are written beside them per input.
#pragma once

#include "fuzz_target.hpp"

#include "data/dataset_reader.hpp"

#include <filesystem>
#include <sstream>

namespace msa::fuzz {

// A fresh dataset root under scratch()/`name`, its data/ folder filled once per process.
inline std::filesystem::path dataset_root(const std::string& name) {
    namespace fs = std::filesystem;
    const fs::path root = scratch() / name;
    if (!fs::exists(root / "data")) {
        fs::create_directories(root / "data");
        const fs::path images = fs::path(MSA_FIXTURE_DIR) / "images";
        fs::copy_file(images / "grey.jpg", root / "data/1.jpg");
        fs::copy_file(images / "photo.jpg", root / "data/2.jpg");
        fs::copy_file(images / "grey-alpha.png", root / "data/3.jpg"); // a PNG named .jpg: a warning
        fs::copy_file(images / "grey.jpg", root / "data/5.jpg");       // no text beside it
        fs::copy_file(images / "grey.jpg", root / "data/9.jpg");
        write_scratch(fs::path(name) / "data/1.txt", "What a happy day #sun");
        write_scratch(fs::path(name) / "data/2.txt", "RT @someone: terrible service \xf0\x9f\x98\xa0");
        write_scratch(fs::path(name) / "data/3.txt", "\xc4\xe3\xba\xc3"); // GB18030
        write_scratch(fs::path(name) / "data/4.txt", "no image here");
        write_scratch(fs::path(name) / "data/6.jpg", "not an image");
        write_scratch(fs::path(name) / "data/6.txt", "a broken image");
    }
    return root;
}

// read_dataset under both policies; under "skip" every kept sample has a label index in
// range (or -1) and the counts add up.
inline void read_both_policies(DatasetConfig config) {
    for (const char* policy : {"skip", "fail"}) {
        config.on_error = policy;
        std::ostringstream log;
        data::Dataset dataset;
        try {
            dataset = data::read_dataset(config, log);
        } catch (const msa::Error& e) {
            if (!*e.what()) fail("dataset: an msa::Error with an empty message");
            continue;
        }
        for (const auto& sample : dataset.samples)
            if (sample.label < -1 || sample.label >= static_cast<int>(dataset.labels.size()))
                fail("dataset: sample '" + sample.id + "' has label index " + std::to_string(sample.label));
        if (dataset.labelled() + dataset.unlabelled() != dataset.samples.size())
            fail("dataset: labelled + unlabelled != samples");
    }
}

} // namespace msa::fuzz

// The run-folder files the reports and msa predict read, from one input split at
// "\n----\n" lines: metrics.json, history.csv, store_keys.json, predictions.csv and a
// guid,tag list (msa predict --input). Each reader on its own; store_keys.json that is
// accepted round-trips through store_keys_json.
#include "fuzz_target.hpp"

#include "data/guid_tag_list.hpp"
#include "records/trial_files.hpp"

#include <msa/predictions.hpp>

namespace {
template <class F> void each(F&& f) {
    try {
        f();
    } catch (const msa::Error& e) {
        if (!*e.what()) msa::fuzz::fail("run_folder: an msa::Error with an empty message");
    }
}
} // namespace

MSA_FUZZ_TARGET(run_folder) {
    namespace fs = std::filesystem;
    const auto parts = msa::fuzz::split_parts({reinterpret_cast<const char*>(data), size}, 5);
    const fs::path folder = msa::fuzz::fresh_folder("trial");
    const char* names[] = {"metrics.json", "history.csv", "store_keys.json", "predictions.csv", "list.txt"};
    for (std::size_t i = 0; i < parts.size(); ++i) msa::fuzz::write_scratch(fs::path("trial") / names[i], parts[i]);
    each([&] { (void)msa::records::read_trial_metrics(folder); });
    each([&] { (void)msa::records::read_history(folder); });
    each([&] {
        const auto keys = msa::records::read_store_keys(folder / "store_keys.json");
        const auto file = msa::fuzz::write_scratch("trial/store_keys.again.json", msa::records::store_keys_json(keys));
        if (msa::records::read_store_keys(file) != keys) msa::fuzz::fail("run_folder: store_keys.json does not round-trip");
    });
    each([&] { (void)msa::read_predictions(folder / "predictions.csv", {"negative", "neutral", "positive"}); });
    each([&] { (void)msa::data::read_guid_tag_list(folder / "list.txt"); });
}

// `msa demo-data --out DIR`: writes a small synthetic image + text sentiment dataset in
// the guid-tag layout, so a study runs on a machine with no data.
#include "cli/commands.hpp"

#include "data/demo_data.hpp"
#include "util/progress.hpp"

#include <iostream>

namespace msa::cli {

Command add_demo_data_command(CLI::App& app) {
    struct Options {
        std::string out;
        data::DemoDataOptions demo;
    };
    auto options = std::make_shared<Options>();
    CLI::App* sub = app.add_subcommand(
        "demo-data", "Write a synthetic image + text sentiment dataset (guid-tag layout) into a new folder");
    sub->add_option("--out", options->out, "Folder to write (created; must be empty unless --force)")->required();
    sub->add_option("--samples", options->demo.samples, "Labelled rows in train.txt (50% positive, 30% negative, 20% neutral)")
        ->capture_default_str()
        ->check(CLI::Range(10, 1000000));
    sub->add_option("--unlabelled", options->demo.unlabelled,
                    "Rows in test_without_label.txt (default: a tenth of --samples)")
        ->check(CLI::Range(0, 1000000));
    sub->add_option("--seed", options->demo.seed, "Seed: the same seed gives byte-identical files")->capture_default_str();
    sub->add_option("--conflicts", options->demo.conflict_share,
                    "Share of rows whose image shows another sentiment than the text (the label is the text's)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    sub->add_option("--size", options->demo.image_size, "Image width and height in pixels")
        ->capture_default_str()
        ->check(CLI::Range(32, 1024));
    sub->add_flag("--force", options->demo.force, "Write into a folder that is not empty (same-named files are replaced)");
    return {sub, [options] {
                const auto& demo = options->demo;
                const int unlabelled = demo.unlabelled < 0 ? (demo.samples + 5) / 10 : demo.unlabelled;
                const std::int64_t total = static_cast<std::int64_t>(demo.samples) + unlabelled;
                // Progress lines only where writing takes more than a few seconds.
                Progress progress("demo-data", total, std::cerr,
                                  total >= 5000 ? Progress::Style::automatic : Progress::Style::quiet);
                const auto summary = data::write_demo_data(options->out, demo, [&progress] { progress.advance(); });
                progress.finish();
                const auto& l = summary.labelled;
                std::cout << "demo-data: " << l[0] + l[1] + l[2] << " labelled (" << l[0] << " positive, " << l[1]
                          << " negative, " << l[2] << " neutral), " << unlabelled << " unlabelled, "
                          << summary.conflicts << " image/text conflicts (" << summary.labelled_conflicts
                          << " labelled), seed " << demo.seed << ", " << demo.image_size << " px: "
                          << summary.folder.string() << "\n";
                return 0;
            }};
}

} // namespace msa::cli

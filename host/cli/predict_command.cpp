// `msa predict --run DIR --input LIST --output FILE`: a trained model's labels for the
// posts a `guid,tag` list names (README, Predictions).
#include "cli/commands.hpp"

#include "data/dataset_reader.hpp"
#include "manifest/manifest_reader.hpp"
#include "train/run_folder.hpp"
#include "train/saved_model.hpp"
#include "util/suggest.hpp"

#include <msa/error.hpp>
#include <msa/predictions.hpp>

#include <torch/torch.h>

#include <iostream>
#include <sstream>
#include <unordered_map>

namespace msa::cli {

namespace fs = std::filesystem;

namespace {

// Exit code when the output was written but some rows have no prediction: not 1 (an
// error, nothing written), so that scripts can tell the two apart.
constexpr int kSomeRowsUnpredicted = 3;

std::string problem_kinds(const std::vector<data::ListedSample>& rows) {
    std::vector<const data::DataProblem*> problems;
    for (const auto& row : rows)
        if (row.problem) problems.push_back(&*row.problem);
    return data::count_kinds(problems);
}

} // namespace

Command add_predict_command(CLI::App& app) {
    struct Options {
        std::string run;
        std::string input;
        std::string output;
        bool strict = false;
        bool probabilities = false;
    };
    auto options = std::make_shared<Options>();
    CLI::App* sub = app.add_subcommand(
        "predict", "Label the posts of a guid,tag list with a trained model (a trial folder, or a study's final "
                   "incumbent)");
    sub->add_option("--run", options->run,
                    "A trial folder (config.toml + model.pt), or a study folder runs/<study> whose results.json "
                    "names the final incumbent")
        ->required();
    sub->add_option("--input", options->input,
                    "CSV list with header guid,tag (tags are not read), e.g. test_without_label.txt; each guid is a "
                    "sample of the model's dataset")
        ->required();
    sub->add_option("--output", options->output,
                    "CSV to write: guid,tag, one line per input row in input order; tag empty where a row could "
                    "not be predicted")
        ->required();
    sub->add_flag("--strict", options->strict, "Any row that cannot be predicted is an error; nothing is written");
    sub->add_flag("--probabilities", options->probabilities,
                  "Also write OUTPUT.probabilities.csv: guid,predicted,p_<label>... per input row");
    return {sub, [options] {
                const fs::path input = options->input, output = options->output;
                std::error_code ec;
                if (fs::exists(output, ec) && fs::equivalent(input, output, ec))
                    throw Error("--output " + output.string() + " is the input list: write the predictions to "
                                "another file");
                const fs::path folder = train::model_folder(options->run);
                train::check_trial_folder(folder);
                PluginCatalog catalog;
                load_plugins(catalog, ManifestDocument::load(folder / "config.toml").plugin_paths());
                train::SavedModel model(folder, catalog);
                std::cerr << "model " << model.folder().string() << " (fusion " << model.study().fusion.plugin
                          << ", labels " << join(model.labels()) << ")\n";

                const auto rows = data::read_listed_samples(model.study().dataset, input, std::cerr);
                std::size_t unreadable = 0;
                for (const auto& row : rows)
                    if (row.problem) {
                        ++unreadable;
                        std::cerr << (options->strict ? "error: " : "not predicted: ") << row.problem->to_string()
                                  << "\n";
                    }
                const std::string tally = data::with_thousands(unreadable) + " of " +
                                          data::with_thousands(rows.size()) + " rows of " + input.string();
                if (unreadable > 0 && options->strict)
                    throw Error(tally + " cannot be predicted (" + problem_kinds(rows) +
                                "); nothing written (--strict)");

                // Each sample once, however often the list names it.
                std::vector<Sample> samples;
                std::unordered_map<std::string, std::int64_t> row_of;
                for (const auto& row : rows)
                    if (row.sample && row_of.emplace(row.sample->id, std::int64_t(samples.size())).second)
                        samples.push_back(*row.sample);
                const at::Tensor probs =
                    samples.empty()
                        ? torch::empty({0, std::int64_t(model.labels().size())})
                        : model.probabilities(samples, [](const std::string& line) { std::cerr << line << "\n"; },
                                              torch::kCPU);
                const auto p = probs.accessor<float, 2>();

                std::ostringstream tags, table;
                tags << "guid,tag\n";
                table << "guid,predicted";
                for (const auto& label : model.labels()) table << ",p_" << label;
                table << "\n";
                for (const auto& row : rows) {
                    tags << csv_field(row.guid) << ",";
                    table << csv_field(row.guid) << ",";
                    if (row.sample) {
                        const std::int64_t r = row_of.at(row.sample->id);
                        const std::int64_t best = probs[r].argmax().item<std::int64_t>();
                        tags << model.labels()[std::size_t(best)];
                        table << model.labels()[std::size_t(best)];
                        for (std::int64_t c = 0; c < probs.size(1); ++c) table << "," << p[r][c];
                    } else {
                        table << std::string(model.labels().size(), ',');
                    }
                    tags << "\n";
                    table << "\n";
                }
                train::write_file_atomically(output, tags.str());
                if (options->probabilities)
                    train::write_file_atomically(output.string() + ".probabilities.csv", table.str());

                if (unreadable == 0) {
                    std::cerr << "predicted all " << data::with_thousands(rows.size()) << " rows of "
                              << input.string() << ": " << output.string() << "\n";
                    return 0;
                }
                std::cerr << tally << " could not be predicted (" << problem_kinds(rows)
                          << "); their tag is empty in " << output.string() << "\n";
                return kSomeRowsUnpredicted;
            }};
}

} // namespace msa::cli

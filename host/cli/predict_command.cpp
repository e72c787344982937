// `msa predict --run DIR --input LIST --output FILE`: the labels of a trained model, or of
// a study's seed ensemble, for the posts a `guid,tag` list names (README, Predictions).
#include "cli/commands.hpp"

#include "data/dataset_reader.hpp"
#include "manifest/manifest_reader.hpp"
#include "train/run_folder.hpp"
#include "train/saved_model.hpp"
#include "train/seed_ensemble.hpp"
#include "util/suggest.hpp"

#include <msa/error.hpp>
#include <msa/predictions.hpp>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
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

// A folder under the system's temporary directory, removed with everything in it when
// this goes out of scope.
class TemporaryFolder {
public:
    TemporaryFolder() {
        std::string pattern = (fs::temp_directory_path() / "msa-predict-XXXXXX").string();
        if (!mkdtemp(pattern.data()))
            throw Error("cannot make a temporary folder " + pattern + " for the features: " + std::strerror(errno));
        path_ = pattern;
    }
    TemporaryFolder(const TemporaryFolder&) = delete;
    TemporaryFolder& operator=(const TemporaryFolder&) = delete;
    ~TemporaryFolder() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// The model's study reading `path` as its dataset (--dataset): the same format, encoding
// and labels, and features encoded afresh into a store in `scratch`. Not the model's store,
// nor a lasting one for `path`: a store finds a post's features by its id, and a folder of
// new posts is apt to reuse ids for other posts (the next batch), whose stored features
// would then be another post's.
Study other_dataset(const Study& model, const fs::path& path, const TemporaryFolder& scratch) {
    std::error_code ec;
    if (!fs::exists(path, ec))
        throw Error("--dataset " + path.string() + " does not exist; expected a dataset in the model's format (" +
                    model.dataset.format + ", as " + model.dataset.root.string() + ")");
    Study out = model;
    out.dataset.root = fs::absolute(path).lexically_normal();
    out.store.path = scratch.path() / "features.h5";
    out.store.compression = 0; // read once, then removed
    std::cerr << "posts from " << out.dataset.root.string() << " (" << out.dataset.format
              << ", the model's [dataset] settings), encoded afresh\n";
    return out;
}

// OUTPUT.models.json: which models made the predictions, so the file says where it came from.
std::string models_json(const train::PredictionModels& models, const fs::path& run, const fs::path& dataset) {
    nlohmann::json members = nlohmann::json::array();
    for (const auto& member : models.members)
        members.push_back({{"folder", fs::absolute(member.folder).lexically_normal().string()},
                           {"seed", member.seed ? nlohmann::json(*member.seed) : nlohmann::json(nullptr)}});
    const nlohmann::json out{{"run", run.string()},
                             {"dataset", dataset.string()},
                             {"combine", models.members.size() > 1 ? "mean of the models' class probabilities"
                                                                   : "one model"},
                             {"source", models.source},
                             {"models", members},
                             {"left_out", models.left_out}};
    return out.dump(2) + "\n";
}

// Every model's class probabilities for `samples`, averaged in double precision (one
// model's are its own). One model is loaded at a time, so only one holds its encoders and
// weights: `model` comes holding the first (loaded to read the dataset and labels) and is
// left empty.
at::Tensor ensemble_probabilities(const train::PredictionModels& models, std::optional<train::SavedModel>& model,
                                  const PluginCatalog& catalog, const std::vector<Sample>& samples,
                                  const Study* data) {
    const std::vector<std::string> labels = model->labels();
    std::vector<at::Tensor> member_probs;
    for (std::size_t m = 0; m < models.members.size(); ++m) {
        const auto& member = models.members[m];
        if (m > 0) {
            model.reset();
            model.emplace(member.folder, catalog);
            if (model->labels() != labels)
                throw Error(member.folder.string() + " labels " + join(model->labels()) + ", but " +
                            models.members.front().folder.string() + " labels " + join(labels) +
                            "; the models of an ensemble must have the same classes in the same order");
        }
        std::cerr << "model " << model->folder().string()
                  << (member.seed ? " (seed " + std::to_string(*member.seed) + ", " : std::string(" ("))
                  << "fusion " << model->study().fusion.plugin << ", labels " << join(labels) << ")\n";
        member_probs.push_back(samples.empty()
                                   ? torch::empty({0, std::int64_t(labels.size())})
                                   : model->probabilities(samples, [](const std::string& line) { std::cerr << line << "\n"; },
                                                          torch::kCPU, data));
    }
    model.reset();
    return train::average_probabilities(member_probs);
}

// OUTPUT (guid,tag) and, with `probabilities`, OUTPUT.probabilities.csv: a line per input
// row in input order, the label of highest mean probability (`mean`, a row per sample,
// `row_of` maps a sample id to it); empty where a row has no sample.
void write_predictions(const std::vector<data::ListedSample>& rows,
                       const std::unordered_map<std::string, std::int64_t>& row_of, const at::Tensor& mean,
                       const std::vector<std::string>& labels, const fs::path& output, bool probabilities) {
    // The mean picks the label; the probabilities are written as each model's own are
    // (floats), so one model's file is what it always was.
    const at::Tensor probs = mean.to(torch::kFloat);
    const auto p = probs.accessor<float, 2>();
    std::ostringstream tags, table;
    tags << "guid,tag\n";
    table << "guid,predicted";
    for (const auto& label : labels) table << ",p_" << label;
    table << "\n";
    for (const auto& row : rows) {
        tags << csv_field(row.guid) << ",";
        table << csv_field(row.guid) << ",";
        if (row.sample) {
            const std::int64_t r = row_of.at(row.sample->id);
            const std::int64_t best = mean[r].argmax().item<std::int64_t>();
            tags << labels[std::size_t(best)];
            table << labels[std::size_t(best)];
            for (std::int64_t c = 0; c < probs.size(1); ++c) table << "," << p[r][c];
        } else {
            table << std::string(labels.size(), ',');
        }
        tags << "\n";
        table << "\n";
    }
    train::write_file_atomically(output, tags.str());
    if (probabilities) train::write_file_atomically(output.string() + ".probabilities.csv", table.str());
}

} // namespace

Command add_predict_command(CLI::App& app) {
    struct Options {
        std::string run;
        std::string input;
        std::string output;
        std::string dataset;
        bool strict = false;
        bool probabilities = false;
        bool single = false;
    };
    auto options = std::make_shared<Options>();
    CLI::App* sub = app.add_subcommand(
        "predict", "Label the posts of a guid,tag list with a trained model (a trial folder), or with a study's "
                   "final incumbent: the mean of its configuration's seeds, or that model alone (--single)");
    sub->add_option("--run", options->run,
                    "A trial folder (config.toml + model.pt), or a study folder runs/<study> whose results.json "
                    "names the final incumbent (its configuration's finished seeds are averaged)")
        ->required();
    sub->add_option("--input", options->input,
                    "CSV list with header guid,tag (tags are not read), e.g. test_without_label.txt; each guid is a "
                    "sample of the model's dataset")
        ->required();
    sub->add_option("--output", options->output,
                    "CSV to write: guid,tag, one line per input row in input order; tag empty where a row could "
                    "not be predicted. OUTPUT.models.json records which models made it")
        ->required();
    sub->add_option("--dataset", options->dataset,
                    "Read the listed posts from PATH instead of the model's dataset: a dataset in the same format "
                    "(a guid-tag folder needs only data/), read with the model's [dataset] settings; its posts are "
                    "encoded afresh, not cached");
    sub->add_flag("--strict", options->strict, "Any row that cannot be predicted is an error; nothing is written");
    sub->add_flag("--probabilities", options->probabilities,
                  "Also write OUTPUT.probabilities.csv: guid,predicted,p_<label>... per input row");
    sub->add_flag("--single", options->single,
                  "With a study folder: predict with the final incumbent alone (the seed results.json names as "
                  "best_trial) instead of averaging every finished seed of its configuration");
    return {sub, [options] {
                const fs::path input = options->input, output = options->output;
                std::error_code ec;
                if (fs::exists(output, ec) && fs::equivalent(input, output, ec))
                    throw Error("--output " + output.string() + " is the input list: write the predictions to "
                                "another file");
                const train::PredictionModels models = train::prediction_models(options->run, options->single);
                std::vector<fs::path> plugin_paths;
                for (const auto& member : models.members)
                    for (const auto& path : ManifestDocument::load(member.folder / "config.toml").plugin_paths())
                        if (std::find(plugin_paths.begin(), plugin_paths.end(), path) == plugin_paths.end())
                            plugin_paths.push_back(path);
                PluginCatalog catalog;
                load_plugins(catalog, plugin_paths);
                std::cerr << (models.members.size() > 1
                                  ? "averaging the class probabilities of " + std::to_string(models.members.size()) +
                                        " models: "
                                  : std::string("one model: "))
                          << models.source << "\n";
                for (const auto& left : models.left_out) std::cerr << "left out: " << left << "\n";

                // The first model decides the dataset the rows are read from and the labels.
                std::optional<train::SavedModel> model(std::in_place, models.members.front().folder, catalog);
                const std::vector<std::string> labels = model->labels();
                // A copy: ensemble_probabilities() releases `model`, and its study with it.
                const bool elsewhere = !options->dataset.empty();
                std::optional<TemporaryFolder> scratch;
                const Study source = elsewhere ? other_dataset(model->study(), options->dataset, scratch.emplace())
                                               : model->study();
                const auto rows = data::read_listed_samples(source.dataset, input, std::cerr);
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
                const at::Tensor mean =
                    ensemble_probabilities(models, model, catalog, samples, elsewhere ? &source : nullptr);
                write_predictions(rows, row_of, mean, labels, output, options->probabilities);
                train::write_file_atomically(output.string() + ".models.json",
                                             models_json(models, fs::absolute(options->run).lexically_normal(),
                                                         fs::absolute(source.dataset.root).lexically_normal()));

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

// `msa validate FILE`: checks a manifest, its plugins' parameters and its dataset (read
// and split as `msa trial` and `msa run` would) without training anything. Exit 0 when
// valid, 1 otherwise.
#include "cli/commands.hpp"

#include "data/dataset_reader.hpp"
#include "data/split.hpp"
#include "manifest/manifest_reader.hpp"
#include "study/study_runner.hpp"
#include "train/distillation.hpp"
#include "train/trial_features.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace msa::cli {
namespace {

// Every k of a few-shot phase needs k training and k validation posts of each class in the
// train split (the split of the study's seed; other draws differ by a few posts).
std::vector<ManifestProblem> few_shot_pool_problems(const Study& study, const data::Dataset& dataset,
                                                    const data::Split& split) {
    std::vector<ManifestProblem> out;
    const auto& labels = study.dataset.labels;
    std::vector<std::int64_t> pool(labels.size());
    for (auto i : split.train)
        if (dataset.samples[i].label >= 0) ++pool[static_cast<std::size_t>(dataset.samples[i].label)];
    for (const auto& phase : study.phases) {
        if (phase.kind != PhaseKind::few_shot || phase.shots.empty()) continue;
        const std::int64_t k = phase.shots.back();
        for (std::size_t c = 0; c < labels.size(); ++c)
            if (2 * k > pool[c]) {
                out.push_back({phase.where, "phase '" + phase.name + "': shots holds k = " + std::to_string(k) +
                                                ", but class '" + labels[c] + "' has " + std::to_string(pool[c]) +
                                                " posts in the train split; a few-shot trial draws k of them to train "
                                                "and k to validate: accepted k up to " + std::to_string(pool[c] / 2)});
                break;
            }
    }
    return out;
}

// Reads the dataset and makes the split as a trial does, so that a bad sample fails here
// rather than minutes into `msa run`: under on_error = "fail" the reader's DatasetError
// (file:line: sample 'id': ...) reaches main as msa run's would; under "skip" the skipped
// samples are listed on stderr by the reader and counted in the summary returned.
std::string check_dataset(const Study& study) {
    const data::Dataset dataset = data::read_dataset(study.dataset);
    const data::Split split = data::make_split(dataset.samples, study.split, study.seed);
    if (auto problems = few_shot_pool_problems(study, dataset, split); !problems.empty())
        throw ManifestError(std::move(problems));
    using data::with_thousands;
    return "dataset " + study.dataset.root.string() + ": " + with_thousands(dataset.samples.size()) +
           " samples (" + with_thousands(dataset.labelled()) + " labelled, " + with_thousands(dataset.unlabelled()) +
           " unlabelled); " + with_thousands(dataset.skipped.size()) + " skipped, " +
           with_thousands(dataset.warnings.size()) + " with a warning; split " + with_thousands(split.train.size()) +
           " train, " + with_thousands(split.valid.size()) + " valid, " + with_thousands(split.test.size()) + " test";
}

// With [executor] kind = "slurm" and Slurm's commands on this machine: the partition exists.
void check_executor(const Study& study) {
    const ExecutorConfig& e = study.executor;
    if (e.kind != "slurm" || e.partition.empty() || std::system("command -v sinfo >/dev/null 2>&1") != 0) return;
    FILE* pipe = popen(("sinfo -h -o %R -p '" + e.partition + "' 2>/dev/null").c_str(), "r");
    std::string out;
    if (pipe) {
        char buffer[256];
        while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
        pclose(pipe);
    }
    if (out.find(e.partition) == std::string::npos)
        throw ManifestError({{e.where, "[executor] partition = \"" + e.partition + "\": sinfo on this machine knows "
                                       "no such partition (`sinfo -s` lists them)"}});
}

// A [prompt] model is built (its checkpoint loaded), so that its template and label words
// are checked against the checkpoint's tokenizer before anything runs.
void check_prompt(const Study& study, const PluginCatalog& catalog) {
    if (!study.prompt) return;
    try {
        train::build_prompt(study, catalog, 0);
    } catch (const ConfigError& e) {
        throw ManifestError({{e.where(), e.message()}});
    }
}

// "trials at most (...): baseline 3, architecture 120 (8 configurations), ...; 393 in all",
// then why each skipped phase will be skipped.
void print_outline(const std::vector<study::PhaseOutline>& outline) {
    std::size_t total = 0;
    std::string line, skipped;
    for (const auto& phase : outline) {
        if (!phase.skipped.empty()) {
            skipped += "phase " + phase.name + ": skipped: " + phase.skipped + "\n";
            continue;
        }
        total += phase.trials;
        line += (line.empty() ? "" : ", ") + phase.name + " " + std::to_string(phase.trials);
        if (phase.configurations > 1) line += " (" + std::to_string(phase.configurations) + " configurations)";
    }
    std::cout << "trials at most (fewer where a sweep point repeats its incumbent or a model folder is absent): "
              << line << "; " << total << " in all\n" << skipped;
}

} // namespace

Command add_validate_command(CLI::App& app) {
    auto file = std::make_shared<std::string>();
    CLI::App* sub = app.add_subcommand(
        "validate", "Check a study manifest, its plugins' parameters and its dataset (every sample, the split); "
                    "train nothing");
    sub->add_option("manifest", *file, "The study manifest (TOML)")->required();
    return {sub, [file] {
                try {
                    const auto document = ManifestDocument::load(*file);
                    PluginCatalog catalog;
                    load_plugins(catalog, document.plugin_paths());
                    const Study study = document.to_study(catalog);
                    // A study's phases expand to trial manifests: every one is checked too.
                    check_executor(study);
                    std::vector<study::PhaseOutline> outline;
                    if (!study.phases.empty()) outline = study::check_study(*file, catalog);
                    else check_prompt(study, catalog);
                    if (study.phases.empty()) try {
                            train::check_distill(study, catalog);
                        } catch (const ConfigError& e) {
                            throw ManifestError({{e.where(), e.message()}});
                        }
                    const std::string dataset = check_dataset(study);
                    std::cout << *file << ": valid study '" << study.name << "' (" << study.encoders.size()
                              << " encoder(s), fusion " << study.fusion.plugin << ", loss " << study.loss.plugin
                              << ", sampler " << study.sampler.plugin;
                    if (!study.phases.empty()) {
                        std::cout << "; phases";
                        for (const auto& phase : study.phases) std::cout << " " << phase.name;
                    }
                    std::cout << ")\n" << dataset << "\n";
                    if (!outline.empty()) print_outline(outline);
                    return 0;
                } catch (const ManifestError& e) {
                    std::cerr << e.what() << "\n"
                              << e.problems().size() << " problem(s) in " << *file << "\n";
                    return 1;
                }
            }};
}

} // namespace msa::cli

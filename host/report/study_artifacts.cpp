// Gathering the trial files of a study's incumbents, tolerating what is missing: a
// report of an interrupted or partly failed study is still worth writing.
#include "report/study_artifacts.hpp"

#include <msa/error.hpp>

namespace msa::report {

StudyArtifacts read_study_artifacts(const StudyResults& results, const std::filesystem::path& study_folder) {
    StudyArtifacts artifacts;
    for (const auto& phase : results.phases) {
        IncumbentFiles files;
        const ConfigResult* best = phase.incumbent_config();
        files.folder = best ? best->best_trial : std::string();
        if (!phase.has_own_incumbent()) {
            files.missing = std::string("a ") + to_string(phase.kind) + " phase has no incumbent of its own";
        } else if (files.folder.empty()) {
            files.missing = "no finished trial";
        } else {
            const auto folder = study_folder / files.folder;
            if (std::filesystem::exists(folder / "history.csv")) {
                try {
                    files.history = read_history(folder);
                    if (files.history.empty()) files.missing = (folder / "history.csv").string() + " has no epochs";
                } catch (const Error& e) {
                    files.missing = e.what();
                    artifacts.warnings.push_back(e.what());
                }
            } else {
                files.missing = "no history.csv in " + files.folder + " (a trial that was evaluated, not trained, has none)";
            }
            try {
                if (std::filesystem::exists(folder / "metrics.json")) files.metrics = read_trial_metrics(folder);
            } catch (const Error& e) {
                artifacts.warnings.push_back(e.what());
            }
        }
        artifacts.phases.push_back(std::move(files));
    }

    if (results.final_incumbent.empty()) {
        artifacts.final_missing = "the study has no final incumbent";
    } else {
        try {
            artifacts.final_metrics = read_trial_metrics(study_folder / results.final_incumbent);
            if (!artifacts.final_metrics->confusion(/*test_split=*/true))
                artifacts.final_missing = "metrics.json of " + results.final_incumbent + " has no test.confusion";
        } catch (const Error& e) {
            artifacts.final_missing = e.what();
            artifacts.warnings.push_back(std::string("final incumbent: ") + e.what());
        }
    }
    return artifacts;
}

} // namespace msa::report

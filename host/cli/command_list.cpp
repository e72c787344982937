// The command list `msa` prints when it is given no command (as git and cargo do); the
// README's "Commands" section shows the same lines, and tests/integration/test_cli.sh
// fails when the two disagree.
#include "cli/commands.hpp"

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace msa::cli {

void print_command_list(std::ostream& out) {
    // Synopsis and one-line summary, in the order a newcomer meets them.
    static const std::vector<std::pair<std::string, std::string>> commands{
        {"msa run MANIFEST [--phase P] [--jobs N]", "run a study's phases in worker processes or on Slurm; resumes"},
        {"msa trial MANIFEST [--out DIR]", "run one trial and write its run folder"},
        {"msa encode MANIFEST... [--json] [--store FILE]", "encode the dataset into the feature store (only what is missing)"},
        {"msa cache ls|keys|verify|prune ...", "inspect and repair the feature store (docs/feature-store.md)"},
        {"msa plugins [--kind K] [--json | --markdown]", "every plugin: kind, library, parameters"},
        {"msa validate MANIFEST", "check a manifest, every trial its phases expand to, and the dataset; run nothing"},
        {"msa version", "msa, SDK ABI, LibTorch, C++ ABI, build type, cores, CPU"},
        {"msa demo-data --out DIR [options]", "write a synthetic image + text dataset"},
        {"msa report RUN_DIR", "write report.md and report.html of a study folder"},
        {"msa predict --run DIR --input LIST --output FILE", "label the posts of a guid,tag list with a trained model or a study's seed ensemble"},
        {"msa COMMAND --help", "a command's arguments and options"},
    };
    out << "msa: multimodal (image + text) sentiment analysis workbench\n"
        << "usage: msa COMMAND [ARGUMENTS]; the commands:\n\n";
    const std::size_t column = 48; // where the summaries start, past the synopses
    for (const auto& [synopsis, summary] : commands)
        out << "    " << synopsis << std::string(synopsis.size() + 2 <= column ? column - synopsis.size() : 2, ' ')
            << summary << "\n";
}

} // namespace msa::cli

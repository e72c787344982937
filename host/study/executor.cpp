// What every executor runs (see executor.hpp).
#include "study/executor.hpp"

namespace msa::study {

std::vector<std::string> trial_arguments(const TrialJob& job, int threads) {
    std::vector<std::string> args{"trial", job.trial_file.string(), "--out", job.folder.string(),
                                  "--threads", std::to_string(threads)};
    if (!job.store_keys.empty()) args.insert(args.end(), {"--store-keys", job.store_keys.string()});
    return args;
}

} // namespace msa::study

// results.json as the reports and msa predict read it: read_study_results; an accepted
// file written back with results_json reads back to the same text (a fixed point).
#include "fuzz_target.hpp"

#include "records/results_file.hpp"

MSA_FUZZ_TARGET(results_json) {
    const auto file = msa::fuzz::write_scratch("study/results.json", {reinterpret_cast<const char*>(data), size});
    const msa::records::StudyResults results = msa::records::read_study_results(file);
    const std::string written = msa::records::results_json(results);
    const auto again_file = msa::fuzz::write_scratch("study/results.again.json", written);
    std::string again;
    try {
        again = msa::records::results_json(msa::records::read_study_results(again_file));
    } catch (const msa::Error& e) {
        msa::fuzz::fail("results_json: what results_json wrote is refused: " + std::string(e.what()));
    }
    if (again != written) msa::fuzz::fail("results_json: does not round-trip:\n" + written + "\n---\n" + again);
}

// The Slurm executor (see slurm_executor.hpp): sbatch, squeue, scontrol and scancel.
#include "study/slurm_executor.hpp"

#include "study/stop_signals.hpp"
#include "study/worker_pool.hpp"
#include "train/run_folder.hpp"

#include <msa/error.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace msa::study {

namespace fs = std::filesystem;

namespace {

// `text` for a POSIX shell, single-quoted.
std::string quoted(const std::string& text) {
    std::string out = "'";
    for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// Runs a shell command; its standard output, and its exit status in `status`.
std::string capture(const std::string& command, int& status) {
    std::string out;
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (!pipe) throw Error("cannot run `" + command + "`");
    std::array<char, 4096> buffer{};
    while (std::fgets(buffer.data(), buffer.size(), pipe)) out += buffer.data();
    status = pclose(pipe);
    return out;
}

// A digest of a trial.toml (FNV-1a, hex): an array of an earlier run is re-attached only
// when it runs the trials as they are planned now.
std::string digest_of(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::uint64_t hash = 14695981039346656037ULL;
    for (char c; in.get(c);) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
    return hex;
}

// The value of `key=` in scontrol's one-line output, or "".
std::string field(const std::string& line, const std::string& key) {
    const auto at = line.find(" " + key + "=");
    if (at == std::string::npos) return {};
    const auto begin = at + key.size() + 2;
    return line.substr(begin, line.find(' ', begin) - begin);
}

class SlurmExecutor final : public Executor {
public:
    explicit SlurmExecutor(SlurmOptions options) : options_(std::move(options)) {}
    std::string name() const override { return "slurm"; }

    bool run(const std::vector<TrialJob>& jobs,
             const std::function<void(std::size_t, const JobOutcome&)>& done) override {
        if (jobs.empty()) return true;
        const fs::path dir = jobs.front().folder.parent_path() / "slurm";
        fs::create_directories(dir);
        // msa died while the array ran: watch it again rather than run its trials twice.
        std::map<std::size_t, std::size_t> tasks; // array index -> job
        std::string job = still_running(jobs, dir, tasks);
        if (!job.empty()) {
            std::cerr << "slurm: re-attached to job array " << job << ", still running " << tasks.size()
                      << " of the phase's trials\n";
        } else {
            write_tasks(jobs, dir);
            job = submit(dir, jobs.size());
            for (std::size_t i = 0; i < jobs.size(); ++i) tasks[i] = i;
            std::cerr << "slurm: submitted the phase's " << jobs.size() << " trials as job array " << job << " ("
                      << (dir / "array.sh").string() << ")\n";
        }
        return watch(job, tasks, done);
    }

private:
    // The job array of an earlier msa run of this phase when it is still in Slurm's queue
    // and holds every trial of `jobs` (then `tasks` maps its indices to them); else "" (an
    // array that is still queued but lacks some of them is cancelled: they run anew).
    std::string still_running(const std::vector<TrialJob>& jobs, const fs::path& dir,
                              std::map<std::size_t, std::size_t>& tasks) const {
        std::ifstream id_file(dir / "job_id"), task_file(dir / "tasks.tsv");
        std::string job;
        if (!(id_file >> job) || !task_file) return {};
        int status = 0;
        const std::string queued = capture("squeue -h -r -j " + job + " -o %K", status);
        if (status != 0 || queued.find_first_of("0123456789") == std::string::npos) return {};
        std::map<std::string, std::size_t> index_of; // trial folder + digest of its trial.toml -> array index
        for (std::string line; std::getline(task_file, line);) {
            std::vector<std::string> columns;
            for (std::size_t at = 0; at <= line.size();) {
                const auto tab = std::min(line.find('\t', at), line.size());
                columns.push_back(line.substr(at, tab - at));
                at = tab + 1;
            }
            if (columns.size() == 4) index_of[columns[1] + "\t" + columns[2]] = std::stoul(columns[0]);
        }
        for (std::size_t j = 0; j < jobs.size(); ++j) {
            const auto it = index_of.find(jobs[j].folder.string() + "\t" + digest_of(jobs[j].trial_file));
            if (it == index_of.end()) {
                capture("scancel " + job, status);
                std::cerr << "slurm: cancelled job array " << job << " of an earlier run: it does not run the "
                             "trials as they are planned now\n";
                tasks.clear();
                return {};
            }
            tasks[it->second] = j;
        }
        return job;
    }

    void write_tasks(const std::vector<TrialJob>& jobs, const fs::path& dir) const {
        std::ostringstream tasks;
        for (std::size_t i = 0; i < jobs.size(); ++i) {
            std::string command = quoted(msa_executable().string());
            for (const auto& argument : trial_arguments(jobs[i], static_cast<int>(options_.cpus_per_trial)))
                command += " " + quoted(argument);
            tasks << i << "\t" << jobs[i].folder.string() << "\t" << digest_of(jobs[i].trial_file) << "\t" << command
                  << "\n";
        }
        train::write_file_atomically(dir / "tasks.tsv", tasks.str());
        std::ostringstream script;
        script << "#!/bin/bash\n"
               << "# One array task per trial of this phase: line $SLURM_ARRAY_TASK_ID of tasks.tsv (index,\n"
               << "# trial folder, digest of its trial.toml, command). Written by msa run; resubmit with: sbatch --array=I,J "
               << (dir / "array.sh").string() << "\n"
               << "#SBATCH --job-name=msa-" << jobs.front().folder.parent_path().filename().string() << "\n"
               << "#SBATCH --cpus-per-task=" << options_.cpus_per_trial << "\n"
               << "#SBATCH --output=" << (dir / "task-%a.out").string() << "\n";
        const auto option = [&](const char* name, const std::string& value) {
            if (!value.empty()) script << "#SBATCH --" << name << "=" << value << "\n";
        };
        option("partition", options_.partition);
        option("account", options_.account);
        option("qos", options_.qos);
        option("time", options_.time);
        option("mem", options_.mem);
        for (const auto& line : options_.extra) script << "#SBATCH " << line << "\n";
        script << "set -e\n";
        for (const auto& line : options_.setup) script << line << "\n";
        script << "task=$(awk -F'\\t' -v i=\"$SLURM_ARRAY_TASK_ID\" '$1 == i' " << quoted((dir / "tasks.tsv").string())
               << ")\n"
               << "cd \"$(printf '%s' \"$task\" | cut -f2)\"\n"
               << "exec > worker.log 2>&1\n"
               << "eval \"$(printf '%s' \"$task\" | cut -f4-)\"\n";
        train::write_file_atomically(dir / "array.sh", script.str());
    }

    std::string submit(const fs::path& dir, std::size_t tasks) const {
        std::string array = "0-" + std::to_string(tasks - 1);
        if (options_.max_parallel > 0) array += "%" + std::to_string(options_.max_parallel);
        int status = 0;
        const std::string out =
            capture("sbatch --parsable --array=" + array + " " + quoted((dir / "array.sh").string()), status);
        std::string id = out.substr(0, out.find_first_of(";\n"));
        if (status != 0 || id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
            throw Error("slurm: sbatch did not take the phase's job array: " + out);
        train::write_file_atomically(dir / "job_id", id + "\n");
        return id;
    }

    // How array task `index` ended, from scontrol (Slurm keeps ended jobs a while).
    JobOutcome outcome_of(const std::string& job, std::size_t index, double seconds) const {
        int status = 0;
        const std::string line = capture("scontrol -o show job " + job + "_" + std::to_string(index), status);
        JobOutcome out;
        out.seconds = seconds;
        const std::string state = field(" " + line, "JobState");
        const std::string code = field(" " + line, "ExitCode");
        const auto colon = code.find(':');
        if (!code.empty()) {
            out.exit_code = std::atoi(code.substr(0, colon).c_str());
            if (colon != std::string::npos) out.signal = std::atoi(code.substr(colon + 1).c_str());
        }
        if (state == "COMPLETED") return out;
        if (state == "FAILED") {
            if (out.exit_code == 0 && out.signal == 0) out.exit_code = 1;
            return out;
        }
        out.exit_code = out.exit_code ? out.exit_code : 1;
        out.reason = state.empty() ? "Slurm no longer knows how array task " + job + "_" + std::to_string(index) +
                                         " ended (its record expired)"
                                   : "Slurm ended array task " + job + "_" + std::to_string(index) + ": " + state +
                                         (state == "TIMEOUT" ? " (past [executor] time)" : "");
        return out;
    }

    // Waits for the array's tasks `tasks` (array index -> job), reporting each as it ends.
    bool watch(const std::string& job, const std::map<std::size_t, std::size_t>& tasks,
               const std::function<void(std::size_t, const JobOutcome&)>& done) const {
        using clock = std::chrono::steady_clock;
        StopSignals signals;
        const auto start = clock::now();
        std::set<std::size_t> pending;
        for (const auto& [index, _] : tasks) pending.insert(index);
        auto wait = std::chrono::milliseconds(500);
        while (!pending.empty()) {
            if (StopSignals::requested()) {
                int status = 0;
                capture("scancel " + job, status);
                std::cerr << "slurm: cancelled job array " << job << "\n";
                for (auto i : pending) done(tasks.at(i), JobOutcome{0, 0, true, "cancelled by msa", 0});
                return false;
            }
            int status = 0;
            const std::string queue = capture("squeue -h -r -j " + job + " -o %K", status);
            if (status != 0 && queue.find("Invalid job id") == std::string::npos)
                throw Error("slurm: squeue failed while watching job array " + job + ": " + queue);
            std::set<std::size_t> queued;
            std::istringstream lines(queue);
            for (std::string line; std::getline(lines, line);)
                if (!line.empty() && line.find_first_not_of("0123456789") == std::string::npos)
                    queued.insert(static_cast<std::size_t>(std::stoul(line)));
            const double seconds = std::chrono::duration<double>(clock::now() - start).count();
            bool any = false;
            for (auto it = pending.begin(); it != pending.end();)
                if (queued.count(*it)) {
                    ++it;
                } else {
                    done(tasks.at(*it), outcome_of(job, *it, seconds));
                    it = pending.erase(it);
                    any = true;
                }
            // Back-off while nothing changes, at most 10 s between looks.
            wait = any ? std::chrono::milliseconds(500) : std::min(wait * 2, std::chrono::milliseconds(10'000));
            for (auto slept = std::chrono::milliseconds(0); slept < wait && !StopSignals::requested();
                 slept += std::chrono::milliseconds(100))
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return true;
    }

    SlurmOptions options_;
};

} // namespace

std::unique_ptr<Executor> slurm_executor(SlurmOptions options) { return std::make_unique<SlurmExecutor>(std::move(options)); }

} // namespace msa::study

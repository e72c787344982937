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

// A digest (FNV-1a, hex) of what a task runs: an array of an earlier run is re-attached
// only when it runs the same work as is planned now.
class Digest {
public:
    Digest& add(const std::string& text) {
        for (char c : text) hash_ = (hash_ ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
        return *this;
    }
    Digest& add_file(const fs::path& file) {
        // Through the stream: a failed read (libstdc++'s filebuf throws) ends the copy, not msa;
        // the digest then differs from the one recorded and the earlier array is not re-attached.
        std::ifstream in(file, std::ios::binary);
        std::ostringstream bytes;
        bytes << in.rdbuf();
        return add(bytes.str());
    }
    std::string hex() const {
        char out[17];
        std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(hash_));
        return out;
    }

private:
    std::uint64_t hash_ = 14695981039346656037ULL;
};

// The value of `key=` in scontrol's one-line output, or "".
std::string field(const std::string& line, const std::string& key) {
    const auto at = line.find(" " + key + "=");
    if (at == std::string::npos) return {};
    const auto begin = at + key.size() + 2;
    return line.substr(begin, line.find(' ', begin) - begin);
}

// `msa ARGUMENTS` as one shell command line.
std::string command_line(const std::vector<std::string>& arguments) {
    std::string command = quoted(msa_executable().string());
    for (const auto& argument : arguments) command += " " + quoted(argument);
    return command;
}

// One array task: the folder it runs in (its output goes to worker.log there), its
// command, and the digest of what it runs.
struct Task {
    fs::path folder;
    std::string command;
    std::string digest;
};

class SlurmExecutor final : public Executor {
public:
    explicit SlurmExecutor(SlurmOptions options) : options_(std::move(options)) {}
    std::string name() const override { return "slurm"; }
    bool remote() const override { return true; }
    bool gpus() const override {
        return options_.gres.rfind("gpu", 0) == 0 || options_.gres.find(",gpu") != std::string::npos;
    }

    bool run(const std::vector<TrialJob>& jobs,
             const std::function<void(std::size_t, const JobOutcome&)>& done) override {
        if (jobs.empty()) return true;
        std::vector<Task> tasks;
        for (const auto& job : jobs)
            tasks.push_back({job.folder, command_line(trial_arguments(job, static_cast<int>(options_.cpus_per_trial))),
                             Digest().add_file(job.trial_file).hex()});
        const fs::path phase = jobs.front().folder.parent_path();
        return run_array(phase / "slurm", "msa-" + phase.filename().string(), tasks, "trials", /*per_trial_time=*/true,
                         done);
    }

    JobOutcome run_step(const StepJob& step) override {
        // What the step reads may change between runs under the same command line.
        Digest digest;
        for (const auto& argument : step.arguments)
            if (digest.add(argument); fs::is_regular_file(argument)) digest.add_file(argument);
        JobOutcome out{0, 0, true, {}, 0}; // stays so when a stop came before it ended
        run_array(step.folder, "msa-" + step.folder.parent_path().filename().string() + "-" + step.name,
                  {{step.folder, command_line(step.arguments), digest.hex()}}, step.name + " step",
                  /*per_trial_time=*/false, [&](std::size_t, const JobOutcome& o) { out = o; });
        return out;
    }

private:
    // Runs `tasks` as one job array whose files live in `dir` (or watches the array an
    // earlier msa run submitted for them), calling `done(task, outcome)` as each ends.
    bool run_array(const fs::path& dir, const std::string& job_name, const std::vector<Task>& tasks,
                   const std::string& what, bool per_trial_time,
                   const std::function<void(std::size_t, const JobOutcome&)>& done) const {
        fs::create_directories(dir);
        // msa died while the array ran: watch it again rather than run its tasks twice.
        std::map<std::size_t, std::size_t> index_to_task;
        std::string job = still_running(tasks, dir, index_to_task);
        if (!job.empty()) {
            std::cerr << "slurm: re-attached to job array " << job << ", still running the phase's " << what << " ("
                      << index_to_task.size() << ")\n";
        } else {
            write_array(dir, job_name, tasks, per_trial_time);
            job = submit(dir, tasks.size(), what);
            for (std::size_t i = 0; i < tasks.size(); ++i) index_to_task[i] = i;
            std::cerr << "slurm: submitted the phase's " << what << " (" << tasks.size() << ") as job array " << job
                      << " (" << (dir / "array.sh").string() << ")\n";
        }
        return watch(job, index_to_task, done);
    }

    // The job array of an earlier msa run in `dir` when it is still in Slurm's queue and
    // runs every one of `tasks` (then `index_to_task` maps its indices to them); else "" (an
    // array that is still queued but lacks some of them is cancelled: they run anew).
    std::string still_running(const std::vector<Task>& tasks, const fs::path& dir,
                              std::map<std::size_t, std::size_t>& index_to_task) const {
        std::ifstream id_file(dir / "job_id"), task_file(dir / "tasks.tsv");
        std::string job;
        if (!(id_file >> job) || !task_file) return {};
        int status = 0;
        const std::string queued = capture("squeue -h -r -j " + job + " -o %K", status);
        if (status != 0 || queued.find_first_of("0123456789") == std::string::npos) return {};
        std::map<std::string, std::size_t> index_of; // folder + digest -> array index
        for (std::string line; std::getline(task_file, line);) {
            std::vector<std::string> columns;
            for (std::size_t at = 0; at <= line.size();) {
                const auto tab = std::min(line.find('\t', at), line.size());
                columns.push_back(line.substr(at, tab - at));
                at = tab + 1;
            }
            if (columns.size() == 4) index_of[columns[1] + "\t" + columns[2]] = std::stoul(columns[0]);
        }
        for (std::size_t t = 0; t < tasks.size(); ++t) {
            const auto it = index_of.find(tasks[t].folder.string() + "\t" + tasks[t].digest);
            if (it == index_of.end()) {
                capture("scancel " + job, status);
                std::cerr << "slurm: cancelled job array " << job << " of an earlier run: it does not run what is "
                             "planned now\n";
                index_to_task.clear();
                return {};
            }
            index_to_task[it->second] = t;
        }
        return job;
    }

    void write_array(const fs::path& dir, const std::string& job_name, const std::vector<Task>& tasks,
                     bool per_trial_time) const {
        std::ostringstream table;
        for (std::size_t i = 0; i < tasks.size(); ++i)
            table << i << "\t" << tasks[i].folder.string() << "\t" << tasks[i].digest << "\t" << tasks[i].command << "\n";
        train::write_file_atomically(dir / "tasks.tsv", table.str());
        std::ostringstream script;
        script << "#!/bin/bash\n"
               << "# One array task per line of tasks.tsv (index, folder, digest of what it runs, command): line\n"
               << "# $SLURM_ARRAY_TASK_ID runs in its folder, its output in worker.log there. Written by msa run;\n"
               << "# resubmit some with: sbatch --array=I,J " << (dir / "array.sh").string() << "\n"
               << "#SBATCH --job-name=" << job_name << "\n"
               << "#SBATCH --cpus-per-task=" << options_.cpus_per_trial << "\n"
               << "#SBATCH --output=" << (dir / "task-%a.out").string() << "\n";
        const auto option = [&](const char* name, const std::string& value) {
            if (!value.empty()) script << "#SBATCH --" << name << "=" << value << "\n";
        };
        option("partition", options_.partition);
        option("account", options_.account);
        option("qos", options_.qos);
        if (per_trial_time) option("time", options_.time);
        option("mem", options_.mem);
        option("gres", options_.gres);
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

    std::string submit(const fs::path& dir, std::size_t tasks, const std::string& what) const {
        std::string array = "0-" + std::to_string(tasks - 1);
        if (options_.max_parallel > 0) array += "%" + std::to_string(options_.max_parallel);
        int status = 0;
        const std::string out =
            capture("sbatch --parsable --array=" + array + " " + quoted((dir / "array.sh").string()), status);
        std::string id = out.substr(0, out.find_first_of(";\n"));
        if (status != 0 || id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
            throw Error("slurm: sbatch did not take the phase's " + what + " (" + (dir / "array.sh").string() +
                        "): " + out.substr(0, out.find_last_not_of("\n") + 1));
        train::write_file_atomically(dir / "job_id", id + "\n");
        return id;
    }

    // How array task `index` ended: from scontrol while Slurm keeps the job (MinJobAge,
    // 300 s by default), else from sacct where accounting is on.
    JobOutcome outcome_of(const std::string& job, std::size_t index, double seconds) const {
        const std::string task = job + "_" + std::to_string(index);
        int status = 0;
        const std::string line = " " + capture("scontrol -o show job " + task, status);
        std::string state = field(line, "JobState"), code = field(line, "ExitCode");
        if (state.empty()) {
            // State|ExitCode, e.g. "CANCELLED by 0|0:15"; fails without accounting.
            const std::string row = capture("sacct -n -P -X -j " + task + " -o State,ExitCode", status);
            const auto bar = row.find('|');
            if (status == 0 && bar != std::string::npos) {
                state = row.substr(0, std::min(row.find(' '), bar));
                code = row.substr(bar + 1, row.find_first_of("\n", bar) - bar - 1);
            }
        }
        JobOutcome out;
        out.seconds = seconds;
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
        out.reason = state.empty() ? "Slurm no longer knows how array task " + task +
                                         " ended (scontrol forgot it and sacct has no accounting)"
                                   : "Slurm ended array task " + task + ": " + state +
                                         (state == "TIMEOUT" ? " (past [executor] time)" : "");
        return out;
    }

    // Waits for the array's tasks (array index -> task), reporting each as it ends.
    bool watch(const std::string& job, const std::map<std::size_t, std::size_t>& index_to_task,
               const std::function<void(std::size_t, const JobOutcome&)>& done) const {
        using clock = std::chrono::steady_clock;
        using std::chrono::milliseconds;
        StopSignals signals;
        const auto start = clock::now();
        std::set<std::size_t> pending;
        for (const auto& [index, _] : index_to_task) pending.insert(index);
        auto wait = milliseconds(250);
        while (!pending.empty()) {
            if (StopSignals::requested()) {
                int status = 0;
                capture("scancel " + job, status);
                std::cerr << "slurm: cancelled job array " << job << "\n";
                for (auto i : pending) done(index_to_task.at(i), JobOutcome{0, 0, true, "cancelled by msa", 0});
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
                    done(index_to_task.at(*it), outcome_of(job, *it, seconds));
                    it = pending.erase(it);
                    any = true;
                }
            // Back-off while nothing changes: looks at most 2 s apart in a phase's first
            // minute (short trials end soon), at most 10 s apart later.
            const auto most = seconds < 60 ? milliseconds(2'000) : milliseconds(10'000);
            wait = any ? milliseconds(250) : std::min(wait * 2, most);
            for (auto slept = milliseconds(0); slept < wait && !StopSignals::requested(); slept += milliseconds(50))
                std::this_thread::sleep_for(milliseconds(50));
        }
        return true;
    }

    SlurmOptions options_;
};

} // namespace

std::unique_ptr<Executor> slurm_executor(SlurmOptions options) { return std::make_unique<SlurmExecutor>(std::move(options)); }

} // namespace msa::study

// The local executor: `msa trial` in worker processes on this machine (worker_pool.hpp).
#include "study/worker_pool.hpp"

#include "study/executor.hpp"
#include "study/fork_server.hpp"
#include "study/stop_signals.hpp"
#include "util/thread_budget.hpp"

#include <msa/error.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace msa::study {

namespace {

pid_t start_worker(const WorkerJob& job, ForkServer* server) {
    if (server)
        if (const pid_t pid = server->start_worker(job.arguments, job.folder / "worker.log"); pid > 0) return pid;
    const std::string exe = msa_executable().string();
    const std::string log = (job.folder / "worker.log").string();
    std::vector<const char*> argv{exe.c_str()};
    for (const auto& argument : job.arguments) argv.push_back(argument.c_str());
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) throw Error(std::string("cannot start a worker process: ") + std::strerror(errno));
    if (pid == 0) {
        // Only async-signal-safe calls until exec: the parent may have threads.
        setpgid(0, 0); // the terminal's Ctrl-C reaches the runner, which stops workers itself
        // A worker dies with msa run (SIGKILL, a crash): else the rerun would run its
        // trial again beside it, both writing one folder.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127); // it died before prctl
        const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        // Our own image, even when a rebuild has replaced the file since the study started.
        execv("/proc/self/exe", const_cast<char* const*>(argv.data()));
        _exit(127);
    }
    setpgid(pid, pid); // also here, so a kill never races the child's own call
    return pid;
}

} // namespace

std::filesystem::path msa_executable() { return std::filesystem::read_symlink("/proc/self/exe"); }

bool run_workers(const std::vector<WorkerJob>& jobs, int workers,
                 const std::function<void(std::size_t, const WorkerOutcome&)>& done, ForkServer* server) {
    using clock = std::chrono::steady_clock;
    StopSignals signals;
    struct Running {
        std::size_t job;
        clock::time_point start;
    };
    std::map<pid_t, Running> running;
    std::size_t next = 0;
    bool stopping = false;
    while (next < jobs.size() || !running.empty()) {
        if (StopSignals::requested() && !stopping) {
            stopping = true;
            for (const auto& [pid, r] : running) kill(-pid, SIGTERM);
        }
        if (!stopping && next < jobs.size() && static_cast<int>(running.size()) < std::max(1, workers)) {
            std::filesystem::create_directories(jobs[next].folder);
            running[start_worker(jobs[next], server)] = {next, clock::now()};
            ++next;
            continue;
        }
        if (running.empty()) break;
        int status = 0;
        const pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            throw Error(std::string("waiting for worker processes: ") + std::strerror(errno));
        }
        const auto it = running.find(pid);
        if (it == running.end()) continue;
        WorkerOutcome outcome;
        outcome.seconds = std::chrono::duration<double>(clock::now() - it->second.start).count();
        if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
        if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
        outcome.interrupted = stopping;
        const std::size_t job = it->second.job;
        running.erase(it);
        done(job, outcome);
    }
    return !stopping;
}

namespace {

class LocalExecutor final : public Executor {
public:
    explicit LocalExecutor(int workers) : workers_(std::max(1, workers)) {}
    std::string name() const override { return "local"; }

    bool run(const std::vector<TrialJob>& jobs,
             const std::function<void(std::size_t, const JobOutcome&)>& done) override {
        // Each worker gets an equal share of the cores for its intra-op threads.
        const int at_once = std::max(1, std::min<int>(workers_, static_cast<int>(jobs.size())));
        const int threads = std::max(1, usable_cores() / at_once);
        std::vector<WorkerJob> workers;
        for (const auto& job : jobs) workers.push_back({trial_arguments(job, threads), job.folder});
        return run_workers(
            workers, workers_,
            [&](std::size_t j, const WorkerOutcome& w) {
                done(j, JobOutcome{w.exit_code, w.signal, w.interrupted, {}, w.seconds});
            },
            fork_server());
    }

    JobOutcome run_step(const StepJob& step) override {
        JobOutcome out{0, 0, true, {}, 0}; // stays so when a stop came before it started
        run_workers(
            {{step.arguments, step.folder}}, 1,
            [&](std::size_t, const WorkerOutcome& w) {
                out = JobOutcome{w.exit_code, w.signal, w.interrupted, {}, w.seconds};
            },
            fork_server());
        return out;
    }

private:
    // Started with the first jobs, kept for the study's others.
    ForkServer* fork_server() {
        if (!server_tried_) server_ = ForkServer::start(), server_tried_ = true;
        return server_.get();
    }

    int workers_;
    std::unique_ptr<ForkServer> server_;
    bool server_tried_ = false;
};

} // namespace

std::unique_ptr<Executor> local_executor(int workers) { return std::make_unique<LocalExecutor>(workers); }

} // namespace msa::study

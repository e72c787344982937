// The local executor's fork server. Starting `msa` costs 0.3-0.4 s before any work
// (LibTorch's static initialisation, loading the plugin libraries), and a head trial of
// the reference study takes 1.2 s without it (bench.workers measures it). So `msa run` starts one `msa` that does this once
// and then forks a ready copy of itself for each worker: the worker runs the same
// command line as a started one (`msa trial ...`), its output in its worker.log, in a
// process group of its own, and is handed to `msa run` as its child (msa run is the
// child subreaper), which waits for it and stops it as it would a started worker.
// MSA_FORK_SERVER=0 starts every worker afresh instead.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace msa::study {

// What the fork server runs in each worker: main()'s command line handling.
using CommandMain = int (*)(int argc, char** argv);

// Whether this process was started as a fork server (`msa --fork-server RUNNER_PID
// BLANKS`, the blanks room for its workers' command lines).
bool is_fork_server(int argc, char** argv);

// The server's loop, before any thread starts: loads the plugin libraries, then serves
// msa run's requests until it closes their socket, and returns the exit code. In each worker it
// forks, `run` runs the request's command line and the worker exits with its result.
int serve_forks(CommandMain run, int argc, char** argv);

// msa run's side: the server process and the socket to it.
class ForkServer {
public:
    // A started server; nullptr when MSA_FORK_SERVER=0 or it cannot be used here (the
    // reason on stderr): workers are then started afresh.
    static std::unique_ptr<ForkServer> start();
    ~ForkServer(); // closes the socket: the server exits, and is waited for
    ForkServer(const ForkServer&) = delete;
    ForkServer& operator=(const ForkServer&) = delete;

    // Forks a worker that runs `msa ARGUMENTS` with stdout and stderr in `log`, already
    // this process's child when this returns its pid; -1 when the server is gone.
    pid_t start_worker(const std::vector<std::string>& arguments, const std::filesystem::path& log);

private:
    ForkServer(pid_t pid, int socket) : pid_(pid), socket_(socket) {}
    pid_t pid_;
    int socket_;
};

} // namespace msa::study

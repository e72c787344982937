// The fork server and msa run's side of it (fork_server.hpp).
//
// The server talks to msa run on fd 3, a socket (its stdout is its stderr, so that
// nothing a plugin prints can break the exchange). A request is the worker's log file
// and its arguments, each ending in '\0', then an empty string; the answer is the
// worker's pid as a decimal line ("-1" when it could not fork). The server forks a
// middle process, which forks the worker and exits: the worker, orphaned, goes to the
// nearest child subreaper up its ancestry, msa run. Only then does the server answer, so
// the pid msa run reads is already its child.
#include "study/fork_server.hpp"

#include "plugin/plugin_catalog.hpp"
#include "plugin/plugin_loader.hpp"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <string_view>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace msa::study {

namespace {

constexpr std::string_view kServerArgument = "--fork-server";
constexpr int kChannel = 3; // the server's socket to msa run
// The server's last argument: blanks that its workers' command lines are written over.
constexpr std::size_t kTitleRoom = 1024;

// The memory of the server's command line (argv's strings lie one after the other), which
// a worker overwrites with its own so that ps, top -c and pgrep -f show what it runs.
struct CommandLineArea {
    char* begin = nullptr;
    std::size_t size = 0;

    // Writes `arguments`, each ending in '\0', and zeroes the rest; cut short if too long.
    void write(const std::vector<std::string>& arguments) const {
        if (!begin || size == 0) return;
        std::memset(begin, 0, size);
        std::size_t at = 0;
        for (const auto& a : arguments) {
            if (at + 1 >= size) break;
            const std::size_t n = std::min(a.size(), size - 1 - at);
            std::memcpy(begin + at, a.data(), n);
            at += n + 1;
        }
    }
};

bool write_all(int fd, const std::string& data) {
    for (std::size_t done = 0; done < data.size();) {
        const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

// Reads up to and including `end`; false at end of file or on an error before it.
bool read_until(int fd, char end, std::string& out) {
    out.clear();
    for (char c;;) {
        const ssize_t n = ::read(fd, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        if (c == end) return true;
        out.push_back(c);
    }
}

// One request: the log file, then the arguments. False when msa run closed the socket.
bool read_request(std::string& log, std::vector<std::string>& arguments) {
    arguments.clear();
    if (!read_until(kChannel, '\0', log) || log.empty()) return false;
    for (std::string argument;;) {
        if (!read_until(kChannel, '\0', argument)) return false;
        if (argument.empty()) return true;
        arguments.push_back(std::move(argument));
    }
}

// In the worker: becomes msa run's child, as a started worker is, then runs the command.
[[noreturn]] void run_worker(CommandMain run, pid_t runner, pid_t middle, const CommandLineArea& title,
                             const std::string& log, const std::vector<std::string>& arguments) {
    // The middle process exits right after forking this one; its orphan goes to msa run,
    // or, when msa run has died meanwhile, to some other process: then it ends here.
    for (pid_t parent; (parent = getppid()) != runner;) {
        if (parent != middle) _exit(127);
        std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL); // dies with msa run, as a started worker does
    if (getppid() != runner) _exit(127);
    setpgid(0, 0);
    prctl(PR_SET_NAME, "msa worker"); // for top and ps -o comm
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out < 0 || null < 0) _exit(127);
    ::dup2(null, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    ::close(out);
    ::close(null);
    ::close(kChannel); // the server's, not the worker's
    std::vector<std::string> argv_strings{"msa"};
    argv_strings.insert(argv_strings.end(), arguments.begin(), arguments.end());
    title.write(argv_strings); // "msa trial FOLDER/trial.toml ...", as a started worker's
    std::vector<char*> argv;
    for (auto& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::exit(run(static_cast<int>(argv_strings.size()), argv.data()));
}

// Forks the worker through a middle process; its pid, or -1.
pid_t fork_worker(CommandMain run, pid_t runner, const CommandLineArea& title, const std::string& log,
                  const std::vector<std::string>& arguments) {
    int pid_pipe[2];
    if (::pipe2(pid_pipe, O_CLOEXEC) != 0) return -1;
    const pid_t middle = ::fork();
    if (middle == 0) {
        ::close(pid_pipe[0]);
        const pid_t self = ::getpid();
        const pid_t worker = ::fork();
        if (worker == 0) {
            ::close(pid_pipe[1]);
            run_worker(run, runner, self, title, log, arguments);
        }
        if (worker > 0) setpgid(worker, worker); // before msa run has its pid, which may signal the group
        const std::string line = std::to_string(worker) + "\n";
        [[maybe_unused]] const ssize_t n = ::write(pid_pipe[1], line.data(), line.size());
        _exit(0);
    }
    ::close(pid_pipe[1]);
    std::string line;
    const bool read = middle > 0 && read_until(pid_pipe[0], '\n', line);
    ::close(pid_pipe[0]);
    if (middle > 0)
        while (::waitpid(middle, nullptr, 0) < 0 && errno == EINTR) {
        }
    return read ? static_cast<pid_t>(std::atol(line.c_str())) : -1;
}

} // namespace

bool is_fork_server(int argc, char** argv) { return argc == 4 && argv[1] == kServerArgument; }

int serve_forks(CommandMain run, int argc, char** argv) {
    // msa run's pid comes on the command line. Taken from getppid() here, after exec, it
    // would be the new parent of a server whose msa run died while it started, and that
    // server would fork the requests left in the socket into workers nobody stops.
    if (!is_fork_server(argc, argv)) return 2;
    const pid_t runner = static_cast<pid_t>(std::atol(argv[2]));
    prctl(PR_SET_PDEATHSIG, SIGKILL); // set before exec too; again in case exec cleared it
    if (runner <= 0 || getppid() != runner) return 1;
    prctl(PR_SET_NAME, "msa forkserver");
    const CommandLineArea title{argv[0], static_cast<std::size_t>(argv[3] + std::strlen(argv[3]) - argv[0])};
    // What a worker would load first: the built-in plugins and MSA_PLUGIN_PATH. A
    // manifest's own plugin_paths load in the worker. Failures are the worker's to report.
    PluginCatalog catalog;
    PluginLoader loader(catalog);
    load_standard_plugins(loader);
    std::string log;
    std::vector<std::string> arguments;
    while (read_request(log, arguments)) {
        const pid_t worker = fork_worker(run, runner, title, log, arguments);
        if (!write_all(kChannel, std::to_string(worker) + "\n")) return 1;
    }
    return 0;
}

std::unique_ptr<ForkServer> ForkServer::start() {
    if (const char* value = std::getenv("MSA_FORK_SERVER"); value && std::string_view(value) == "0") return nullptr;
    // Workers forked by the server reach msa run as orphans: it has to be their subreaper.
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        std::cerr << "note: workers start afresh (no fork server): " << std::strerror(errno) << "\n";
        return nullptr;
    }
    int sockets[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) return nullptr;
    const pid_t runner = ::getpid();
    std::string runner_argument = std::to_string(runner); // formatted before fork: no allocation after it
    std::string title_room(kTitleRoom, ' ');
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(sockets[0]);
        ::close(sockets[1]);
        return nullptr;
    }
    if (pid == 0) {
        // Only async-signal-safe calls until exec: the parent may have threads.
        setpgid(0, 0); // Ctrl-C is msa run's to handle; the server goes when the socket closes
        // It dies with msa run from here on, through its start (exec keeps the setting):
        // msa run's first request is in the socket before the server reads it.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != runner) _exit(127); // msa run died before prctl
        if (sockets[1] == kChannel)
            ::fcntl(kChannel, F_SETFD, 0); // keep it across exec
        else
            ::dup2(sockets[1], kChannel);
        ::dup2(STDERR_FILENO, STDOUT_FILENO);
        char* const argv[] = {const_cast<char*>("msa"), const_cast<char*>(kServerArgument.data()),
                              runner_argument.data(), title_room.data(), nullptr};
        ::execv("/proc/self/exe", argv); // our own image, even when a rebuild replaced the file
        _exit(127);
    }
    ::close(sockets[1]);
    return std::unique_ptr<ForkServer>(new ForkServer(pid, sockets[0]));
}

ForkServer::~ForkServer() {
    ::close(socket_);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
}

pid_t ForkServer::start_worker(const std::vector<std::string>& arguments, const std::filesystem::path& log) {
    std::string request = log.string() + '\0';
    for (const auto& a : arguments) request += a + '\0';
    request += '\0';
    std::string answer;
    if (!write_all(socket_, request) || !read_until(socket_, '\n', answer)) return -1;
    const pid_t pid = static_cast<pid_t>(std::atol(answer.c_str()));
    return pid > 0 ? pid : -1;
}

} // namespace msa::study

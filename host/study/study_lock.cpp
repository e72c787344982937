// flock(2) on `<study folder>/.msa-run.lock` (see study_lock.hpp).
#include "study/study_lock.hpp"

#include "util/utc_time.hpp"

#include <msa/error.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/file.h>
#include <unistd.h>

namespace msa::study {

StudyLock::StudyLock(const std::filesystem::path& folder) {
    const std::filesystem::path file = folder / ".msa-run.lock";
    // O_CLOEXEC: the worker processes must not hold it after msa run died.
    do {
        fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    } while (fd_ < 0 && errno == EINTR);
    if (fd_ < 0) throw Error("cannot open " + file.string() + ": " + std::strerror(errno));
    int rc;
    do {
        rc = ::flock(fd_, LOCK_EX | LOCK_NB);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        const int error = errno;
        char holder[256] = {};
        const ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
        ::close(fd_);
        fd_ = -1;
        if (error != EWOULDBLOCK)
            throw Error("cannot lock " + file.string() + ": " + std::strerror(error) +
                        " (flock is not supported on some network file systems)");
        std::string who(holder, n > 0 ? static_cast<std::size_t>(n) : 0);
        while (!who.empty() && (who.back() == '\n' || who.back() == '\0')) who.pop_back();
        throw Error("another msa run is running on the study folder " + folder.string() +
                    (who.empty() ? "" : " (" + who + ")") +
                    ": wait for it to end or stop it (Ctrl-C), or give this one another folder with --out");
    }
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    const std::string who = std::string("host ") + host + ", pid " + std::to_string(::getpid()) + ", since " +
                            utc_now() + "\n";
    if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, who.data(), who.size(), 0);
}

StudyLock::~StudyLock() {
    if (fd_ >= 0) ::close(fd_); // releases the lock
}

} // namespace msa::study

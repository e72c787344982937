// flock(2) on `<store>.lock`.
#include "store/store_lock.hpp"

#include <msa/error.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace msa {

namespace fs = std::filesystem;

fs::path StoreLock::lock_path(const fs::path& store) { return fs::path(store.string() + ".lock"); }

StoreLock::StoreLock(const fs::path& store, Mode mode) : path_(lock_path(store)), mode_(mode) {
    std::error_code ec;
    if (path_.has_parent_path()) fs::create_directories(path_.parent_path(), ec);
    do {
        fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    } while (fd_ < 0 && errno == EINTR);
    if (fd_ < 0)
        throw Error("feature store lock " + path_.string() + ": cannot open: " + std::strerror(errno) +
                    " (the folder must be writable, also for readers)");
    try {
        relock(mode);
    } catch (...) {
        ::close(fd_);
        throw;
    }
}

StoreLock::~StoreLock() {
    if (fd_ >= 0) ::close(fd_); // closing the last descriptor releases the lock
}

void StoreLock::relock(Mode mode) {
    const int operation = mode == Mode::exclusive ? LOCK_EX : LOCK_SH;
    int rc;
    do {
        rc = ::flock(fd_, operation);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0)
        throw Error("feature store lock " + path_.string() + ": cannot take a " +
                    (mode == Mode::exclusive ? "write" : "read") + " lock: " + std::strerror(errno) +
                    " (flock is not supported on some network file systems; put the store on a local disk)");
    mode_ = mode;
}

} // namespace msa

// write_file_atomically (see atomic_file.hpp), with POSIX calls: every write, the fsync
// and the close are checked, as an ostream would not say why it failed.
#include "util/atomic_file.hpp"

#include <msa/error.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace msa {

namespace {

[[noreturn]] void fail(const std::filesystem::path& file, const std::filesystem::path& partial, const char* step,
                       int error) {
    std::remove(partial.c_str());
    throw Error("cannot write " + file.string() + ": " + step + ": " + std::strerror(error) +
                (error == ENOSPC || error == EDQUOT ? " (free space on its filesystem, then run again)" : ""));
}

} // namespace

void write_file_atomically(const std::filesystem::path& file, const std::string& text) {
    const std::filesystem::path partial = file.string() + ".partial";
    int fd;
    do {
        fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) fail(file, partial, "open", errno);
    for (std::size_t done = 0; done < text.size();) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int error = n < 0 ? errno : EIO;
            ::close(fd);
            fail(file, partial, "write", error);
        }
        done += static_cast<std::size_t>(n);
    }
    // Without it, a crash of the machine soon after the rename can leave an empty file.
    if (::fsync(fd) != 0 && errno != EINVAL) {
        const int error = errno;
        ::close(fd);
        fail(file, partial, "fsync", error);
    }
    if (::close(fd) != 0) fail(file, partial, "close", errno);
    if (std::rename(partial.c_str(), file.c_str()) != 0) fail(file, partial, "rename", errno);
}

} // namespace msa

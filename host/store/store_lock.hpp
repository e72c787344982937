// The advisory lock that keeps processes sharing a feature store from corrupting it:
// flock(2) on the sidecar file `<store>.lock`.
#pragma once

#include <filesystem>

namespace msa {

// Shared for readers, exclusive for a writer. flock locks belong to the open file, so
// two StoreLocks exclude each other even inside one process, and the kernel drops a
// lock when its process dies (no stale locks after a crash).
class StoreLock {
public:
    enum class Mode { shared, exclusive };

    // `<store>.lock`: beside the store, so it follows the store's path, not its inode
    // (a repack renames a new file over the store).
    static std::filesystem::path lock_path(const std::filesystem::path& store);

    // Blocks until the lock is granted. Creates the lock file (and its folder) when
    // missing. Throws msa::Error naming the lock file when it cannot be opened or locked.
    StoreLock(const std::filesystem::path& store, Mode mode);
    ~StoreLock();
    StoreLock(const StoreLock&) = delete;
    StoreLock& operator=(const StoreLock&) = delete;

    // Switches to `mode`. Not atomic: another process may take the lock in between.
    void relock(Mode mode);
    Mode mode() const { return mode_; }

private:
    std::filesystem::path path_;
    int fd_ = -1;
    Mode mode_;
};

} // namespace msa

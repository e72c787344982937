// One `msa run` per study folder: a second one started on the same folder would plan,
// run and write the same trials and results.json as the first.
#pragma once

#include <filesystem>

namespace msa::study {

// flock(2) on `<folder>/.msa-run.lock`, taken without waiting. The kernel drops it when
// its process dies, so a killed msa run leaves no stale lock; the file records who holds
// it (host, pid, start time) for the message a second run gets.
class StudyLock {
public:
    // Throws msa::Error naming the folder and the running msa (host, pid, since when)
    // when another process holds it.
    explicit StudyLock(const std::filesystem::path& folder);
    ~StudyLock();
    StudyLock(const StudyLock&) = delete;
    StudyLock& operator=(const StudyLock&) = delete;

private:
    int fd_ = -1;
};

} // namespace msa::study

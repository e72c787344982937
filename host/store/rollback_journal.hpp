// Crash safety for in-place HDF5 updates: an HDF5 file driver that copies every byte
// of the store it is about to overwrite into a rollback journal `<store>.journal`
// first, so an update cut short by a crash can be undone byte for byte.
//
// One update = one H5Fopen(RDWR, journaled_access()) ... H5Fclose, then commit(). A
// journal that still exists when the next process takes the write lock is the trace
// of an update that never committed: roll_back() restores the store's bytes and size
// as they were before that update. See docs/feature-store.md for the argument.
#pragma once

#include <hdf5.h>

#include <filesystem>

namespace msa::rollback_journal {

std::filesystem::path journal_path(const std::filesystem::path& store);

// A new file access property list (the caller H5Pclose()s it) with the journaling
// driver: POSIX I/O like HDF5's sec2 driver, plus the journal for read-write opens.
hid_t journaled_access();

// Undoes the update recorded in journal_path(store), if there is one, and removes the
// journal. Returns whether a journal was found. Call with the store's write lock held.
// Idempotent: a crash during roll_back() leaves the journal for the next attempt.
bool roll_back(const std::filesystem::path& store);

// The update is complete (H5Fclose returned success): removes the journal.
void commit(const std::filesystem::path& store);

// Test hook for crash tests: the `nth` journal or store write from now on writes half
// its bytes, then the process SIGKILLs itself. 0 disarms.
void arm_crash_for_testing(long nth);

} // namespace msa::rollback_journal

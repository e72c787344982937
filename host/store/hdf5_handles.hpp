// HDF5 as the feature store uses it: calls serialized within the process, identifiers
// closed by RAII, failures turned into StoreError messages that name the file and the
// group (internal to host/store).
#pragma once

#include "store/feature_store.hpp"

#include <hdf5.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <utility>

namespace msa::store::detail {

// HDF5 calls are serialized in this process, and its error printing is replaced by
// StoreError messages.
class Hdf5Session {
public:
    Hdf5Session();

private:
    static std::mutex& mutex();
    std::lock_guard<std::mutex> lock_;
};

// An HDF5 identifier, closed when it goes.
class Handle {
public:
    Handle() = default;
    Handle(hid_t id, herr_t (*closer)(hid_t)) : id_(id), closer_(closer) {}
    Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), closer_(other.closer_) {}
    Handle& operator=(Handle&& other) noexcept {
        if (this != &other) {
            reset();
            id_ = std::exchange(other.id_, -1);
            closer_ = other.closer_;
        }
        return *this;
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle() { reset(); }

    hid_t get() const { return id_; }
    explicit operator bool() const { return id_ >= 0; }
    void reset() {
        if (id_ >= 0) closer_(id_);
        id_ = -1;
    }
    // Closes now and reports whether that worked (a file's close writes metadata).
    bool close() {
        const bool ok = id_ < 0 || closer_(id_) >= 0;
        id_ = -1;
        return ok;
    }

private:
    hid_t id_ = -1;
    herr_t (*closer_)(hid_t) = nullptr;
};

// The innermost HDF5 error messages, most specific first; clears HDF5's error stack.
std::string hdf5_reason();

// What a message is about: the file, and the group when there is one.
struct Context {
    const std::filesystem::path& file;
    std::string key;

    std::string where() const {
        return "feature store " + file.string() + (key.empty() ? std::string() : ", group " + key);
    }
    [[noreturn]] void fail(const std::string& what) const { throw StoreError(where() + ": " + what); }
    // An HDF5 identifier or status: negative means failure.
    template <class T> T check(T result, const std::string& what) const {
        if (result < 0) {
            const std::string reason = hdf5_reason();
            fail(what + ": " + reason + repair_hint(reason));
        }
        return result;
    }
    // How to repair what `reason` (HDF5's words) says is damaged on disk: a checksum or
    // a filter that failed during a read; else "".
    std::string repair_hint(const std::string& reason) const;
};

} // namespace msa::store::detail

// The journaling HDF5 file driver (a POSIX driver like sec2) and journal recovery.
//
// Journal layout, little-endian u64s:
//   header: "MSAJRNL1", original store size, checksum(first 16 bytes)
//   record: address, length, checksum(address, length, bytes), the store's old bytes
// The header is written before the first store write of an update, and each record
// before the store write that overwrites those bytes, so every store byte that differs
// from its pre-update value is covered by a complete record. A torn last record (crash
// while journaling) is detected by length or checksum; its bytes were not yet touched.
#include "store/rollback_journal.hpp"

#include <msa/error.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace msa::rollback_journal {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'M', 'S', 'A', 'J', 'R', 'N', 'L', '1'};
constexpr std::size_t kHeaderSize = 24;
constexpr std::size_t kRecordHeadSize = 24;
// Records are split so recovery never needs more memory than this.
constexpr std::uint64_t kMaxRecord = 8u << 20;

std::atomic<long> crash_countdown{0};

std::uint64_t fnv1a(const void* data, std::size_t size, std::uint64_t hash = 14695981039346656037ull) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) hash = (hash ^ bytes[i]) * 1099511628211ull;
    return hash;
}

void put_u64(unsigned char* out, std::uint64_t value) {
    for (int i = 0; i < 8; ++i) out[i] = static_cast<unsigned char>(value >> (8 * i));
}

std::uint64_t get_u64(const unsigned char* in) {
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value |= std::uint64_t(in[i]) << (8 * i);
    return value;
}

// pwrite until done; false with errno set on failure.
bool write_all(int fd, const void* data, std::size_t size, std::uint64_t at) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    while (size > 0) {
        const ssize_t n = ::pwrite(fd, bytes, size, static_cast<off_t>(at));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        bytes += n;
        at += static_cast<std::uint64_t>(n);
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

// pread until done or end of file; returns the bytes read, -1 on error.
ssize_t read_all(int fd, void* data, std::size_t size, std::uint64_t at) {
    auto* bytes = static_cast<unsigned char*>(data);
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::pread(fd, bytes + done, size - done, static_cast<off_t>(at + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) break;
        done += static_cast<std::size_t>(n);
    }
    return static_cast<ssize_t>(done);
}

// Every write the journal or the store sees goes through here, so the crash hook can
// tear any one of them.
bool checked_write(int fd, const void* data, std::size_t size, std::uint64_t at) {
    if (crash_countdown.load() > 0 && --crash_countdown == 0) {
        write_all(fd, data, size / 2, at);
        ::kill(::getpid(), SIGKILL);
        ::pause();
    }
    return write_all(fd, data, size, at);
}

struct DriverState {
    std::string path;
    std::string journal;
    int fd = -1;
    bool writable = false;
    haddr_t eoa = 0;
    haddr_t eof = 0;
    dev_t device = 0;
    ino_t inode = 0;
    // The update's journal: opened at the first write, closed with the store.
    haddr_t original_size = 0;
    int journal_fd = -1;
    std::uint64_t journal_end = 0;
    std::map<haddr_t, haddr_t> saved; // disjoint [start, end) ranges already journaled
};

// What HDF5 sees: its public part first, as every driver does.
struct JournaledFile {
    H5FD_t pub;
    DriverState* state;
};

DriverState& state_of(const H5FD_t* file) { return *reinterpret_cast<const JournaledFile*>(file)->state; }

herr_t fail(const char* function, hid_t minor, const std::string& message) {
    H5Epush2(H5E_DEFAULT, __FILE__, function, __LINE__, H5E_ERR_CLS, H5E_VFL, minor, "%s", message.c_str());
    return -1;
}

bool start_journal(DriverState& s) {
    if (s.journal_fd >= 0) return true;
    s.journal_fd = ::open(s.journal.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (s.journal_fd < 0) return false;
    unsigned char header[kHeaderSize];
    std::memcpy(header, kMagic, 8);
    put_u64(header + 8, s.original_size);
    put_u64(header + 16, fnv1a(header, 16));
    if (!checked_write(s.journal_fd, header, kHeaderSize, 0)) return false;
    s.journal_end = kHeaderSize;
    return true;
}

// Journals the old bytes of [start, end) that are not journaled yet.
bool append_record(DriverState& s, haddr_t start, haddr_t end) {
    std::vector<unsigned char> record;
    for (haddr_t at = start; at < end;) {
        const haddr_t length = std::min<haddr_t>(end - at, kMaxRecord);
        record.assign(kRecordHeadSize + length, 0);
        unsigned char* payload = record.data() + kRecordHeadSize;
        const ssize_t got = read_all(s.fd, payload, length, at);
        if (got < 0) return false;
        // Bytes past the end of file read as zeros; the final truncate restores the size.
        put_u64(record.data(), at);
        put_u64(record.data() + 8, length);
        put_u64(record.data() + 16, fnv1a(payload, length, fnv1a(record.data(), 16)));
        if (!checked_write(s.journal_fd, record.data(), record.size(), s.journal_end)) return false;
        s.journal_end += record.size();
        at += length;
    }
    return true;
}

bool save_old_bytes(DriverState& s, haddr_t start, haddr_t end) {
    end = std::min(end, s.original_size);
    if (start >= end) return true;
    haddr_t cursor = start;
    auto it = s.saved.upper_bound(cursor);
    if (it != s.saved.begin() && std::prev(it)->second > cursor) cursor = std::prev(it)->second;
    while (cursor < end) {
        it = s.saved.lower_bound(cursor);
        if (it != s.saved.end() && it->first == cursor) {
            cursor = it->second;
            continue;
        }
        const haddr_t gap_end = it == s.saved.end() ? end : std::min(end, it->first);
        if (!append_record(s, cursor, gap_end)) return false;
        s.saved.emplace(cursor, gap_end);
        cursor = gap_end;
    }
    return true;
}

H5FD_t* driver_open(const char* name, unsigned flags, hid_t, haddr_t maxaddr) {
    if (!name || !*name || maxaddr == 0 || maxaddr == HADDR_UNDEF) {
        fail(__func__, H5E_CANTOPENFILE, "invalid file name or address space");
        return nullptr;
    }
    int o_flags = (flags & H5F_ACC_RDWR) ? O_RDWR : O_RDONLY;
    if (flags & H5F_ACC_TRUNC) o_flags |= O_TRUNC;
    if (flags & H5F_ACC_CREAT) o_flags |= O_CREAT;
    if (flags & H5F_ACC_EXCL) o_flags |= O_EXCL;
    int fd;
    do {
        fd = ::open(name, o_flags | O_CLOEXEC, 0666);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        fail(__func__, H5E_CANTOPENFILE, std::string("cannot open ") + name + ": " + std::strerror(errno));
        return nullptr;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int error = errno;
        ::close(fd);
        fail(__func__, H5E_CANTOPENFILE, std::string("cannot stat ") + name + ": " + std::strerror(error));
        return nullptr;
    }
    auto* state = new DriverState;
    state->path = name;
    state->journal = journal_path(name).string();
    state->fd = fd;
    state->writable = (flags & H5F_ACC_RDWR) != 0;
    state->eof = static_cast<haddr_t>(st.st_size);
    state->original_size = state->eof;
    state->device = st.st_dev;
    state->inode = st.st_ino;
    auto* file = static_cast<JournaledFile*>(std::calloc(1, sizeof(JournaledFile)));
    file->state = state;
    return &file->pub;
}

herr_t driver_close(H5FD_t* file) {
    DriverState* state = reinterpret_cast<JournaledFile*>(file)->state;
    const bool closed = ::close(state->fd) == 0;
    // The journal stays until commit(): the caller knows whether the update succeeded.
    if (state->journal_fd >= 0) ::close(state->journal_fd);
    const std::string path = state->path;
    delete state;
    std::free(file);
    return closed ? 0 : fail(__func__, H5E_CANTCLOSEFILE, "cannot close " + path);
}

int driver_compare(const H5FD_t* a, const H5FD_t* b) {
    const DriverState& x = state_of(a);
    const DriverState& y = state_of(b);
    if (x.device != y.device) return x.device < y.device ? -1 : 1;
    if (x.inode != y.inode) return x.inode < y.inode ? -1 : 1;
    return 0;
}

herr_t driver_query(const H5FD_t*, unsigned long* flags) {
    if (flags)
        *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_DATA_SIEVE |
                 H5FD_FEAT_AGGREGATE_SMALLDATA | H5FD_FEAT_DEFAULT_VFD_COMPATIBLE;
    return 0;
}

haddr_t driver_get_eoa(const H5FD_t* file, H5FD_mem_t) { return state_of(file).eoa; }

herr_t driver_set_eoa(H5FD_t* file, H5FD_mem_t, haddr_t addr) {
    state_of(file).eoa = addr;
    return 0;
}

haddr_t driver_get_eof(const H5FD_t* file, H5FD_mem_t) { return state_of(file).eof; }

herr_t driver_get_handle(H5FD_t* file, hid_t, void** handle) {
    if (!handle) return fail(__func__, H5E_BADVALUE, "no handle pointer");
    *handle = &state_of(file).fd;
    return 0;
}

herr_t driver_read(H5FD_t* file, H5FD_mem_t, hid_t, haddr_t addr, size_t size, void* buffer) {
    DriverState& s = state_of(file);
    const ssize_t got = read_all(s.fd, buffer, size, addr);
    if (got < 0)
        return fail(__func__, H5E_READERROR, "cannot read " + s.path + ": " + std::strerror(errno));
    // Past the end of file reads as zeros, as in sec2.
    std::memset(static_cast<unsigned char*>(buffer) + got, 0, size - static_cast<std::size_t>(got));
    return 0;
}

herr_t driver_write(H5FD_t* file, H5FD_mem_t, hid_t, haddr_t addr, size_t size, const void* buffer) {
    DriverState& s = state_of(file);
    if (!s.writable) return fail(__func__, H5E_WRITEERROR, s.path + " is open read-only");
    if (!start_journal(s) || !save_old_bytes(s, addr, addr + size))
        return fail(__func__, H5E_WRITEERROR,
                    "cannot write the rollback journal " + s.journal + ": " + std::strerror(errno));
    if (!checked_write(s.fd, buffer, size, addr))
        return fail(__func__, H5E_WRITEERROR, "cannot write " + s.path + ": " + std::strerror(errno));
    s.eof = std::max<haddr_t>(s.eof, addr + size);
    return 0;
}

herr_t driver_truncate(H5FD_t* file, hid_t, hbool_t) {
    DriverState& s = state_of(file);
    if (s.eoa == s.eof) return 0;
    if (!s.writable) return 0;
    if (!start_journal(s) || !save_old_bytes(s, s.eoa, s.eof))
        return fail(__func__, H5E_WRITEERROR,
                    "cannot write the rollback journal " + s.journal + ": " + std::strerror(errno));
    if (::ftruncate(s.fd, static_cast<off_t>(s.eoa)) != 0)
        return fail(__func__, H5E_WRITEERROR, "cannot truncate " + s.path + ": " + std::strerror(errno));
    s.eof = s.eoa;
    return 0;
}

// The store's own sidecar lock (StoreLock) serializes access; HDF5's lock is not needed.
herr_t driver_lock(H5FD_t*, hbool_t) { return 0; }
herr_t driver_unlock(H5FD_t*) { return 0; }

H5FD_class_t make_class() {
    H5FD_class_t c{};
    c.name = "msa-journaled";
    c.maxaddr = (haddr_t(1) << (8 * sizeof(off_t) - 1)) - 1;
    c.fc_degree = H5F_CLOSE_WEAK;
    c.open = driver_open;
    c.close = driver_close;
    c.cmp = driver_compare;
    c.query = driver_query;
    c.get_eoa = driver_get_eoa;
    c.set_eoa = driver_set_eoa;
    c.get_eof = driver_get_eof;
    c.get_handle = driver_get_handle;
    c.read = driver_read;
    c.write = driver_write;
    c.truncate = driver_truncate;
    c.lock = driver_lock;
    c.unlock = driver_unlock;
    const H5FD_mem_t map[H5FD_MEM_NTYPES] = H5FD_FLMAP_DICHOTOMY;
    std::copy(std::begin(map), std::end(map), std::begin(c.fl_map));
    return c;
}

hid_t driver_id() {
    static const H5FD_class_t cls = make_class();
    static const hid_t id = H5FDregister(&cls);
    if (id < 0) throw Error("cannot register the feature store's HDF5 file driver (H5FDregister failed)");
    return id;
}

[[noreturn]] void fail_recovery(const fs::path& store, const std::string& what) {
    throw Error("feature store " + store.string() + ": cannot roll back an interrupted update (" + what + ": " +
                std::strerror(errno) + "); the journal " + journal_path(store).string() +
                " is kept: fix the cause (permissions, disk space) and run again, and do not delete it by hand");
}

} // namespace

fs::path journal_path(const fs::path& store) { return fs::path(store.string() + ".journal"); }

hid_t journaled_access() {
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_driver(fapl, driver_id(), nullptr) < 0) {
        if (fapl >= 0) H5Pclose(fapl);
        throw Error("cannot set up the feature store's HDF5 file driver (H5Pset_driver failed)");
    }
    return fapl;
}

bool roll_back(const fs::path& store) {
    const fs::path journal = journal_path(store);
    const int jfd = ::open(journal.c_str(), O_RDONLY | O_CLOEXEC);
    if (jfd < 0) {
        if (errno == ENOENT) return false;
        fail_recovery(store, "open " + journal.string());
    }
    struct Closer {
        int fd;
        ~Closer() {
            if (fd >= 0) ::close(fd);
        }
    } journal_closer{jfd};

    unsigned char header[kHeaderSize];
    const bool header_ok = read_all(jfd, header, kHeaderSize, 0) == ssize_t(kHeaderSize) &&
                           std::memcmp(header, kMagic, 8) == 0 && get_u64(header + 16) == fnv1a(header, 16);
    // Without a complete header no store byte was written yet: nothing to undo.
    if (header_ok) {
        const int fd = ::open(store.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT) fail_recovery(store, "open the store");
        if (fd >= 0) {
            Closer store_closer{fd};
            std::uint64_t at = kHeaderSize;
            std::vector<unsigned char> payload;
            for (;;) {
                unsigned char head[kRecordHeadSize];
                if (read_all(jfd, head, kRecordHeadSize, at) != ssize_t(kRecordHeadSize)) break;
                const std::uint64_t address = get_u64(head), length = get_u64(head + 8);
                if (length == 0 || length > kMaxRecord) break;
                payload.resize(length);
                if (read_all(jfd, payload.data(), length, at + kRecordHeadSize) != ssize_t(length)) break;
                if (get_u64(head + 16) != fnv1a(payload.data(), length, fnv1a(head, 16))) break;
                if (!write_all(fd, payload.data(), length, address)) fail_recovery(store, "write the store");
                at += kRecordHeadSize + length;
            }
            if (::ftruncate(fd, static_cast<off_t>(get_u64(header + 8))) != 0) fail_recovery(store, "truncate the store");
            if (::fsync(fd) != 0) fail_recovery(store, "fsync the store");
        }
    }
    if (::unlink(journal.c_str()) != 0 && errno != ENOENT) fail_recovery(store, "remove " + journal.string());
    return true;
}

void commit(const fs::path& store) {
    const fs::path journal = journal_path(store);
    if (::unlink(journal.c_str()) != 0 && errno != ENOENT)
        throw Error("feature store " + store.string() + ": cannot remove the journal " + journal.string() +
                    " after a complete update: " + std::strerror(errno));
}

void arm_crash_for_testing(long nth) { crash_countdown.store(nth); }

} // namespace msa::rollback_journal

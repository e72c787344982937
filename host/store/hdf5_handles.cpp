// The process-wide HDF5 lock and HDF5's error stack as text.
#include "store/hdf5_handles.hpp"

namespace msa::store::detail {

Hdf5Session::Hdf5Session() : lock_(mutex()) {
    static const bool silenced = [] {
        // No library shutdown at exit (it must be said before any other HDF5 call): a file
        // whose close failed (a full disk) stays in HDF5's table, and closing it again at
        // exit crashed in H5F__close_cb (libhdf5 1.10.8). Every file the store opens is
        // closed by its Handle, and its rollback journal covers an exit in between.
        H5dont_atexit();
        return H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr) >= 0;
    }();
    (void)silenced;
}

std::mutex& Hdf5Session::mutex() {
    static std::mutex m;
    return m;
}

std::string hdf5_reason() {
    std::string out;
    H5Ewalk2(
        H5E_DEFAULT, H5E_WALK_UPWARD,
        [](unsigned n, const H5E_error2_t* error, void* data) -> herr_t {
            auto& text = *static_cast<std::string*>(data);
            if (error->desc && *error->desc) text += (text.empty() ? "" : "; ") + std::string(error->desc);
            return n >= 2 ? 1 : 0;
        },
        &out);
    H5Eclear2(H5E_DEFAULT);
    return out.empty() ? "HDF5 gave no reason" : out;
}

std::string Context::repair_hint(const std::string& reason) const {
    if (reason.find("checksum") == std::string::npos && reason.find("during read") == std::string::npos) return {};
    if (key.empty())
        return " (the file is damaged: delete it, and msa encodes what a study needs again, or restore it from a copy)";
    return " (the group's stored data is damaged: `msa cache prune --store " + file.string() + " --key " + key +
           "` removes it, and msa encodes it again; `msa cache verify` lists every damaged group)";
}

} // namespace msa::store::detail

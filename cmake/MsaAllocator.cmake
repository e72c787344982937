# jemalloc for msa's executables. LibTorch frees and allocates activations of tens to
# hundreds of megabytes at every operator; glibc's malloc serves blocks that large with
# mmap and returns them at free, so the next operator's output is faulted in and zeroed
# page by page: encoding EfficientNet-Lite2 spent more time in the kernel than in its
# convolutions. jemalloc, told to keep freed pages (host/util/heap_policy.cpp), reuses
# them. Without it msa still builds and runs, on glibc's malloc, slower.
find_package(PkgConfig REQUIRED)
pkg_check_modules(MSA_JEMALLOC IMPORTED_TARGET jemalloc)
if(NOT MSA_JEMALLOC_FOUND)
  message(WARNING "jemalloc not found (Debian: libjemalloc-dev, which scripts/setup installs): "
                  "msa runs on glibc's malloc, and encoding and fine-tuning run up to several times slower")
endif()

# Links TARGET, an executable whose main calls msa::keep_freed_memory(), to jemalloc.
# Not under the sanitizers: AddressSanitizer brings its own allocator.
function(msa_use_jemalloc target)
  if(MSA_JEMALLOC_FOUND AND NOT MSA_SANITIZE)
    target_link_libraries(${target} PRIVATE PkgConfig::MSA_JEMALLOC)
  endif()
endfunction()

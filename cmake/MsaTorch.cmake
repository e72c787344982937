# LibTorch as one interface target, plus the precompiled header every LibTorch
# translation unit reuses (a LibTorch TU costs ~30 s without it).
find_package(Torch REQUIRED)
# LibTorch 2.x releases of late (pip's torch, which scripts/cuda-check builds against)
# refuse anything older than C++20; Debian's 1.13 builds as C++17. The standard is set
# here, before any target exists, so every target and the shared PCH agree.
find_file(MSA_ATEN_H ATen/ATen.h PATHS ${TORCH_INCLUDE_DIRS} NO_DEFAULT_PATH REQUIRED)
file(READ "${MSA_ATEN_H}" MSA_ATEN_HEADER)
if(MSA_ATEN_HEADER MATCHES "C\\+\\+20 or later")
  set(CMAKE_CXX_STANDARD 20)
endif()
message(STATUS "LibTorch ${Torch_VERSION} from ${TORCH_INSTALL_PREFIX}, C++${CMAKE_CXX_STANDARD}")

add_library(msa_torch INTERFACE)
target_link_libraries(msa_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(msa_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})

# pip's LibTorch carries fmt's headers (another version than the system's fmt library)
# in its include folder, which comes first: every LibTorch target then uses fmt header-only,
# so those headers need no library of their version. Debian's LibTorch shares the system's.
find_package(fmt REQUIRED)
get_filename_component(MSA_TORCH_INCLUDE "${MSA_ATEN_H}" DIRECTORY)
get_filename_component(MSA_TORCH_INCLUDE "${MSA_TORCH_INCLUDE}" DIRECTORY)
get_target_property(MSA_FMT_INCLUDE fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
if(EXISTS "${MSA_TORCH_INCLUDE}/fmt/format.h" AND NOT MSA_TORCH_INCLUDE IN_LIST MSA_FMT_INCLUDE)
  message(STATUS "fmt: header-only, from LibTorch's ${MSA_TORCH_INCLUDE}/fmt")
  target_compile_definitions(msa_torch INTERFACE FMT_HEADER_ONLY=1)
endif()

add_library(msa_pch OBJECT ${CMAKE_CURRENT_LIST_DIR}/pch.cpp)
target_link_libraries(msa_pch PUBLIC msa_torch)
target_precompile_headers(msa_pch PUBLIC <torch/torch.h>)

# Gives TARGET the shared LibTorch precompiled header.
function(msa_use_torch_pch target)
  target_link_libraries(${target} PRIVATE msa_torch)
  target_precompile_headers(${target} REUSE_FROM msa_pch)
endfunction()

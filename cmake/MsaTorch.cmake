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

add_library(msa_pch OBJECT ${CMAKE_CURRENT_LIST_DIR}/pch.cpp)
target_link_libraries(msa_pch PUBLIC msa_torch)
target_precompile_headers(msa_pch PUBLIC <torch/torch.h>)

# Gives TARGET the shared LibTorch precompiled header.
function(msa_use_torch_pch target)
  target_link_libraries(${target} PRIVATE msa_torch)
  target_precompile_headers(${target} REUSE_FROM msa_pch)
endfunction()

# LibTorch as one interface target, plus the precompiled header every LibTorch
# translation unit reuses (a LibTorch TU costs ~30 s without it).
find_package(Torch REQUIRED)

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

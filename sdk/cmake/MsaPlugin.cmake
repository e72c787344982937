# msa_add_plugin(NAME SOURCES...): builds a plugin library `NAME.so` that the msa
# host can load. Only the descriptor symbol is exported; everything else stays hidden
# so that two plugins never clash on symbol names.
function(msa_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE msa::sdk)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(DEFINED MSA_PLUGIN_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${MSA_PLUGIN_OUTPUT_DIR})
  endif()
endfunction()

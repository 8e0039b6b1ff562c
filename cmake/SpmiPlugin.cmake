# SPDX-License-Identifier: MIT
# spmi_add_plugin(<target> SOURCES <files...>)
# Builds a plugin as a MODULE library with hidden visibility and no undefined symbols, linked to
# spmi::core, and puts it in the plugin directory of the build tree (mirrored by the install).
function(spmi_add_plugin target)
  cmake_parse_arguments(ARG "" "OUTPUT_DIRECTORY" "SOURCES" ${ARGN})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE spmi::core spmi_settings)
  if(NOT ARG_OUTPUT_DIRECTORY)
    set(ARG_OUTPUT_DIRECTORY ${SPMI_PLUGIN_OUTPUT_DIR})
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY}
    INSTALL_RPATH "$ORIGIN/../..")
endfunction()

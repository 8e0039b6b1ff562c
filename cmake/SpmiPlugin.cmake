# SPDX-License-Identifier: MIT
# spmi_add_plugin(<target> SOURCES <files...> [OUTPUT_DIRECTORY <dir>] [INSTALL])
#
# Builds an spmi plugin: a MODULE library named <target>.so (no "lib" prefix) linked to spmi::core, in
# C++20, with hidden visibility (only the SPMI_EXPORT_* aliases and their ABI stamp are exported) and
# no undefined symbols (a missing symbol fails the link, not the dlopen). INSTALL installs it into
# ${CMAKE_INSTALL_LIBDIR}/spmi/plugins under the install prefix (spmi's own plugin directory when
# both share a prefix).
#
# The same file serves spmi's own tree and, installed with the SDK, third-party plugins
# (find_package(spmi CONFIG) includes it).
include_guard(GLOBAL)
include(GNUInstallDirs)

function(spmi_add_plugin target)
  cmake_parse_arguments(ARG "INSTALL" "OUTPUT_DIRECTORY" "SOURCES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "spmi_add_plugin(${target}): no SOURCES given")
  endif()
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE spmi::core)
  if(TARGET spmi_settings)  # spmi's own tree: its warnings and options
    target_link_libraries(${target} PRIVATE spmi_settings)
  endif()
  target_compile_features(${target} PRIVATE cxx_std_20)
  if(NOT SPMI_SANITIZE AND NOT SPMI_FUZZ)
    # Sanitizer runtimes come from the executable, so sanitized builds must allow undefined symbols.
    target_link_options(${target} PRIVATE LINKER:--no-undefined)
  endif()
  if(NOT ARG_OUTPUT_DIRECTORY AND DEFINED SPMI_PLUGIN_OUTPUT_DIR)
    set(ARG_OUTPUT_DIRECTORY ${SPMI_PLUGIN_OUTPUT_DIR})
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    INSTALL_RPATH "$ORIGIN/../..")
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
  endif()
  if(ARG_INSTALL)
    install(TARGETS ${target} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/spmi/plugins)
  endif()
endfunction()

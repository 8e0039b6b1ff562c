# SPDX-License-Identifier: MIT
# Compiler settings shared by every first-party target (linked PRIVATE as spmi_settings).
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)

# Hidden by default: only SPMI_API types and the plugin aliases are exported (see ANCHORS §4.3).
set(CMAKE_CXX_VISIBILITY_PRESET hidden)
set(CMAKE_VISIBILITY_INLINES_HIDDEN ON)
option(SPMI_SANITIZE "Build everything with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(SPMI_FUZZ "Build the libFuzzer targets (needs clang); implies the sanitizers" OFF)

if(SPMI_SANITIZE OR SPMI_FUZZ)
  set(SPMI_SANITIZER_FLAGS "-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer")
  string(APPEND CMAKE_CXX_FLAGS " ${SPMI_SANITIZER_FLAGS}")
  # GCC's flow analysis under ASan warns inside libstdc++'s <regex>; those are not ours.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    string(APPEND CMAKE_CXX_FLAGS " -Wno-maybe-uninitialized")
  endif()
  if(SPMI_FUZZ)
    string(APPEND CMAKE_CXX_FLAGS " -fsanitize=fuzzer-no-link")
  endif()
  foreach(kind EXE SHARED MODULE)
    string(APPEND CMAKE_${kind}_LINKER_FLAGS " -fsanitize=address,undefined")
  endforeach()
else()
  # A plugin or the core that misses a symbol fails at link time, not at dlopen time. (Not with the
  # sanitizers: their runtime symbols come from the executable.)
  string(APPEND CMAKE_SHARED_LINKER_FLAGS " -Wl,--no-undefined")
  string(APPEND CMAKE_MODULE_LINKER_FLAGS " -Wl,--no-undefined")
endif()

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

# Build tree mirrors the install tree, so the plugin directory is found the same way in both.
set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/${CMAKE_INSTALL_BINDIR})
set(CMAKE_LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/${CMAKE_INSTALL_LIBDIR})
set(SPMI_PLUGIN_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/spmi/plugins)
set(SPMI_PLUGIN_OUTPUT_DIR ${CMAKE_BINARY_DIR}/${SPMI_PLUGIN_INSTALL_DIR})
file(RELATIVE_PATH SPMI_PLUGIN_DIR_FROM_BIN
  /prefix/${CMAKE_INSTALL_BINDIR} /prefix/${SPMI_PLUGIN_INSTALL_DIR})
# The lean supervisor (core/supervise), a program of spmi's own, not for the PATH.
set(SPMI_SUPERVISE_INSTALL_DIR ${CMAKE_INSTALL_LIBEXECDIR}/spmi)
file(RELATIVE_PATH SPMI_SUPERVISE_DIR_FROM_BIN
  /prefix/${CMAKE_INSTALL_BINDIR} /prefix/${SPMI_SUPERVISE_INSTALL_DIR})
set(SPMI_SUPERVISE_FROM_BIN ${SPMI_SUPERVISE_DIR_FROM_BIN}/spmi-supervise)
file(RELATIVE_PATH SPMI_LIB_DIR_FROM_BIN
  /prefix/${CMAKE_INSTALL_BINDIR} /prefix/${CMAKE_INSTALL_LIBDIR})

add_library(spmi_settings INTERFACE)
target_compile_options(spmi_settings INTERFACE -Wall -Wextra -Wpedantic)
if(SPMI_DEV_MODE)
  target_compile_options(spmi_settings INTERFACE -Werror)
endif()

# SPDX-License-Identifier: MIT
# The installed plugin SDK: public headers, libspmi_core, a CMake package (find_package(spmi CONFIG))
# and a pkg-config file. Both are relocatable: they find the prefix from where they are installed.
include(CMakePackageConfigHelpers)

set(SPMI_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/spmi)
file(STRINGS ${PROJECT_SOURCE_DIR}/core/include/spmi/export.hpp abi_line
     REGEX "^#define SPMI_PLUGIN_ABI_VERSION [0-9]+$")
string(REGEX REPLACE ".* " "" SPMI_PLUGIN_ABI_VERSION "${abi_line}")

install(DIRECTORY ${PROJECT_SOURCE_DIR}/core/include/spmi DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")
install(EXPORT spmiTargets NAMESPACE spmi:: DESTINATION ${SPMI_CMAKE_INSTALL_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/templates/spmiConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/spmiConfig.cmake
  INSTALL_DESTINATION ${SPMI_CMAKE_INSTALL_DIR}
  PATH_VARS SPMI_PLUGIN_INSTALL_DIR)
# The plugin ABI is the compatibility promise; 0.x releases promise it within a minor version.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/spmiConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/cmake/spmiConfig.cmake
  ${PROJECT_BINARY_DIR}/cmake/spmiConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/SpmiPlugin.cmake
  DESTINATION ${SPMI_CMAKE_INSTALL_DIR})

file(RELATIVE_PATH SPMI_PC_PREFIX_FROM_PCDIR /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" SPMI_PC_PREFIX_FROM_PCDIR "${SPMI_PC_PREFIX_FROM_PCDIR}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/templates/spmi.pc.in ${PROJECT_BINARY_DIR}/spmi.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/spmi.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

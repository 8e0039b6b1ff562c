# SPDX-License-Identifier: MIT
# Every dependency comes from a Debian package; nothing is downloaded.
find_package(Boost 1.74 REQUIRED)   # Boost.DLL is header-only in 1.74
find_package(CLI11 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(spdlog REQUIRED)
find_package(Threads REQUIRED)
# RE2 (libre2-dev) matches ID patterns in time linear in the ID; Debian 12's ships a pkg-config file
# but no CMake config. Linked privately to the core only.
find_package(PkgConfig REQUIRED)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)

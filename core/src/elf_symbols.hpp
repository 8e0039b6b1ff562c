// SPDX-License-Identifier: MIT
// Reads the names a shared object exports in one ELF section, without loading it.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace spmi::detail {

// Names of the global or weak, default-visibility symbols of the dynamic symbol table (.dynsym, so a
// stripped plugin works too) that live in section `section`. Empty when there is no such section.
// Throws std::runtime_error saying what is wrong with a file that is not a well-formed 64-bit
// little-endian ELF shared object. (Boost 1.74's library_info reads .symtab only, and with the wrong
// string table when several exist, so it misnames symbols and finds none in stripped files.)
std::vector<std::string> section_symbols(const std::filesystem::path& path, std::string_view section);

} // namespace spmi::detail

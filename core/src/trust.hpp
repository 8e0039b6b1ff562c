// SPDX-License-Identifier: MIT
// Whether code in a file may be run: the rule for plugin files and directories and for the lean
// supervisor, which spmi loads or executes as the user who runs it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace spmi {

/// Why the file or directory at `path` (named `what` in the message) must not be trusted with code:
/// missing, owned by someone other than the user or root, or writable by other users (anyone who can
/// change it could run code as every user of this spmi). nullopt: it may be trusted.
std::optional<std::string> distrust_code(const std::filesystem::path& path, const char* what);

} // namespace spmi

// SPDX-License-Identifier: MIT
// A simple command run without a shell in between (as supervisord and s6 do): when the command needs
// no shell, its words are executed directly, with what /bin/sh would have given the program; anything
// else keeps `/bin/sh -c <command>` (exported for the unit tests, not part of the SDK).
#pragma once

#include <spmi/export.hpp>
#include <spmi/process.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spmi::wrapper {

// The words of `command` when /bin/sh would run it as one simple command of plain words: blanks
// between words, '...' and "..." quoting (nothing but literal text inside), no expansion, redirection,
// glob, comment, assignment, operator or compound syntax, and a first word that is neither a reserved
// word nor a shell builtin. nullopt when the shell is needed.
SPMI_API std::optional<std::vector<std::string>> direct_words(std::string_view command);

// The program /bin/sh would execute for `name` (a command's first word): `name` itself when it has a
// '/', else the first regular, executable file named so in the directories of `path` (an empty entry
// is "."); relative ones are taken from `cwd`. nullopt when none, or when the file is neither an ELF
// binary nor starts with "#!" (the shell would run it as a script itself).
SPMI_API std::optional<std::filesystem::path> direct_program(const std::string& name, std::string_view path,
                                                            const std::filesystem::path& cwd);

// `env` ("NAME=value") as /bin/sh (dash) passes it on: entries whose name is not a shell variable
// name are dropped, and PWD is set to `cwd` unless it already names that directory by an absolute path.
SPMI_API std::vector<std::string> shell_environment(const std::vector<std::string>& env,
                                                    const std::filesystem::path& cwd);

// Makes `task` (its env, extra_env and cwd already set) run `command` directly when direct_words()
// and direct_program() allow it: its argv, program and environment. False (task unchanged): it needs
// `/bin/sh -c`.
SPMI_API bool run_directly(const std::string& command, process::SpawnOptions& task);

} // namespace spmi::wrapper

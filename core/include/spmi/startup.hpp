// SPDX-License-Identifier: MIT
/// \file
/// `spmi startup`: what runs `spmi resurrect` at boot for this user, and how it is installed and removed:
/// a systemd user unit where systemd runs, else a crontab `@reboot` line.
#pragma once

#include <spmi/export.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spmi::startup {

/// How `spmi resurrect` is run at boot.
enum class Method
{
  systemd,  ///< a user unit, enabled for default.target (with linger, the user manager starts at boot)
  cron,     ///< an `@reboot` line in the user's crontab
};

/// "systemd" or "cron".
SPMI_API std::string method_name(Method method);
/// Parses "systemd" or "cron"; nullopt for anything else.
SPMI_API std::optional<Method> parse_method(std::string_view name);

/// What `spmi startup` installs for one store, and where. Built by plan(); nothing is changed.
struct SPMI_API Plan
{
  /// the method chosen
  Method method = Method::cron;
  /// why it was chosen ("asked for with --method", "systemd is not PID 1: ...")
  std::string why;
  /// the store, absolute ($SPMI_PATH)
  std::filesystem::path store;
  /// the spmi executable, absolute
  std::filesystem::path exe;
  /// the user it is installed for (login name)
  std::string user;
  /// systemd: the unit file
  std::filesystem::path unit_path;
  /// systemd: the unit file's text
  std::string unit_text;
  /// systemd: the commands run after writing the unit, in order (the last one asks for linger)
  std::vector<std::vector<std::string>> commands;
  /// cron: the `@reboot` line
  std::string cron_line;
  /// cron: the comment that ends our line, naming the store ("# spmi-startup <store>")
  std::string cron_marker;
};

/// What install() or uninstall() did, and what went wrong without stopping it.
struct SPMI_API Result
{
  /// one line per change or command run
  std::vector<std::string> done;
  /// problems that leave it working only in part (linger refused, no user manager to reload)
  std::vector<std::string> warnings;
};

/// Decides what to install for `store` run by `exe`: with `method` unset, systemd when it runs as PID 1
/// (/run/systemd/system exists) and `systemctl --user` answers, else cron. `plugin_path` is
/// $SPMI_PLUGIN_PATH ("" when unset), passed on to the boot-time run.
/// @throws UsageError `store` or `exe` is relative or holds a control character.
/// @throws SystemError the user's name or home can't be found.
SPMI_API Plan plan(std::optional<Method> method, const std::filesystem::path& store, const std::filesystem::path& exe,
                   const std::string& plugin_path);

/// Installs the plan: writes the unit and runs plan.commands, or replaces our line in the crontab
/// (keeping every other line). Running it twice leaves one copy.
/// @throws BackendError a tool is missing (then nothing is changed) or fails.
/// @throws StateError the unit file belongs to another store.
/// @throws SystemError a file can't be written.
SPMI_API Result install(const Plan& plan);
/// Removes what install() added: disables and deletes the unit, or deletes our crontab line. With
/// `both`, looks for either method's traces (what was installed may have been chosen another way).
/// @throws as install().
SPMI_API Result uninstall(const Plan& plan, bool both);

/// @name Text building, pure (unit-tested)
/// @{

/// `text` as one double-quoted word of a unit file's Environment= or ExecStart= ("\\", "\"", "%%", "$$").
SPMI_API std::string systemd_quote(std::string_view text);
/// `text` as one single-quoted /bin/sh word.
SPMI_API std::string shell_quote(std::string_view text);
/// `text` with every `%` escaped as `\%`, which cron would otherwise turn into a newline.
SPMI_API std::string cron_escape(std::string_view text);
/// `crontab` with every line that ends with `marker` removed and, unless `line` is empty, `line` put in
/// the place of the first one (or appended). Other lines are kept as they are.
SPMI_API std::string merge_crontab(const std::string& crontab, const std::string& marker, const std::string& line);
/// @}

} // namespace spmi::startup

// SPDX-License-Identifier: MIT
// `spmi startup`: deciding what runs `spmi resurrect` at boot, and the text of the unit or cron line.
// Installing and removing it is startup_install.cpp.
#include <spmi/errors.hpp>
#include <spmi/process.hpp>
#include <spmi/startup.hpp>

#include <fmt/format.h>

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <tuple>

namespace spmi::startup {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_unit_name = "spmi-resurrect.service";

// Refuses what can't be written safely into a unit file or a crontab line.
void
check_path(const fs::path& path, const std::string& what)
{
  const auto& text = path.native();
  if (!path.is_absolute()) {
    throw UsageError(fmt::format("{} '{}' is relative; the command run at boot needs an absolute path (for the "
                                 "store, set SPMI_PATH to one, e.g. SPMI_PATH=$PWD/{})",
                                 what, text, text));
  }
  if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    throw UsageError(fmt::format("{} '{}' holds a control character (a newline?), which a unit file or crontab line "
                                 "can't carry; use another path",
                                 what, text));
  }
}

// The user's name and home directory.
std::pair<std::string, fs::path>
user_and_home()
{
  const passwd* entry = ::getpwuid(::geteuid());
  if (entry == nullptr) {
    throw SystemError(fmt::format("cannot find the name of user {} in the password database", ::geteuid()));
  }
  const char* home = std::getenv("HOME");
  return {entry->pw_name, home != nullptr && fs::path(home).is_absolute() ? fs::path(home) : fs::path(entry->pw_dir)};
}

// Method auto: systemd when it is PID 1 and this user's manager answers, else cron, and why.
std::pair<Method, std::string>
detect()
{
  if (!fs::is_directory("/run/systemd/system")) {
    return {Method::cron, "systemd is not running as PID 1 here (/run/systemd/system is missing)"};
  }
  try {
    const auto answer = process::run_capture({"systemctl", "--user", "show-environment"}, std::chrono::seconds(5));
    if (answer.status.code == 0 && answer.status.signal == 0) {
      return {Method::systemd, "systemd runs as PID 1 and `systemctl --user` answers"};
    }
    return {Method::cron, fmt::format("systemd runs, but `systemctl --user` fails ({}); no user manager is reachable",
                                      answer.err.substr(0, answer.err.find('\n')))};
  } catch (const Error& e) {
    return {Method::cron, fmt::format("systemd runs, but `systemctl --user` can't be run ({})", e.what())};
  }
}

std::string
unit_text(const Plan& plan, const std::string& plugin_path)
{
  std::string text = fmt::format(
    "# spmi-startup {}\n"
    "# Written by `spmi startup --install`, removed by `spmi startup --uninstall`: at boot, starts again\n"
    "# the spmi tasks that were running when the host went down (`spmi resurrect`).\n"
    "[Unit]\n"
    "Description=spmi resurrect: start again the tasks that ran before the reboot\n"
    "\n"
    "[Service]\n"
    "Type=oneshot\n"
    "RemainAfterExit=yes\n"
    "Environment={}\n",
    plan.store.string(), systemd_quote("SPMI_PATH=" + plan.store.string()));
  if (!plugin_path.empty()) {
    text += fmt::format("Environment={}\n", systemd_quote("SPMI_PLUGIN_PATH=" + plugin_path));
  }
  text += fmt::format("ExecStart={} resurrect\n"
                      "# The wrappers it starts must outlive this unit: stopping it ends only its own process.\n"
                      "KillMode=process\n"
                      "\n"
                      "[Install]\n"
                      "WantedBy=default.target\n",
                      systemd_quote(plan.exe.string()));
  return text;
}

std::string
cron_line(const Plan& plan, const std::string& plugin_path)
{
  const auto word = [](const std::string& text) { return cron_escape(shell_quote(text)); };
  std::string line = "@reboot SPMI_PATH=" + word(plan.store.string());
  if (!plugin_path.empty()) {
    line += " SPMI_PLUGIN_PATH=" + word(plugin_path);
  }
  return line + fmt::format(" {} resurrect >> {} 2>&1 {}", word(plan.exe.string()),
                            word((plan.store / "resurrect.log").string()), plan.cron_marker);
}

} // namespace

std::string
method_name(Method method)
{
  return method == Method::systemd ? "systemd" : "cron";
}

std::optional<Method>
parse_method(std::string_view name)
{
  if (name == "systemd") {
    return Method::systemd;
  }
  if (name == "cron") {
    return Method::cron;
  }
  return std::nullopt;
}

Plan
plan(std::optional<Method> method, const fs::path& store, const fs::path& exe, const std::string& plugin_path)
{
  check_path(store, "the store path (SPMI_PATH)");
  check_path(exe, "the spmi executable");
  if (plugin_path.find('\n') != std::string::npos) {
    throw UsageError("SPMI_PLUGIN_PATH holds a newline, which a unit file or crontab line can't carry; unset it");
  }
  Plan result;
  std::tie(result.method, result.why) = method ? std::pair{*method, std::string("asked for with --method")} : detect();
  result.store = store.lexically_normal();
  result.exe = exe;
  fs::path home;
  std::tie(result.user, home) = user_and_home();
  const char* config = std::getenv("XDG_CONFIG_HOME");
  const fs::path config_dir = config != nullptr && fs::path(config).is_absolute() ? fs::path(config) : home / ".config";
  result.unit_path = config_dir / "systemd" / "user" / k_unit_name;
  result.unit_text = unit_text(result, plugin_path);
  result.commands = {{"systemctl", "--user", "daemon-reload"},
                     {"systemctl", "--user", "enable", k_unit_name},
                     {"loginctl", "enable-linger", result.user}};
  result.cron_marker = "# spmi-startup " + cron_escape(result.store.string());
  result.cron_line = cron_line(result, plugin_path);
  return result;
}

std::string
systemd_quote(std::string_view text)
{
  std::string quoted = "\"";
  for (const char c : text) {
    switch (c) {
    case '\\': quoted += "\\\\"; break;
    case '"': quoted += "\\\""; break;
    case '%': quoted += "%%"; break;
    case '$': quoted += "$$"; break;
    default: quoted += c;
    }
  }
  return quoted + "\"";
}

std::string
shell_quote(std::string_view text)
{
  std::string quoted = "'";
  for (const char c : text) {
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return quoted + "'";
}

std::string
cron_escape(std::string_view text)
{
  std::string escaped;
  for (const char c : text) {
    escaped += c == '%' ? std::string("\\%") : std::string(1, c);
  }
  return escaped;
}

std::string
merge_crontab(const std::string& crontab, const std::string& marker, const std::string& line)
{
  std::istringstream in(crontab);
  std::string result;
  bool placed = line.empty();
  for (std::string current; std::getline(in, current);) {
    const bool ours = current.size() >= marker.size() &&
                      current.compare(current.size() - marker.size(), marker.size(), marker) == 0;
    if (!ours) {
      result += current + "\n";
    } else if (!placed) {
      result += line + "\n";
      placed = true;
    }
  }
  if (!placed) {
    result += line + "\n";
  }
  return result;
}

} // namespace spmi::startup

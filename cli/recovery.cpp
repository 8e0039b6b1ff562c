// SPDX-License-Identifier: MIT
// `spmi resurrect` and `spmi startup`: show what the core decided and did after a reboot, and what
// runs resurrect at boot.
#include "commands.hpp"

#include <spmi/errors.hpp>
#include <spmi/log.hpp>
#include <spmi/process.hpp>
#include <spmi/startup.hpp>
#include <spmi/text.hpp>

#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

namespace spmi::cli {

namespace {

// True when `fd` writes to the file at `path` (cron's `>> resurrect.log 2>&1`): the core has already
// logged each line there, timestamped, so they are not written twice.
bool
writes_to(int fd, const std::filesystem::path& path)
{
  struct stat of_fd {};
  struct stat of_path {};
  return !path.empty() && ::fstat(fd, &of_fd) == 0 && ::stat(path.c_str(), &of_path) == 0 &&
         of_fd.st_dev == of_path.st_dev && of_fd.st_ino == of_path.st_ino;
}

int
exit_code_of(const std::exception_ptr& error)
{
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    return e.exit_code();
  } catch (...) {
    return exit_status::k_failed;
  }
}

void
print_plan(const startup::Plan& plan, StartupMode mode)
{
  std::string out = fmt::format("Method: {} ({})\n", startup::method_name(plan.method), plan.why);
  if (mode == StartupMode::uninstall) {
    out += plan.method == startup::Method::systemd
             ? fmt::format("Would disable and remove {}, then reload the user manager\n", plan.unit_path.string())
             : fmt::format("Would remove from {}'s crontab the line ending with: {}\n", plan.user, plan.cron_marker);
  } else if (plan.method == startup::Method::systemd) {
    out += fmt::format("Would write {}:\n{}Then run:\n", plan.unit_path.string(), plan.unit_text);
    for (const auto& argv : plan.commands) {
      std::string line;
      for (const auto& arg : argv) {
        line += (line.empty() ? "  " : " ") + arg;
      }
      out += line + "\n";
    }
    out += fmt::format("(linger starts {}'s user manager at boot, without a login; without it the unit runs only "
                       "when {} logs in)\n",
                       plan.user, plan.user);
  } else {
    out += fmt::format("Would add to {}'s crontab (crontab -l, then crontab -):\n{}\n", plan.user, plan.cron_line);
  }
  std::cout << out << std::flush;
  logger()->info("Nothing was changed; `spmi startup --{}` does it",
                 mode == StartupMode::uninstall ? "uninstall" : "install");
}

} // namespace

int
cmd_resurrect(Controller& controller, const std::vector<std::string>& patterns, bool dry_run)
{
  std::vector<std::string> ids;
  int status = exit_status::k_ok;
  if (patterns.empty()) {
    ids = controller.ids();
  } else if (!select_or_report(controller, patterns, ids)) {
    status = exit_status::k_failed;
  }
  const auto report = controller.resurrect(ids, dry_run);
  const bool logged_here = writes_to(STDOUT_FILENO, report.log_path);
  std::string out;
  std::size_t started = 0;
  for (const auto& outcome : report.outcomes) {
    if (!logged_here) {
      out += escape_control(outcome.summary(dry_run)) + "\n";
    }
    started += outcome.verdict == ResurrectVerdict::start ? 1 : 0;
    if (outcome.failed()) {
      status = std::max(status, exit_code_of(outcome.error));
      --started;
    }
  }
  std::cout << out << std::flush;
  if (dry_run) {
    logger()->info("Dry run: would start {} of {} manageables; nothing was changed", started, ids.size());
  } else {
    logger()->info("Resurrected {} of {} manageables (boot {}); see {}", started, ids.size(),
                   report.boot_id.substr(0, 8), report.log_path.string());
  }
  return status;
}

int
cmd_startup(const Controller& controller, StartupMode mode, const std::string& method, bool dry_run)
{
  const char* plugin_path = std::getenv("SPMI_PLUGIN_PATH");
  const auto forced = method.empty() ? std::nullopt : startup::parse_method(method);
  const auto plan = startup::plan(forced, controller.state_root(), process::self_exe(),
                                  plugin_path == nullptr ? "" : plugin_path);
  if (mode == StartupMode::show || dry_run) {
    print_plan(plan, mode);
    return exit_status::k_ok;
  }
  const auto result = mode == StartupMode::install ? startup::install(plan) : startup::uninstall(plan, !forced);
  std::string out;
  for (const auto& line : result.done) {
    out += line + "\n";
  }
  std::cout << out << std::flush;
  for (const auto& warning : result.warnings) {
    logger()->warn("{}", warning);
  }
  if (mode == StartupMode::install) {
    logger()->info("Installed: at boot, {} runs `spmi resurrect` for {}", startup::method_name(plan.method),
                   plan.store.string());
  } else {
    logger()->info("Uninstalled what `spmi startup --install` added for {}", plan.store.string());
  }
  return exit_status::k_ok;
}

} // namespace spmi::cli

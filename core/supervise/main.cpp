// SPDX-License-Identifier: MIT
// spmi-supervise: the lean supervisor (core/src/run/lean.hpp). `spmi __run` becomes this program once
// it has read its settings; it runs the same run protocol, linked statically from the protocol's own
// code, so a running task costs a few pages. Its watchdog is this program too, in a mode that only waits.
//   spmi-supervise <spmi> <dir> <token> <settings-fd>
//   spmi-supervise --watchdog <spmi> <dir> <token> <settings-fd> <caller> <alive-fd> <origin>
#include "../src/run/lean.hpp"
#include "../src/run/recovery.hpp"

#include <spmi/errors.hpp>
#include <spmi/membership.hpp>
#include <spmi/process.hpp>
#include <spmi/recorded.hpp>
#include <spmi/run_protocol.hpp>
#include <spmi/state.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

using namespace spmi;

// A descriptor number given on the command line (above stderr).
int
descriptor(const char* text, const char* what)
{
  char* end = nullptr;
  const long fd = std::strtol(text, &end, 10);
  if (!end || *end != '\0' || fd < 3 || fd > 65535) {
    throw SystemError(fmt::format("'{}' is not a {} descriptor", text, what));
  }
  return static_cast<int>(fd);
}

// The settings document in the memfd the wrapper wrote it to (read from its start, whoever read before).
RunSettings
read_settings(int fd)
{
  std::string text;
  char buffer[8192];
  ssize_t n;
  while ((n = ::pread(fd, buffer, sizeof buffer, static_cast<off_t>(text.size()))) > 0) {
    text.append(buffer, static_cast<std::size_t>(n));
  }
  if (n < 0) {
    throw_errno("read the settings");
  }
  return wrapper::settings_from_json(nlohmann::json::parse(text));
}

int
supervise(char** argv)
{
  const ManageableDir dir(argv[1]);
  // The wrapper's marker stays in this process's /proc environment (another task's fallback membership
  // looks there) but not in what its task inherits.
  ::unsetenv(process::k_wrapper_marker_name);
  try {
    const int settings_fd = descriptor(argv[3], "settings");
    ::fcntl(settings_fd, F_SETFD, FD_CLOEXEC);  // for the watchdogs, not for the task
    wrapper::set_wrapper_executable(argv[0], settings_fd);
    const auto settings = read_settings(settings_fd);
    dir.verify();
    return run_protocol(dir, argv[2], settings);
  } catch (const std::exception& e) {
    wrapper::append_log(dir, fmt::format("wrapper {}: spmi-supervise: {}", ::getpid(), e.what()));
    std::fprintf(stderr, "spmi-supervise: %s\n", e.what());
    return 1;
  }
}

// Waits for the supervisor's death, then does what the forked watchdog does (wrapper::after_wrapper_killed)
// for the run it recorded: its group as run.json names it (a cgroup only where it is the run's own).
int
watchdog(char** argv)
{
  const ManageableDir dir(argv[1]);
  const std::string token = argv[2];
  const int settings_fd = descriptor(argv[3], "settings");
  const pid_t caller = static_cast<pid_t>(std::strtol(argv[4], nullptr, 10));
  const int alive_fd = descriptor(argv[5], "alive lock");
  ::fcntl(settings_fd, F_SETFD, FD_CLOEXEC);
  ::fcntl(alive_fd, F_SETFD, FD_CLOEXEC);
  process::release_idle_memory();
  process::wait_for_caller_death(caller);
  try {
    wrapper::set_wrapper_executable(argv[0], settings_fd);
    const auto settings = read_settings(settings_fd);
    dir.verify();
    const auto run = dir.read_run();
    if (!run || run->token != token) {
      return 0;
    }
    process::TaskGroup group(process::trusted_cgroup(dir.id(), *run), token, caller, ::getpid(),
                             static_cast<pid_t>(run->pid), argv[6]);
    wrapper::after_wrapper_killed(dir, token, group, alive_fd, settings);
  } catch (const std::exception& e) {
    wrapper::append_log(dir, fmt::format("watchdog {}: {}", ::getpid(), e.what()));
  }
  return 0;
}

} // namespace

int
main(int argc, char** argv)
{
  // One malloc arena: the output pump's thread would otherwise get one of its own (a page or more of
  // memory per task, for a thread that allocates little).
  ::mallopt(M_ARENA_MAX, 1);
  if (argc == 5) {
    return supervise(argv + 1);
  }
  if (argc == 9 && std::strcmp(argv[1], "--watchdog") == 0) {
    try {
      return watchdog(argv + 2);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "spmi-supervise: %s\n", e.what());
      return 1;
    }
  }
  std::fputs("spmi-supervise: an internal program of spmi, started by the wrapper process (`spmi __run`); "
             "use `spmi start`\n",
             stderr);
  return 2;
}

// SPDX-License-Identifier: MIT
// spmi-supervise: the lean supervisor (core/src/run/lean.hpp). A backend starts it as a default-wrapper
// task's wrapper process, with the settings `start` wrote (--launched); `spmi __run` (a replacement
// wrapper, an spmi whose supervisor was not trusted then) becomes it once it has read its settings. It
// runs the same run protocol, linked statically from the protocol's own code, so a running task costs a
// few pages. Its watchdog is this program too, in a mode that only waits.
//   spmi-supervise <spmi> <dir> <token> <settings-fd>
//   spmi-supervise --launched <spmi> <dir> <token>       (started by the backend; settings in supervise.json)
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

// The settings document in `fd` (read from its start, whoever read before): the memfd the wrapper wrote
// it to, or the manageable's supervise.json.
nlohmann::json
read_document(int fd)
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
  return nlohmann::json::parse(text);
}

RunSettings
read_settings(int fd)
{
  return wrapper::settings_from_json(read_document(fd));
}

// supervise.json, opened above the standard streams (close-on-exec: the watchdogs inherit it, not the task).
int
open_launched_settings(const ManageableDir& dir)
{
  const char* name = wrapper::k_launched_settings_file;
  int fd = dir.open_file(name, O_RDONLY);
  if (fd < 0) {
    throw_errno(fmt::format("cannot open {}", (dir.path() / name).string()));
  }
  if (fd < 3) {  // with a closed stdin, say: the watchdog's command line takes no standard stream
    const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    ::close(fd);
    if (moved < 0) {
      throw_errno("cannot move the settings' descriptor above the standard streams");
    }
    fd = moved;
  }
  return fd;
}

// A failure the supervisor can't go on from: said in the task's log, where `status` shows it, and on stderr.
int
failed(const ManageableDir& dir, const std::string& what)
{
  wrapper::append_log(dir, fmt::format("wrapper {}: spmi-supervise: {}", ::getpid(), what));
  std::fprintf(stderr, "spmi-supervise: %s\n", what.c_str());
  return 1;
}

// When supervise.json can't be read (gone, cut short, not spmi's), `spmi __run` supervises instead: it
// takes the settings from the manageable itself, as a wrapper that was handed no supervisor does.
int
run_through_spmi(const ManageableDir& dir, const std::string& spmi, const std::string& token, const std::string& why)
{
  wrapper::append_log(dir, fmt::format("wrapper {}: spmi-supervise: {}; supervising through `spmi {}` instead",
                                       ::getpid(), why, k_wrapper_command));
  ::setenv(process::k_wrapper_marker_name, token.c_str(), 1);  // the wrapper's own, as the backend gave it
  const char* args[] = {spmi.c_str(), k_wrapper_command, dir.path().c_str(), token.c_str(), nullptr};
  ::execv(args[0], const_cast<char* const*>(args));
  return failed(dir, fmt::format("cannot execute {}: {}", spmi, std::strerror(errno)));
}

// Runs as the wrapper process `spmi __run` would, with the settings it would have handed over, written
// by `start` into supervise.json for this token (lean_launch_argv()).
int
supervise_launched(char** argv)
{
  const ManageableDir dir(argv[1]);
  const std::string token = argv[2];
  // The wrapper's marker stays in this process's /proc environment, not in what its task inherits.
  ::unsetenv(process::k_wrapper_marker_name);
  try {
    dir.verify();
    int fd = -1;
    RunSettings settings;
    try {
      fd = open_launched_settings(dir);
      // The document is gone before the run: the supervisor keeps only the settings (its heap is most
      // of what a running task costs).
      const auto document = read_document(fd);
      if (document.is_object() && document.value("token", "") != token) {
        throw StateError(fmt::format("{} was written for another start than this one (token {}); start it again",
                                     (dir.path() / wrapper::k_launched_settings_file).string(), token));
      }
      settings = wrapper::settings_from_json(document);
    } catch (const StateError&) {
      throw;
    } catch (const std::exception& e) {
      if (fd < 0) {
        return run_through_spmi(dir, argv[0], token, e.what());  // which names the file
      }
      ::close(fd);
      const auto path = (dir.path() / wrapper::k_launched_settings_file).string();
      return run_through_spmi(dir, argv[0], token, fmt::format("{} is not as `spmi start` wrote it: {}", path, e.what()));
    }
    wrapper::set_wrapper_executable(argv[0], fd);
    return run_protocol(dir, token, settings);
  } catch (const std::exception& e) {
    return failed(dir, e.what());
  }
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
    return failed(dir, e.what());
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
  if (argc == 5 && std::strcmp(argv[1], wrapper::k_launched_option) == 0) {
    return supervise_launched(argv + 2);
  }
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
  std::fputs("spmi-supervise: an internal program of spmi, started by `spmi start` through a backend or by the "
             "wrapper process (`spmi __run`); use `spmi start`\n",
             stderr);
  return 2;
}

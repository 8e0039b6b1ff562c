// SPDX-License-Identifier: MIT
// Acting on what a run record names: the verified signal to a wrapper, the trusted task cgroup.
#include <spmi/errors.hpp>
#include <spmi/process.hpp>
#include <spmi/recorded.hpp>
#include <spmi/unique_fd.hpp>

#include "cgroup.hpp"
#include "proc_scan.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace spmi::process {

namespace fs = std::filesystem;

namespace {

// glibc 2.36 has no wrappers for these.
int
pidfd_open(pid_t pid)
{
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

int
pidfd_send_signal(int pidfd, int signo)
{
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, signo, nullptr, 0));
}

// True when /proc/<pid>/fdinfo/<fd> shows an OFD write lock held through that descriptor (the kernel
// lists there only the locks whose owner is that open file description).
bool
holds_ofd_lock(const std::string& fdinfo)
{
  std::string text;
  if (!detail::read_small_file(fdinfo, text)) {
    return false;
  }
  std::size_t at = 0;
  while ((at = text.find("lock:", at)) != std::string::npos) {
    const auto end = text.find('\n', at);
    const auto line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (line.find("OFDLCK") != std::string::npos && line.find("WRITE") != std::string::npos) {
      return true;
    }
    at += 5;
  }
  return false;
}

// "" when process `pid` has `alive` open with the OFD lock on it, else why not.
std::string
lock_problem(pid_t pid, const fs::path& alive)
{
  struct stat named {};
  if (::stat(alive.c_str(), &named) != 0) {
    return fmt::format("{} can't be read ({})", alive.string(), std::strerror(errno));
  }
  const auto fds = detail::list_fds(pid);
  if (!fds) {
    return fmt::format("its open files can't be read ({})", std::strerror(errno));
  }
  bool open = false;
  bool locked = false;
  for (int fd : *fds) {
    struct stat st {};
    if (::stat(detail::proc_path(pid, "fd/" + std::to_string(fd)).c_str(), &st) != 0 || st.st_dev != named.st_dev ||
        st.st_ino != named.st_ino) {
      continue;
    }
    open = true;
    if (holds_ofd_lock(detail::proc_path(pid, "fdinfo/" + std::to_string(fd)))) {
      locked = true;
      break;
    }
  }
  if (locked) {
    return "";
  }
  return open ? fmt::format("it has {} open but does not hold its lock", alive.string())
              : fmt::format("it does not have {} open, so it is not what holds the manageable's lock", alive.string());
}

// What signal_wrapper() checks, once the process is held; nullopt when it is gone.
std::optional<std::string>
problem_of(const ManageableDir& dir, const RunRecord& run)
{
  const auto pid = static_cast<pid_t>(run.wrapper_pid);
  if (run.wrapper_pid <= 1 || run.wrapper_pid != pid) {
    return "run.json names no valid wrapper pid";
  }
  if (run.wrapper_start_time == 0) {
    return "run.json records no start time for it (written by an older spmi, or not by spmi)";
  }
  const auto boot = boot_id();
  if (run.boot_id.empty() || boot.empty() || run.boot_id != boot) {
    return "run.json was written in another boot (its boot_id is not this boot's)";
  }
  const auto started = start_time(pid);
  if (!started) {
    return std::nullopt;
  }
  if (*started != run.wrapper_start_time) {
    return fmt::format("it started {} clock ticks after boot, the wrapper at {}: the pid belongs to another process",
                       *started, run.wrapper_start_time);
  }
  try {
    if (!dir.is_active()) {
      return fmt::format("nothing holds the lock on {}", (dir.path() / "alive").string());
    }
  } catch (const Error& e) {
    return e.what();
  }
  return lock_problem(pid, dir.path() / "alive");
}

// Where this user's runs get their cgroups (cgroup::probe() without SPMI_MEMBERSHIP=fallback), probed
// once per process and value of SPMI_CGROUP_BASE: `list` asks for every active manageable.
fs::path
probed_base()
{
  static std::optional<std::string> probed_for;
  static fs::path base;
  const char* variable = std::getenv("SPMI_CGROUP_BASE");
  const std::string key = variable ? std::string("=") + variable : std::string();
  if (!probed_for || *probed_for != key) {
    base = cgroup::probe(false).base;
    probed_for = key;
  }
  return base;
}

[[noreturn]] void
refuse(const ManageableDir& dir, const RunRecord& run, const std::string& why)
{
  const auto alive = (dir.path() / "alive").string();
  throw StateError(fmt::format(
    "manageable '{}': {} names pid {} as its wrapper, but that process is not the wrapper any more: {}; nothing "
    "was signalled. If the task still runs, find its wrapper with `fuser -v {}` and end it yourself; if that "
    "shows no process the record is stale, or was written by someone else: check who can write {}",
    dir.id(), dir.run_path().string(), run.wrapper_pid, why, alive, dir.path().string()));
}

} // namespace

std::optional<std::uint64_t>
start_time(pid_t pid)
{
  const auto info = detail::read_proc(pid);
  return info ? std::optional<std::uint64_t>(info->start_ticks) : std::nullopt;
}

std::string
wrapper_problem(const ManageableDir& dir, const RunRecord& run)
{
  const auto problem = problem_of(dir, run);
  return problem ? *problem : fmt::format("no process with pid {} runs", run.wrapper_pid);
}

bool
signal_wrapper(const ManageableDir& dir, const RunRecord& run, int signo)
{
  // The pidfd first: what the checks then read of /proc/<pid> is that process's as long as the signal
  // through the pidfd succeeds afterwards (it fails with ESRCH once that process has ended, whoever has
  // its pid by then).
  const auto pid = static_cast<pid_t>(run.wrapper_pid);
  const UniqueFd pidfd(run.wrapper_pid > 1 && run.wrapper_pid == pid ? pidfd_open(pid) : -1);
  const int open_error = pidfd.get() < 0 ? errno : 0;
  if (pidfd.get() < 0 && open_error == ESRCH) {
    return false;
  }
  const auto problem = problem_of(dir, run);
  if (!problem) {
    return false;  // gone meanwhile
  }
  if (!problem->empty()) {
    refuse(dir, run, *problem);
  }
  if (pidfd.get() >= 0) {
    return pidfd_send_signal(pidfd.get(), signo) == 0;
  }
  // Kernels before 5.3 have no pidfd: the checks above are as close to the signal as it gets.
  return open_error == ENOSYS && signal_process(pid, signo);
}

fs::path
trusted_cgroup(const std::string& id, const RunRecord& run, std::string* why)
{
  auto refused = [&](const std::string& reason) {
    if (why) {
      *why = fmt::format("run.json's cgroup {} is not trusted ({})", run.cgroup, reason);
    }
    return fs::path();
  };
  if (run.cgroup.empty()) {
    return {};
  }
  const fs::path path(run.cgroup);
  if (!path.is_absolute() || path.lexically_normal() != path || run.cgroup.back() == '/') {
    return refused("not an absolute path in normal form");
  }
  for (const auto& part : path) {
    if (part == "." || part == "..") {
      return refused("it has . or .. in it");
    }
  }
  if (run.token.empty() || run.token.find('/') != std::string::npos) {
    return refused("run.json's token is not one spmi makes");
  }
  const auto unit = path.parent_path();
  if (path.filename() != "task" || unit.filename() != cgroup::escape(id + "-" + run.token)) {
    return refused(fmt::format("spmi puts this run's task in <base>/{}/task", cgroup::escape(id + "-" + run.token)));
  }
  if (unit.parent_path() == probed_base()) {
    return path;
  }
  struct stat st {};
  if (::lstat(unit.c_str(), &st) != 0) {
    return errno == ENOENT ? path : refused(std::strerror(errno));  // gone: nothing is read from it
  }
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
      !cgroup::is_cgroup2(unit)) {
    return refused(fmt::format("{} is not a cgroup v2 directory of this user's that only it can write", unit.string()));
  }
  return path;
}

} // namespace spmi::process

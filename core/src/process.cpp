// SPDX-License-Identifier: MIT
// The process module's children: starting them (posix_spawn, or a clone into a cgroup, or fork and exec
// to enter a cgroup first), waiting for them, and finding programs (see process.hpp; signals are in
// process_signals.cpp, what /proc says of other processes in process_tree.cpp, capturing a command's
// output in process_capture.cpp).
#include <spmi/errors.hpp>
#include <spmi/process.hpp>
#include <spmi/unique_fd.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <thread>

extern char** environ;

namespace spmi::process {

namespace {

// posix_spawn file actions and attributes, destroyed on every path.
class SpawnSetup
{
public:
  SpawnSetup()
  {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }
  ~SpawnSetup()
  {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
};

void
check(int rc, const char* call)
{
  if (rc != 0) {
    throw SystemError(fmt::format("{} failed: {}", call, std::strerror(rc)));
  }
}

} // namespace

namespace {

// spawn() into a cgroup: glibc 2.36 has no posix_spawnattr_setcgroup_np, so the child (of fork, running
// only async-signal-safe calls) writes itself into cgroup.procs, sets itself up as posix_spawn would,
// and execs; any failure is reported through a close-on-exec pipe and the child never execs.
[[noreturn]] void
child_after_fork(const SpawnOptions& options, bool placed, const char* program, char* const* argv, char* const* envp,
                 int report)
{
  auto fail = [&](int error) {
    [[maybe_unused]] auto n = ::write(report, &error, sizeof(error));
    ::_exit(127);
  };
  if (!placed) {
    const int procs = options.cgroup_procs_fd >= 0
                        ? options.cgroup_procs_fd
                        : ::openat(options.cgroup_dir_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    if (procs < 0 || ::write(procs, "0", 1) != 1) {
      fail(errno);
    }
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int signo = 1; signo < NSIG; ++signo) {
    if (signo != SIGKILL && signo != SIGSTOP) {
      ::sigaction(signo, &dfl, nullptr);
    }
  }
  sigset_t empty;
  sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);
  if (options.new_session && ::setsid() < 0) {
    fail(errno);
  }
  const int fds[3] = {options.stdin_fd, options.stdout_fd, options.stderr_fd};
  int spare[3] = {-1, -1, -1};
  for (int target = 0; target < 3; ++target) {  // out of the way first: a source may be 0-2 itself
    if (fds[target] >= 0 && (spare[target] = ::fcntl(fds[target], F_DUPFD_CLOEXEC, 10)) < 0) {
      fail(errno);
    }
  }
  for (int target = 0; target < 3; ++target) {
    const int fd = fds[target] >= 0 ? spare[target] : ::open("/dev/null", target == 0 ? O_RDONLY : O_WRONLY);
    if (fd < 0 || ::dup2(fd, target) < 0) {
      fail(errno);
    }
  }
  if (options.cwd && ::chdir(options.cwd->c_str()) != 0) {
    fail(errno);
  }
  // Everything above 2 except the report pipe (close-on-exec) goes.
  ::close_range(3, static_cast<unsigned>(report) - 1, 0);
  ::close_range(static_cast<unsigned>(report) + 1, ~0U, 0);
  ::execve(program, argv, envp);
  fail(errno);
  ::_exit(127);
}

} // namespace

ForkedInto
fork_into_cgroup(int cgroup_dir_fd)
{
  ForkedInto result;
  int born[2];
  if (cgroup_dir_fd >= 0 && ::pipe2(born, O_CLOEXEC) == 0) {
    clone_args args{};
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<std::uint64_t>(cgroup_dir_fd);
    const auto pid = static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof(args)));
    if (pid == 0) {
      ::close(born[0]);
      [[maybe_unused]] auto n = ::write(born[1], "+", 1);
      ::close(born[1]);
      result.pid = 0;
      result.placed = true;
      return result;
    }
    ::close(born[1]);
    char byte = 0;
    ssize_t n = 0;
    while (pid > 0 && (n = ::read(born[0], &byte, 1)) < 0 && errno == EINTR) {
    }
    ::close(born[0]);
    if (pid > 0 && n == 1) {
      result.pid = pid;
      result.placed = true;
      return result;
    }
    if (pid > 0) {
      // Killed before it ran: a kernel (6.18 here) that SIGKILLs a child cloned into a cgroup once
      // written `cgroup.kill` (kill_seq compared with the parent's cgroup's). Reaped; a fork instead.
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    // ENOSYS, E2BIG, EINVAL (no clone3, or no CLONE_INTO_CGROUP), a refusal, or the above: the fork
    // below meets a refusal again when the child moves itself, and that path reports it.
  }
  result.pid = ::fork();
  return result;
}

namespace {

// A pipe whose two ends are closed on exec; throws SystemError when it can't be made.
std::pair<UniqueFd, UniqueFd>
make_pipe()
{
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) {
    throw_errno("pipe");
  }
  return {UniqueFd(ends[0]), UniqueFd(ends[1])};
}

pid_t
spawn_forked(const SpawnOptions& options, const std::string& program, char* const* argv, char* const* envp)
{
  auto [report_read, report_write] = make_pipe();
  const auto [pid, placed] = fork_into_cgroup(options.cgroup_dir_fd);
  if (pid < 0) {
    throw SystemError(fmt::format("cannot run '{}': fork: {}", program, std::strerror(errno)));
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here on: close() is; the child never returns (no destructor runs).
    ::close(report_read.get());
    child_after_fork(options, placed, program.c_str(), argv, envp, report_write.get());
  }
  report_write.reset();
  int error = 0;
  ssize_t n;
  while ((n = ::read(report_read.get(), &error, sizeof(error))) < 0 && errno == EINTR) {
  }
  report_read.reset();
  if (n == static_cast<ssize_t>(sizeof(error))) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    throw SystemError(fmt::format("cannot run '{}' in its cgroup: {}", program, std::strerror(error)));
  }
  return pid;
}

// The file actions and attributes posix_spawn needs for `options`: stdin/stdout/stderr as given (or
// /dev/null), nothing else inherited, its cwd, default signal dispositions and an empty mask.
void
prepare(SpawnSetup& setup, const SpawnOptions& options)
{
  const std::array<int, 3> fds{options.stdin_fd, options.stdout_fd, options.stderr_fd};
  for (int target = 0; target < 3; ++target) {
    if (fds[target] < 0) {
      check(posix_spawn_file_actions_addopen(&setup.actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0),
            "posix_spawn_file_actions_addopen");
    } else if (fds[target] == target) {
      // dup2 onto itself would not clear FD_CLOEXEC; go through a spare descriptor instead.
      check(posix_spawn_file_actions_adddup2(&setup.actions, target, 1000 + target), "posix_spawn_file_actions_adddup2");
      check(posix_spawn_file_actions_adddup2(&setup.actions, 1000 + target, target), "posix_spawn_file_actions_adddup2");
    } else {
      check(posix_spawn_file_actions_adddup2(&setup.actions, fds[target], target), "posix_spawn_file_actions_adddup2");
    }
  }
  // No descriptor of ours leaks into the child (locks, pipes, the state directory).
  check(posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3), "posix_spawn_file_actions_addclosefrom_np");
  if (options.cwd) {
    check(posix_spawn_file_actions_addchdir_np(&setup.actions, options.cwd->c_str()), "posix_spawn_file_actions_addchdir_np");
  }

  sigset_t empty;
  sigemptyset(&empty);
  sigset_t all_default;
  sigfillset(&all_default);
  sigdelset(&all_default, SIGKILL);
  sigdelset(&all_default, SIGSTOP);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (options.new_session) {
    flags |= POSIX_SPAWN_SETSID;
  }
  check(posix_spawnattr_setsigmask(&setup.attributes, &empty), "posix_spawnattr_setsigmask");
  check(posix_spawnattr_setsigdefault(&setup.attributes, &all_default), "posix_spawnattr_setsigdefault");
  check(posix_spawnattr_setflags(&setup.attributes, flags), "posix_spawnattr_setflags");
}

// `base` (else our environment) with `extra` ("NAME=value") added or replacing entries of the same
// name, as an envp pointing into them; `environ` itself when there is nothing else.
char* const*
environment_with(const std::optional<std::vector<std::string>>& base, const std::vector<std::string>& extra,
                 std::vector<char*>& storage)
{
  if (extra.empty() && !base) {
    return environ;
  }
  std::vector<char*> entries;
  for (std::size_t i = 0; base ? i < base->size() : environ[i] != nullptr; ++i) {
    entries.push_back(base ? const_cast<char*>((*base)[i].c_str()) : environ[i]);
  }
  for (char* e : entries) {
    const std::string_view entry(e);
    const auto name = entry.substr(0, entry.find('=') + 1);
    const bool replaced =
      std::any_of(extra.begin(), extra.end(), [&](const std::string& added) { return added.rfind(name, 0) == 0; });
    if (!replaced) {
      storage.push_back(e);
    }
  }
  for (const auto& added : extra) {
    storage.push_back(const_cast<char*>(added.c_str()));
  }
  storage.push_back(nullptr);
  return storage.data();
}

} // namespace

pid_t
spawn(const SpawnOptions& options)
{
  if (options.argv.empty()) {
    throw SystemError("spawn: empty argv");
  }
  std::string program = options.program ? options.program->string() : options.argv[0];
  if (!options.program && program.find('/') == std::string::npos) {
    auto found = find_in_path(program);
    if (!found) {
      throw SystemError(fmt::format("cannot run '{}': not found in PATH", program));
    }
    program = found->string();
  }
  SpawnSetup setup;
  prepare(setup, options);
  std::vector<char*> argv;
  argv.reserve(options.argv.size() + 1);
  for (const auto& arg : options.argv) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  std::vector<char*> env;
  char* const* envp = environment_with(options.env, options.extra_env, env);

  if (options.cgroup_procs_fd >= 0 || options.cgroup_dir_fd >= 0) {
    return spawn_forked(options, program, argv.data(), envp);
  }
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, program.c_str(), &setup.actions, &setup.attributes, argv.data(), envp);
  if (rc != 0) {
    throw SystemError(fmt::format("cannot run '{}': {}", program, std::strerror(rc)));
  }
  return pid;
}

ExitStatus
decode_wait_status(int status)
{
  ExitStatus result;
  if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  } else if (WIFEXITED(status)) {
    result.code = WEXITSTATUS(status);
  }
  return result;
}

ExitStatus
wait(pid_t pid)
{
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      throw_errno(fmt::format("waitpid({})", pid));
    }
  }
  return decode_wait_status(status);
}

std::optional<ExitStatus>
try_wait(pid_t pid)
{
  int status = 0;
  pid_t rc;
  while ((rc = waitpid(pid, &status, WNOHANG)) < 0) {
    if (errno != EINTR) {
      throw_errno(fmt::format("waitpid({})", pid));
    }
  }
  if (rc == 0) {
    return std::nullopt;
  }
  return decode_wait_status(status);
}

std::optional<std::filesystem::path>
find_in_path(const std::string& name)
{
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const auto colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    if (dir.empty()) {
      dir = ".";
    }
    const auto candidate = std::filesystem::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0 && !std::filesystem::is_directory(candidate)) {
      return candidate;
    }
    if (colon == std::string_view::npos) {
      return std::nullopt;
    }
    dirs.remove_prefix(colon + 1);
  }
}

std::filesystem::path
self_exe()
{
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    throw SystemError("cannot find spmi's own executable: /proc/self/exe: " + ec.message());
  }
  return path;
}

void
sleep_for(std::chrono::microseconds duration)
{
  std::this_thread::sleep_for(duration);
}

} // namespace spmi::process

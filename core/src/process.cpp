// SPDX-License-Identifier: MIT
#include <spmi/errors.hpp>
#include <spmi/process.hpp>

#include "cgroup.hpp"
#include "proc_scan.hpp"

#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <thread>

extern char** environ;

namespace spmi::process {

namespace {

struct SignalEntry
{
  int number;
  const char* name;
};

constexpr std::array<SignalEntry, 20> k_signals{{
  {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
  {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
  {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
  {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"}, {SIGCHLD, "SIGCHLD"},
  {SIGCONT, "SIGCONT"}, {SIGSTOP, "SIGSTOP"}, {SIGTSTP, "SIGTSTP"}, {SIGXCPU, "SIGXCPU"},
}};

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
child_after_fork(const SpawnOptions& options, const char* program, char* const* argv, char* const* envp, int report)
{
  auto fail = [&](int error) {
    [[maybe_unused]] auto n = ::write(report, &error, sizeof(error));
    ::_exit(127);
  };
  if (::write(options.cgroup_procs_fd, "0", 1) != 1) {
    fail(errno);
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

pid_t
spawn_forked(const SpawnOptions& options, const std::string& program, char* const* argv, char* const* envp)
{
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    throw_errno("pipe");
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    ::close(report[0]);
    ::close(report[1]);
    throw SystemError(fmt::format("cannot run '{}': fork: {}", program, std::strerror(error)));
  }
  if (pid == 0) {
    ::close(report[0]);
    child_after_fork(options, program.c_str(), argv, envp, report[1]);
  }
  ::close(report[1]);
  int error = 0;
  ssize_t n;
  while ((n = ::read(report[0], &error, sizeof(error))) < 0 && errno == EINTR) {
  }
  ::close(report[0]);
  if (n == static_cast<ssize_t>(sizeof(error))) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    throw SystemError(fmt::format("cannot run '{}' in its cgroup: {}", program, std::strerror(error)));
  }
  return pid;
}

} // namespace

pid_t
spawn(const SpawnOptions& options)
{
  if (options.argv.empty()) {
    throw SystemError("spawn: empty argv");
  }
  std::string program = options.argv[0];
  if (program.find('/') == std::string::npos) {
    auto found = find_in_path(program);
    if (!found) {
      throw SystemError(fmt::format("cannot run '{}': not found in PATH", program));
    }
    program = found->string();
  }

  SpawnSetup setup;
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

  std::vector<char*> argv;
  argv.reserve(options.argv.size() + 1);
  for (const auto& arg : options.argv) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);

  std::vector<std::string> env_storage;
  std::vector<char*> env;
  char** envp = environ;
  if (!options.extra_env.empty()) {
    for (char** e = environ; *e; ++e) {
      const std::string_view entry(*e);
      const auto name = entry.substr(0, entry.find('=') + 1);
      const bool replaced = std::any_of(options.extra_env.begin(), options.extra_env.end(),
                                        [&](const std::string& extra) { return extra.rfind(name, 0) == 0; });
      if (!replaced) {
        env.push_back(*e);
      }
    }
    for (const auto& extra : options.extra_env) {
      env.push_back(const_cast<char*>(extra.c_str()));
    }
    env.push_back(nullptr);
    envp = env.data();
  }

  if (options.cgroup_procs_fd >= 0) {
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

Captured
run_capture(const std::vector<std::string>& argv, std::chrono::milliseconds timeout)
{
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    throw_errno("pipe");
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    throw_errno("pipe");
  }
  SpawnOptions options;
  options.argv = argv;
  options.stdout_fd = out_pipe[1];
  options.stderr_fd = err_pipe[1];
  pid_t pid = -1;
  try {
    pid = spawn(options);
  } catch (...) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
      ::close(fd);
    }
    throw;
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  Captured result;
  constexpr std::size_t k_limit = 1024 * 1024;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_count = 2;
  bool timed_out = false;
  while (open_count > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    const int ready = ::poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) {
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        char buffer[8192];
        const ssize_t n = ::read(fds[i].fd, buffer, sizeof(buffer));
        if (n > 0) {
          if (sinks[i]->size() < k_limit) {
            sinks[i]->append(buffer, static_cast<std::size_t>(std::min<std::size_t>(n, k_limit - sinks[i]->size())));
          }
        } else if (n == 0 || errno != EINTR) {
          ::close(fds[i].fd);
          fds[i].fd = -1;
          --open_count;
        }
      }
    }
  }
  for (auto& fd : fds) {
    if (fd.fd >= 0) {
      ::close(fd.fd);
    }
  }
  if (timed_out) {
    ::kill(pid, SIGKILL);
    wait(pid);
    throw SystemError(fmt::format("'{}' did not finish within {} ms", argv[0], timeout.count()));
  }
  result.status = wait(pid);
  return result;
}

std::vector<pid_t>
descendants(pid_t pid)
{
  const auto children = detail::children_of(detail::scan_proc());
  std::vector<pid_t> result;
  std::vector<pid_t> queue{pid};
  while (!queue.empty()) {
    const pid_t current = queue.back();
    queue.pop_back();
    auto [begin, end] = children.equal_range(current);
    for (auto it = begin; it != end; ++it) {
      result.push_back(it->second);
      queue.push_back(it->second);
    }
  }
  return result;
}

std::map<pid_t, TreeUsage>
tree_usage(const std::vector<TreeRoot>& roots, const std::filesystem::path& proc_root)
{
  std::map<pid_t, TreeUsage> result;
  for (const auto& root : roots) {
    result[root.pid];
  }
  if (roots.empty()) {
    return result;
  }
  const std::string base = proc_root.string();
  std::string data;
  double uptime = 0;
  if (detail::read_small_file(base + "/uptime", data)) {
    uptime = std::strtod(data.c_str(), nullptr);
  }
  const double ticks_per_second = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const auto page_size = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const double max_share = static_cast<double>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));

  // One pass over /proc for every root; each root's members by the run's membership rule.
  const auto procs = detail::scan_proc(base);
  const auto children = detail::children_of(procs);
  for (const auto& root : roots) {
    auto& usage = result[root.pid];
    if (root.pid <= 0) {
      continue;
    }
    const std::string prefix = "SPMI_RUN_TOKEN=";
    const std::string token = root.marker_env.rfind(prefix, 0) == 0 ? root.marker_env.substr(prefix.size()) : "";
    const detail::GroupSpec spec{root.cgroup, token, root.pid, root.watchdog, root.main_pid, false};
    for (pid_t pid : detail::group_members(spec, procs, children, base)) {
      const auto& stat = procs.at(pid);
      ++usage.processes;
      const double cpu = static_cast<double>(stat.cpu_ticks) / ticks_per_second;
      usage.cpu_seconds += cpu;
      const double age = uptime - static_cast<double>(stat.start_ticks) / ticks_per_second;
      if (age > 0) {
        usage.cpu_percent += 100.0 * std::min(cpu / age, max_share);
      }
      usage.rss_bytes += static_cast<std::uint64_t>(std::max(0L, stat.rss_pages)) * page_size;
    }
    // A cgroup counts the CPU time of processes that already ended too, and its memory includes the
    // page cache the task caused (memory.current exists only where the memory controller is enabled).
    if (!root.cgroup.empty()) {
      if (const auto cpu = cgroup::cpu_seconds(root.cgroup)) {
        usage.cpu_seconds = *cpu;
      }
      if (const auto memory = cgroup::memory_bytes(root.cgroup)) {
        usage.rss_bytes = *memory;
      }
    }
  }
  return result;
}

bool
has_env(pid_t pid, const std::string& entry)
{
  const auto eq = entry.find('=');
  if (eq == std::string::npos) {
    return false;
  }
  // false when gone, or not ours
  return detail::environ_value("/proc/" + std::to_string(pid) + "/environ", entry.substr(0, eq + 1)) ==
         entry.substr(eq + 1);
}

std::vector<pid_t>
processes_with_env(const std::string& entry)
{
  std::vector<pid_t> result;
  DIR* proc = ::opendir("/proc");
  if (!proc) {
    return result;
  }
  const pid_t self = ::getpid();
  while (const dirent* dirent_entry = ::readdir(proc)) {
    const char* name = dirent_entry->d_name;
    if (name[0] < '1' || name[0] > '9') {
      continue;
    }
    const auto pid = static_cast<pid_t>(std::atoi(name));
    if (pid != self && has_env(pid, entry)) {
      result.push_back(pid);
    }
  }
  ::closedir(proc);
  return result;
}

void
become_subreaper()
{
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    throw_errno("prctl(PR_SET_CHILD_SUBREAPER)");
  }
}

bool
signal_process(pid_t pid, int signo)
{
  return pid > 1 && ::kill(pid, signo) == 0;
}

bool
signal_group(pid_t pgid, int signo)
{
  if (pgid <= 1) {
    return false;  // never signal "every process" or init
  }
  return ::kill(-pgid, signo) == 0;
}

bool
is_running(pid_t pid)
{
  if (pid <= 0) {
    return false;
  }
  if (::kill(pid, 0) != 0) {
    return errno == EPERM;
  }
  // A zombie still answers kill(pid, 0); look at its state in /proc.
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/stat", static_cast<int>(pid));
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return true;
  }
  char buffer[512];
  const ssize_t n = ::read(fd, buffer, sizeof(buffer) - 1);
  ::close(fd);
  if (n <= 0) {
    return true;
  }
  buffer[n] = '\0';
  const char* paren = std::strrchr(buffer, ')');
  return !(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

std::string
signal_name(int signo)
{
  for (const auto& entry : k_signals) {
    if (entry.number == signo) {
      return entry.name;
    }
  }
  return fmt::format("signal {}", signo);
}

std::optional<int>
parse_signal(std::string_view name)
{
  std::string upper;
  for (char c : name) {
    upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (!upper.empty() && std::all_of(upper.begin(), upper.end(), ::isdigit)) {
    if (upper.size() > 3) {
      return std::nullopt;
    }
    const int number = std::stoi(upper);
    if (number > 0 && number < NSIG) {
      return number;
    }
    return std::nullopt;
  }
  if (upper.rfind("SIG", 0) != 0) {
    upper = "SIG" + upper;
  }
  for (const auto& entry : k_signals) {
    if (upper == entry.name) {
      return entry.number;
    }
  }
  return std::nullopt;
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

std::string
boot_id()
{
  const char* override_path = std::getenv("SPMI_BOOT_ID_FILE");
  std::string data;
  if (!detail::read_small_file(override_path && *override_path ? override_path : "/proc/sys/kernel/random/boot_id", data)) {
    return "";
  }
  while (!data.empty() && (data.back() == '\n' || data.back() == ' ')) {
    data.pop_back();
  }
  return data;
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

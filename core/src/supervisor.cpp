// SPDX-License-Identifier: MIT
// process::supervise: the wrapper's loop that owns a task's processes; process::start_watchdog.
#include <spmi/errors.hpp>
#include <spmi/process.hpp>

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace spmi::process {

namespace {

// Every signal this process can take with sigwaitinfo; faults stay deliverable.
sigset_t
waitable_signals()
{
  sigset_t set;
  sigfillset(&set);
  for (int signo : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS, SIGKILL, SIGSTOP}) {
    sigdelset(&set, signo);
  }
  return set;
}

// Drops the pages of this program's file that setup read (code, constants) and no one wrote from this
// process's mappings; those the waiting loop uses come back from the page cache (a minor fault). Only
// mappings with no private copy (Anonymous: 0) are dropped, so nothing written is lost. @return where
// the main thread's stack mapping starts (0: not found). Not inlined: its buffers are dead on return.
[[gnu::noinline]] unsigned long
drop_clean_program_pages(unsigned long inside_stack)
{
  char exe[4096];
  const ssize_t length = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  std::FILE* smaps = length > 0 ? std::fopen("/proc/self/smaps", "re") : nullptr;
  if (!smaps) {
    return 0;
  }
  exe[length] = '\0';
  unsigned long stack_low = 0;
  char line[4096 + 256];
  unsigned long start = 0, end = 0;
  bool candidate = false;
  while (std::fgets(line, sizeof line, smaps)) {
    char perms[8] = {};
    unsigned long anonymous = 0, from = 0, to = 0;
    int path_at = 0;
    if (std::sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &from, &to, perms, &path_at) == 3 && path_at > 0) {
      line[std::strcspn(line, "\n")] = '\0';
      start = from;
      end = to;
      candidate = perms[1] != 'w' && std::strcmp(line + path_at, exe) == 0;
      if (std::strcmp(line + path_at, "[stack]") == 0 && from < inside_stack && inside_stack < to) {
        stack_low = from;
      }
    } else if (candidate && std::sscanf(line, "Anonymous: %lu kB", &anonymous) == 1) {
      if (anonymous == 0) {
        ::madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
      }
      candidate = false;
    }
  }
  std::fclose(smaps);
  return stack_low;
}

} // namespace

// Not inlined: its frame address must be its own, below every live frame of its caller.
[[gnu::noinline]] void
release_idle_memory()
{
  ::malloc_trim(0);
  const auto here = reinterpret_cast<unsigned long>(__builtin_frame_address(0));
  const unsigned long stack_low = drop_clean_program_pages(here);
  // The main thread's stack below this frame is dead by the ABI (zero-filled again when reached):
  // dropped, but for the page of this small frame and of the madvise call below (512 bytes below the
  // frame, well beyond what either uses; keeping one page more cost each supervisor 4 KiB).
  const unsigned long page = static_cast<unsigned long>(::sysconf(_SC_PAGESIZE));
  const unsigned long keep_from = (here - 512) & ~(page - 1);
  if (stack_low != 0 && keep_from > stack_low) {
    ::madvise(reinterpret_cast<void*>(stack_low), keep_from - stack_low, MADV_DONTNEED);
  }
}

void
wait_for_caller_death(pid_t caller)
{
  sigset_t wake;
  sigemptyset(&wake);
  sigaddset(&wake, SIGUSR1);
  // A SIGUSR1 from anyone else while the caller lives changes nothing.
  while (::getppid() == caller) {
    ::sigwaitinfo(&wake, nullptr);
  }
}

pid_t
start_watchdog(std::function<void()> on_caller_death, const WatchdogProgram* program, int cgroup_dir_fd)
{
  const pid_t caller = ::getpid();
  sigset_t wake;
  sigemptyset(&wake);
  sigaddset(&wake, SIGUSR1);
  sigset_t previous;
  ::sigprocmask(SIG_BLOCK, &wake, &previous);
  // Made before fork: the child of a threaded caller only executes.
  std::vector<char*> argv;
  std::vector<char*> envp;
  if (program && !program->argv.empty()) {
    for (const auto& arg : program->argv) {
      argv.push_back(const_cast<char*>(arg.c_str()));
    }
    for (const auto& entry : program->env) {
      envp.push_back(const_cast<char*>(entry.c_str()));
    }
    argv.push_back(nullptr);
    envp.push_back(nullptr);
  }
  // Only a child that executes at once may be a clone's (fork_into_cgroup()).
  const auto [pid, placed] = fork_into_cgroup(argv.empty() ? -1 : cgroup_dir_fd);
  if (pid < 0) {
    ::sigprocmask(SIG_SETMASK, &previous, nullptr);
    throw_errno("fork (watchdog)");
  }
  if (pid > 0) {
    ::sigprocmask(SIG_SETMASK, &previous, nullptr);
    return pid;
  }
  // The watchdog. Its own session: a hang-up of the caller's terminal or session does not reach it.
  if (!placed && cgroup_dir_fd >= 0) {
    const int procs = ::openat(cgroup_dir_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    if (procs >= 0) {
      [[maybe_unused]] auto n = ::write(procs, "0", 1);  // else it watches from where the caller is
      ::close(procs);
    }
  }
  ::setsid();
  ::prctl(PR_SET_PDEATHSIG, SIGUSR1);
  // Other signals stay as the caller had them (blocked, in a wrapper): the caller passes signals on, not
  // the watchdog.
  if (!argv.empty()) {
    for (int fd : program->inherited) {
      ::fcntl(fd, F_SETFD, 0);
    }
    ::execve(argv[0], argv.data(), envp.data());
    if (placed) {
      ::_exit(127);  // a clone's child goes no further; its caller sees it die and starts another
    }
    for (int fd : program->inherited) {
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
  }
  release_idle_memory();
  wait_for_caller_death(caller);
  if (on_caller_death) {
    try {
      on_caller_death();
    } catch (...) {
      // Nothing to report to: the caller is gone.
    }
  }
  ::_exit(0);
}

void
stop_watchdog(pid_t watchdog)
{
  if (watchdog <= 0) {
    return;
  }
  ::kill(watchdog, SIGKILL);
  while (::waitpid(watchdog, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// Long because: one signal loop (sigwaitinfo) whose states (running, ending, deadline passed, kill
// requested) share the group, the timers and the main process's status; kept together so that the
// order in which signals are handled reads top to bottom.
ExitStatus
supervise(const SuperviseOptions& options)
{
  if (!options.group) {
    throw SystemError("supervise: no task group");
  }
  TaskGroup& group = *options.group;
  const sigset_t waitable = waitable_signals();
  sigset_t previous;
  ::sigprocmask(SIG_BLOCK, &waitable, &previous);

  pid_t main_pid = -1;
  try {
    // A copy for this spawn only: gone (its environment too) before the long wait below.
    SpawnOptions task = options.task;
    if (!options.marker_env.empty()) {
      task.extra_env.push_back(options.marker_env);
    }
    task.cgroup_procs_fd = group.procs_fd();
    task.cgroup_dir_fd = group.task_dir_fd();
    main_pid = spawn(task);
  } catch (...) {
    ::sigprocmask(SIG_SETMASK, &previous, nullptr);
    throw;
  }
  group.set_main(main_pid);
  if (options.on_started) {
    options.on_started(main_pid);
  }
  release_idle_memory();

  std::optional<ExitStatus> main_status;
  std::optional<std::chrono::steady_clock::time_point> leftover_deadline;
  bool killing = false;
  bool output_left = false;  // on_io stopped before the pipes were empty: it goes on once signals are seen to
  while (true) {
    siginfo_t info{};
    int signo;
    // When a hook's timer is due (max: none); a plain time point, which GCC 12 follows better.
    auto wakeup = std::chrono::steady_clock::time_point::max();
    if (!main_status && options.next_wakeup) {
      wakeup = options.next_wakeup().value_or(wakeup);
    }
    const bool timed = wakeup != std::chrono::steady_clock::time_point::max();
    if (output_left) {
      const timespec now{0, 0};
      signo = ::sigtimedwait(&waitable, &info, &now);
    } else if (main_status) {
      // The main process is gone: poll what is left of the group.
      const timespec tick{0, 50 * 1000 * 1000};
      signo = ::sigtimedwait(&waitable, &info, &tick);
    } else if (timed) {
      const auto left = std::max(std::chrono::nanoseconds(0), wakeup - std::chrono::steady_clock::now());
      const timespec timeout{static_cast<time_t>(left.count() / 1000000000), static_cast<long>(left.count() % 1000000000)};
      signo = ::sigtimedwait(&waitable, &info, &timeout);
    } else {
      signo = ::sigwaitinfo(&waitable, &info);
    }
    if (signo == SIGCHLD || (signo < 0 && errno == EAGAIN)) {
      int status = 0;
      pid_t reaped;
      while ((reaped = ::waitpid(-1, &status, WNOHANG)) > 0) {
        if (reaped == main_pid) {
          main_status = decode_wait_status(status);
        } else if (options.on_reaped) {
          options.on_reaped(reaped);
        }
      }
    } else if (signo > 0 && signo == options.io_signal && info.si_code > 0) {
      output_left = true;  // read below; a signal sent by a process (si_code <= 0) is passed on
    } else if (signo > 0) {
      if (options.on_signal) {
        options.on_signal(signo);
      }
      if (signo == options.kill_request_signal) {
        killing = true;
        group.kill(std::chrono::milliseconds(0));
      } else {
        group.signal(signo);
      }
    }
    if (output_left) {
      output_left = options.on_io && options.on_io();
    }
    if (!main_status) {
      if (timed && std::chrono::steady_clock::now() >= wakeup && options.on_wakeup) {
        options.on_wakeup();
      }
      continue;
    }
    if (group.empty()) {
      // Its dead are ours to reap (a subreaper): none is left to init as a zombie.
      pid_t reaped;
      while ((reaped = ::waitpid(-1, nullptr, WNOHANG)) > 0) {
        if (options.on_reaped) {
          options.on_reaped(reaped);
        }
      }
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!leftover_deadline) {
      leftover_deadline = now + options.leftover_grace;
      if (killing) {
        group.kill(std::chrono::milliseconds(0));
      } else {
        group.signal(SIGTERM);
      }
    } else if (killing || now >= *leftover_deadline) {
      group.kill(std::chrono::milliseconds(0));
    }
  }
  ::sigprocmask(SIG_SETMASK, &previous, nullptr);
  return *main_status;
}

} // namespace spmi::process

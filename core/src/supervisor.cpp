// SPDX-License-Identifier: MIT
// process::supervise: the wrapper's loop that owns a task's processes; process::start_watchdog.
#include <spmi/errors.hpp>
#include <spmi/process.hpp>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

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

} // namespace

pid_t
start_watchdog(std::function<void()> on_caller_death)
{
  const pid_t caller = ::getpid();
  sigset_t wake;
  sigemptyset(&wake);
  sigaddset(&wake, SIGUSR1);
  sigset_t previous;
  ::sigprocmask(SIG_BLOCK, &wake, &previous);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::sigprocmask(SIG_SETMASK, &previous, nullptr);
    throw_errno("fork (watchdog)");
  }
  if (pid > 0) {
    ::sigprocmask(SIG_SETMASK, &previous, nullptr);
    return pid;
  }
  // The watchdog. Its own session: a hang-up of the caller's terminal or session does not reach it.
  ::setsid();
  ::prctl(PR_SET_PDEATHSIG, SIGUSR1);
  // Other signals stay as the caller had them (blocked, in a wrapper): the caller passes signals on, not
  // the watchdog. A SIGUSR1 from anyone else while the caller lives changes nothing.
  while (::getppid() == caller) {
    ::sigwaitinfo(&wake, nullptr);
  }
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

  SpawnOptions task = options.task;
  if (!options.marker_env.empty()) {
    task.extra_env.push_back(options.marker_env);
  }
  task.cgroup_procs_fd = group.procs_fd();
  pid_t main_pid = -1;
  try {
    main_pid = spawn(task);
  } catch (...) {
    ::sigprocmask(SIG_SETMASK, &previous, nullptr);
    throw;
  }
  group.set_main(main_pid);
  if (options.on_started) {
    options.on_started(main_pid);
  }

  std::optional<ExitStatus> main_status;
  std::optional<std::chrono::steady_clock::time_point> leftover_deadline;
  bool killing = false;
  while (true) {
    siginfo_t info{};
    int signo;
    // When a hook's timer is due (max: none); a plain time point, which GCC 12 follows better.
    auto wakeup = std::chrono::steady_clock::time_point::max();
    if (!main_status && options.next_wakeup) {
      wakeup = options.next_wakeup().value_or(wakeup);
    }
    const bool timed = wakeup != std::chrono::steady_clock::time_point::max();
    if (main_status) {
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

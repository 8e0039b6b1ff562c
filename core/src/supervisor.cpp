// SPDX-License-Identifier: MIT
// process::supervise: the wrapper's loop that owns a task's whole process tree.
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

// Body of the watchdog: waits for its parent (the supervisor) to die, then ends the task's processes.
[[noreturn]] void
watchdog(pid_t supervisor, const SuperviseOptions& options)
{
  sigset_t wake;
  sigemptyset(&wake);
  sigaddset(&wake, SIGUSR1);
  ::prctl(PR_SET_PDEATHSIG, SIGUSR1);
  // Signals other than SIGUSR1 stay blocked here: the supervisor passes signals on, not us. A SIGUSR1
  // from anyone else while the supervisor lives changes nothing.
  while (::getppid() == supervisor) {
    ::sigwaitinfo(&wake, nullptr);
  }
  for (int round = 0; round < 100; ++round) {
    const auto pids = processes_with_env(options.marker_env);
    if (pids.empty()) {
      break;
    }
    for (pid_t pid : pids) {
      ::kill(pid, SIGKILL);
    }
    sleep_for(std::chrono::milliseconds(50));
  }
  if (options.on_supervisor_killed) {
    try {
      options.on_supervisor_killed();
    } catch (...) {
      // Nothing to report to: the supervisor is gone.
    }
  }
  ::_exit(0);
}

void
signal_all(const std::vector<pid_t>& pids, int signo)
{
  for (pid_t pid : pids) {
    ::kill(pid, signo);
  }
}

} // namespace

ExitStatus
supervise(const SuperviseOptions& options)
{
  try {
    become_subreaper();
  } catch (const Error&) {
    // Older kernels: daemons of the task may escape the tree; the marker still finds them.
  }
  const sigset_t waitable = waitable_signals();
  sigset_t previous;
  ::sigprocmask(SIG_BLOCK, &waitable, &previous);

  const pid_t self = ::getpid();
  const pid_t watchdog_pid = ::fork();
  if (watchdog_pid < 0) {
    throw_errno("fork (watchdog)");
  }
  if (watchdog_pid == 0) {
    watchdog(self, options);
  }
  // The task's tree: descendants (orphans included, as we are their subreaper) that carry the marker.
  // Another spmi task started from inside this one is reparented here too, but has its own marker.
  auto tree = [&] {
    auto pids = descendants(self);
    pids.erase(std::remove_if(pids.begin(), pids.end(),
                              [&](pid_t pid) {
                                return pid == watchdog_pid ||
                                       (!options.marker_env.empty() && !has_env(pid, options.marker_env));
                              }),
               pids.end());
    return pids;
  };
  auto stop_watchdog = [&] {
    ::kill(watchdog_pid, SIGKILL);
    while (::waitpid(watchdog_pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  };

  SpawnOptions task = options.task;
  if (!options.marker_env.empty()) {
    task.extra_env.push_back(options.marker_env);
  }
  pid_t main_pid = -1;
  try {
    main_pid = spawn(task);
  } catch (...) {
    stop_watchdog();
    ::sigprocmask(SIG_SETMASK, &previous, nullptr);
    throw;
  }
  if (options.on_started) {
    options.on_started(main_pid);
  }

  std::optional<ExitStatus> main_status;
  std::optional<std::chrono::steady_clock::time_point> leftover_deadline;
  bool killing = false;
  while (true) {
    siginfo_t info{};
    int signo;
    if (main_status) {
      // The main process is gone: poll what is left of the tree.
      const timespec tick{0, 50 * 1000 * 1000};
      signo = ::sigtimedwait(&waitable, &info, &tick);
    } else {
      signo = ::sigwaitinfo(&waitable, &info);
    }
    if (signo == SIGCHLD || (signo < 0 && errno == EAGAIN)) {
      int status = 0;
      pid_t reaped;
      while ((reaped = ::waitpid(-1, &status, WNOHANG)) > 0) {
        if (reaped == main_pid) {
          main_status = decode_wait_status(status);
        }
      }
    } else if (signo > 0) {
      if (options.on_signal) {
        options.on_signal(signo);
      }
      if (signo == options.kill_request_signal) {
        killing = true;
        signal_all(tree(), SIGKILL);
      } else {
        signal_all(tree(), signo);
      }
    }
    if (!main_status) {
      continue;
    }
    const auto left = tree();
    if (left.empty()) {
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!leftover_deadline) {
      leftover_deadline = now + options.leftover_grace;
      signal_all(left, killing ? SIGKILL : SIGTERM);
    } else if (killing || now >= *leftover_deadline) {
      signal_all(left, SIGKILL);
    }
  }
  stop_watchdog();
  ::sigprocmask(SIG_SETMASK, &previous, nullptr);
  return *main_status;
}

} // namespace spmi::process

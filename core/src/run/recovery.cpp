// SPDX-License-Identifier: MIT
#include "recovery.hpp"

#include <spmi/errors.hpp>
#include <spmi/process.hpp>
#include <spmi/recorded.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace spmi::wrapper {

void
append_log(const ManageableDir& dir, const std::string& line)
{
  try {
    dir.append("wrapper.log", line + "\n");
  } catch (const Error&) {
    // Nowhere safe to log to (an insecure or full directory): the record or start reports it.
  }
}

void
join_supervisor(const ManageableDir& dir, process::TaskGroup& group)
{
  if (const auto error = group.join(); !error.empty()) {
    append_log(dir, fmt::format("wrapper {}: stays out of its run's supervisor cgroup: {}", ::getpid(), error));
  }
}

bool
wanted_down(const ManageableDir& dir, const std::string& token)
{
  try {
    const auto launch = dir.read_launch();
    return launch && launch->token == token && launch->wanted == "down";
  } catch (const Error&) {
    return false;  // unreadable: what the user wants is unknown, so nothing is decided on it
  }
}

int
recent_restarts(std::vector<TimePoint>& times, std::chrono::milliseconds window, TimePoint now)
{
  times.erase(std::remove_if(times.begin(), times.end(), [&](TimePoint t) { return now - t >= window; }),
              times.end());
  return static_cast<int>(times.size());
}

int
inherited_alive_fd()
{
  const char* text = std::getenv(k_alive_fd_variable);
  if (!text) {
    return -1;
  }
  char* end = nullptr;
  const long fd = std::strtol(text, &end, 10);
  ::unsetenv(k_alive_fd_variable);
  return (end && *end == '\0' && fd > 2 && fd < 65536) ? static_cast<int>(fd) : -1;
}

namespace {

// Replaces this process (the watchdog) with a new wrapper for the same run, keeping the alive lock.
// Returns only when exec failed.
void
exec_successor(const ManageableDir& dir, const std::string& token, int alive_fd)
{
  ::fcntl(alive_fd, F_SETFD, 0);  // kept across exec: the manageable never looks inactive meanwhile
  ::setenv(k_alive_fd_variable, std::to_string(alive_fd).c_str(), 1);
  // The watchdog's parent-death signal survives exec: the new wrapper would take a SIGUSR1 when the
  // process it was reparented to ends (another task's wrapper, a subreaper) and pass it on to the task.
  ::prctl(PR_SET_PDEATHSIG, 0);
  // The first wrapper's marker of its run (unset by run_wrapper from its environment, but still in its
  // /proc environ, which the watchdog shares): the new wrapper must carry it too, or when it is below
  // another task's wrapper (started from inside that task) it counts as that task's process in fallback
  // membership and is ended with it.
  ::setenv(process::k_wrapper_marker_name, token.c_str(), 1);
  const auto args = wrapper_argv(dir, token);
  std::vector<char*> argv;
  for (const auto& arg : args) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  ::unsetenv(k_alive_fd_variable);
  ::fcntl(alive_fd, F_SETFD, FD_CLOEXEC);
}

} // namespace

void
after_wrapper_killed(const ManageableDir& dir, const std::string& token, process::TaskGroup& group, int alive_fd,
                     const RunSettings& settings)
{
  auto run = dir.read_run();
  if (!run || run->token != token) {
    return;
  }
  const long dead = run->wrapper_pid;
  const auto dead_start_time = run->wrapper_start_time;
  group.set_main(static_cast<pid_t>(run->pid));
  group.set_include_marked(true);  // with the wrapper gone, the marker finds what left its tree
  // Well within the time `spmi stop`/`kill` waits after killing the wrapper (Controller::k_kill_timeout).
  const bool ended = group.kill(std::chrono::milliseconds(2500));
  const auto now = Clock::now();
  run->finished_at = now;
  run->exit_code.reset();
  run->exit_signal.reset();
  run->next_attempt.reset();
  if (!ended) {
    run->error = fmt::format("the wrapper (pid {}) was killed and these processes of the task survived SIGKILL: {}",
                             dead, process::processes_text(process::describe_processes(group.members())));
    append_log(dir, run->error);
    dir.write_run(*run);
    return;
  }
  const int recent = recent_restarts(run->restart_times, settings.restart_window, now);
  const bool wanted = settings.restart != RestartPolicy::no && !wanted_down(dir, token);
  if (wanted && recent < settings.max_restarts && alive_fd >= 0) {
    const auto delay = backoff_delay(settings.restart_delay, settings.restart_delay_max, recent);
    run->next_attempt = now + delay;
    run->restarts += 1;
    run->recoveries += 1;
    run->restart_times.push_back(now + delay);
    // This process becomes the wrapper (exec keeps its pid and start time): until the new wrapper writes
    // its own record, a `stop` finds it as the wrapper.
    run->wrapper_pid = ::getpid();
    run->wrapper_start_time = process::start_time(::getpid()).value_or(0);
    run->watchdog_pid = 0;
    run->error.clear();
    append_log(dir, fmt::format("wrapper {}: the wrapper (pid {}) was killed; its processes were ended and the task "
                                "starts again in {} s (restart policy)",
                                ::getpid(), dead, delay.count() / 1000.0));
    dir.write_run(*run);
    exec_successor(dir, token, alive_fd);
    run->next_attempt.reset();
    run->wrapper_pid = dead;
    run->wrapper_start_time = dead_start_time;
  } else if (wanted) {
    run->failed = recent >= settings.max_restarts;
  }
  run->error = fmt::format("the wrapper (pid {}) was killed; spmi ended the task's processes", dead);
  // `status` adds the verdict of a spent budget to the error itself.
  append_log(dir, run->failed ? run->error + fmt::format(" and gave up restarting it (max_restarts = {})",
                                                         settings.max_restarts)
                              : run->error);
  dir.write_run(*run);
  group.remove();
}

} // namespace spmi::wrapper

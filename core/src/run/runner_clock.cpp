// SPDX-License-Identifier: MIT
// The run protocol's clock: when the wrapper wakes up while an attempt runs (a hook's timer, the SIGKILL
// after a stop, a max_memory sample), and the backoff wait between attempts.
#include "runner.hpp"

#include "logic.hpp"
#include "recovery.hpp"

#include <fmt/format.h>

#include <sys/wait.h>
#include <unistd.h>

namespace spmi::wrapper {

std::optional<Runner::SteadyTime>
Runner::next_wakeup() const
{
  std::optional<SteadyTime> first;
  for (const auto& when : {m_timer_at, m_kill_at, m_memory_at}) {
    if (when && (!first || *when < *first)) {
      first = when;
    }
  }
  return first;
}

void
Runner::check_memory(SteadyTime now)
{
  m_memory_at = now + k_memory_interval;
  const auto used = m_group.memory_bytes();
  if (used <= m_settings.max_memory) {
    return;
  }
  m_memory_at.reset();  // once: the stop below ends the attempt
  m_end_reason = fmt::format("exceeded max_memory ({} > {})", size_text(used), size_text(m_settings.max_memory));
  log(fmt::format("max_memory {} exceeded: {}; stopping the task", size_text(m_settings.max_memory), size_text(used)));
  stop();
}

void
Runner::wake_up()
{
  const auto now = std::chrono::steady_clock::now();
  if (m_kill_at && now >= *m_kill_at) {
    m_kill_at.reset();
    m_group.kill(std::chrono::milliseconds(0));
  }
  if (m_memory_at && now >= *m_memory_at) {
    check_memory(now);
  }
  if (m_timer_at && now >= *m_timer_at) {
    auto action = std::move(m_timer);
    m_timer_at.reset();
    m_timer = nullptr;
    if (action) {
      action(*this);
      record_run();  // what the timer recorded (facts) is on disk at once
    }
  }
}

bool
Runner::is_ending_signal(int signo) const
{
  return signo == m_settings.stop_signal || signo == kill_request_signal() || signo == SIGINT || signo == SIGTERM ||
         signo == SIGHUP || signo == SIGQUIT;
}

bool
Runner::wait_backoff(TimePoint deadline)
{
  while (true) {
    // Leftover children of the last attempt are reaped as they come.
    pid_t reaped;
    while ((reaped = ::waitpid(-1, nullptr, WNOHANG)) > 0) {
      if (m_on_reaped) {
        m_on_reaped(reaped);
      }
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      return true;
    }
    const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now);
    const timespec timeout{static_cast<time_t>(left.count() / 1000000000), static_cast<long>(left.count() % 1000000000)};
    siginfo_t info{};
    const int signo = ::sigtimedwait(&m_waitable, &info, &timeout);
    if (signo == kill_request_signal()) {
      m_kill_requested = true;
      return false;
    }
    // A stop (the user wrote wanted down first) ends the wait; the hang-up of a closed terminal does not.
    if (signo > 0 && is_ending_signal(signo) && wanted_down(m_dir, m_token)) {
      return false;
    }
  }
}

} // namespace spmi::wrapper

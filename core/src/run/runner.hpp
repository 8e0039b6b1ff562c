// SPDX-License-Identifier: MIT
// The run protocol's attempts: starts the task as RunSettings say, again as the restart policy says,
// waits out backoffs, records each attempt, and is the Attempt its hooks see.
#pragma once

#include <spmi/membership.hpp>
#include <spmi/process.hpp>
#include <spmi/run_protocol.hpp>

#include <signal.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace spmi::wrapper {

/// Set to 1 for every task unless its environment, env_file or env sets it (docs/guide/descriptors.md).
inline constexpr const char* k_python_unbuffered = "PYTHONUNBUFFERED";

class Runner final : public Attempt
{
public:
  // `record` is the run's record, filled in by the caller (token, wrapper, membership); `waitable` the
  // signals the caller blocked; `on_reaped` is called with each child reaped that is not the task's.
  Runner(const ManageableDir& dir, const std::string& token, const RunSettings& settings, const RunHooks& hooks,
         process::TaskGroup& group, RunRecord& record, const sigset_t& waitable, std::function<void(pid_t)> on_reaped);

  // Runs the attempts; @return the wrapper's exit status (0 ended and recorded, 1 could not start).
  int run();
  // Writes the run record; a full disk must not end the wrapper while it supervises a task.
  void record_run() const;

  const ManageableDir& dir() const override { return m_dir; }
  pid_t pid() const override { return static_cast<pid_t>(m_record.pid); }
  const RunRecord& record() const override { return m_record; }
  nlohmann::json& facts() override;
  void signal(int signo) override;
  void stop() override;
  void at(std::chrono::steady_clock::time_point when, std::function<void(Attempt&)> action) override;
  void log(const std::string& line) override;

private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  int fail_start(const std::string& message);
  // The main process's command, environment and place. Throws std::runtime_error saying what is wrong.
  void prepare_task(process::SpawnOptions& task) const;
  // What the task's environment `base` (unset: the wrapper's own) gets added: PYTHONUNBUFFERED=1 unless
  // set, env_file, then env (which wins), then SPMI_ID.
  std::vector<std::string> environment(const std::optional<std::vector<std::string>>& base) const;
  // Wires supervise() to this runner: records, hooks, timers, the kill request.
  process::SuperviseOptions supervise_options(process::SpawnOptions task);
  // Records how an attempt ended and decides on the next: false when there is none.
  bool next_attempt(const process::ExitStatus& status);
  // Waits until `deadline`; false when the user ended the run meanwhile.
  bool wait_backoff(TimePoint deadline);
  bool is_ending_signal(int signo) const;
  bool ended_by_user() const;
  // The earliest of the hook's timer, the stop's SIGKILL deadline and the next memory sample.
  std::optional<SteadyTime> next_wakeup() const;
  void wake_up();
  // max_memory: samples the task's memory, and stops the attempt when it is over the limit.
  void check_memory(SteadyTime now);

  const ManageableDir& m_dir;
  const std::string& m_token;
  const RunSettings& m_settings;
  const RunHooks& m_hooks;
  process::TaskGroup& m_group;
  RunRecord& m_record;
  const sigset_t& m_waitable;
  std::function<void(pid_t)> m_on_reaped;
  bool m_kill_requested = false;
  std::optional<SteadyTime> m_timer_at;
  std::function<void(Attempt&)> m_timer;
  std::optional<SteadyTime> m_kill_at;  // after Attempt::stop(): SIGKILL to what is left
  std::optional<SteadyTime> m_memory_at;  // the next sample of the task's memory (max_memory)
  std::string m_end_reason;               // why the wrapper ended this attempt (RunRecord::end_reason)
};

} // namespace spmi::wrapper

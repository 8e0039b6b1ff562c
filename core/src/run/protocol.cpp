// SPDX-License-Identifier: MIT
// run_protocol(): the wrapper process's frame around the attempts (the alive lock, the run record's
// identity, membership, the watchdog); without hooks, first the hand-over to the lean supervisor.
#include "lean.hpp"
#include "logic.hpp"
#include "recovery.hpp"
#include "runner.hpp"

#include <spmi/errors.hpp>
#include <spmi/names.hpp>
#include <spmi/recorded.hpp>
#include <spmi/run_protocol.hpp>

#include <fmt/format.h>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

namespace spmi {

namespace {

// Blocks every signal the wrapper waits for (in the calling thread) and restores the mask on exit.
class BlockedSignals
{
public:
  BlockedSignals()
  {
    sigfillset(&m_set);
    for (int signo : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS, SIGKILL, SIGSTOP}) {
      sigdelset(&m_set, signo);
    }
    ::pthread_sigmask(SIG_BLOCK, &m_set, &m_previous);
  }
  ~BlockedSignals() { ::pthread_sigmask(SIG_SETMASK, &m_previous, nullptr); }
  BlockedSignals(const BlockedSignals&) = delete;
  BlockedSignals& operator=(const BlockedSignals&) = delete;
  const sigset_t& set() const { return m_set; }

private:
  sigset_t m_set;
  sigset_t m_previous;
};

// The run record a wrapper starts with: its predecessor's (a killed wrapper replaced by its watchdog),
// else a new one; with this wrapper's identity, which `stop`/`kill` check before they signal it.
RunRecord
initial_record(const ManageableDir& dir, const std::string& token, bool replacement)
{
  RunRecord record;
  if (replacement) {
    try {
      record = dir.read_run().value_or(RunRecord{});
    } catch (const Error&) {
    }
  }
  record.token = token;
  record.wrapper_pid = ::getpid();
  record.wrapper_start_time = process::start_time(::getpid()).value_or(0);
  record.boot_id = process::boot_id();
  record.host = process::host_name();
  if (!replacement) {
    record.started_at = Clock::now();
  }
  return record;
}

} // namespace

std::vector<std::string>
wrapper_argv(const ManageableDir& dir, const std::string& token)
{
  // In the lean supervisor, spmi's executable is the one it was handed, not the supervisor itself.
  const auto& spmi = wrapper::wrapper_executable();
  return {spmi.empty() ? process::self_exe().string() : spmi.string(), k_wrapper_command, dir.path().string(), token};
}

int
run_protocol(const ManageableDir& dir, const std::string& token, const RunSettings& settings, const RunHooks& hooks)
{
  using wrapper::append_log;
  if (!hooks.on_start && !hooks.on_end) {
    wrapper::exec_lean_supervisor(dir, token, settings);  // returns only when it supervises here
  }
  // A wrapper that replaces a killed one takes over the alive lock its watchdog kept.
  const int inherited = wrapper::inherited_alive_fd();
  int alive_fd = inherited;
  if (inherited >= 0 ? !dir.adopt_alive_lock(inherited) : !dir.hold_alive_lock(&alive_fd)) {
    append_log(dir, fmt::format("wrapper {}: another wrapper is running this manageable; not starting", ::getpid()));
    return 75;
  }
  // Signals stay blocked for the whole run: supervise() takes them while a task runs, the backoff
  // wait takes them between attempts, and none can end the wrapper before it has recorded the end.
  const BlockedSignals blocked;
  RunRecord record = initial_record(dir, token, inherited >= 0);
  record.mixed_stdout = settings.mixed_stdout;
  try {
    process::become_subreaper();  // orphans of the task come back to us, whatever their session
  } catch (const Error&) {
  }
  auto group = process::TaskGroup::create(dir.id() + "-" + token, token);
  record.membership = group.mode();
  record.membership_note = group.note();
  record.cgroup = group.cgroup().string();
  auto start_watchdog = [&, alive_fd] {
    const auto program = wrapper::watchdog_program(dir, token, alive_fd, group);
    // Started in supervisor/ (cloned there, or a forked copy that moves itself) while this process is
    // not there yet: it joins once its task runs.
    record.watchdog_pid = process::start_watchdog(
      [&, alive_fd] { wrapper::after_wrapper_killed(dir, token, group, alive_fd, settings); },
      program ? &*program : nullptr, group.supervisor_dir_fd());
    group.set_watchdog(static_cast<pid_t>(record.watchdog_pid));
  };
  start_watchdog();
  std::unique_ptr<wrapper::Runner> runner;
  // A watchdog that died (killed by someone) is replaced at once, so a later SIGKILL of this wrapper is
  // still answered.
  auto on_reaped = [&](pid_t pid) {
    if (pid == record.watchdog_pid) {
      wrapper::join_supervisor(dir, group);  // then a forked watchdog is in supervisor/ too
      start_watchdog();
      append_log(dir, fmt::format("wrapper {}: its watchdog (pid {}) died; started another (pid {})", ::getpid(), pid,
                                  record.watchdog_pid));
      runner->record_run();
    }
  };
  runner = std::make_unique<wrapper::Runner>(dir, token, settings, hooks, group, record, blocked.set(), on_reaped);
  const int status = runner->run();
  process::stop_watchdog(static_cast<pid_t>(record.watchdog_pid));
  // The alive lock is held until this process exits: inactive means the wrapper is gone (a restart
  // on tmux or screen must not find its session still there), though the cgroup work below costs
  // `stop` a move out of supervisor/ (a wait for the kernel).
  group.remove();
  return status;
}

} // namespace spmi

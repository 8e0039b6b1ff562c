// SPDX-License-Identifier: MIT
// `spmi resurrect`: after a reboot, start again what was running when the host went down.
#include <spmi/controller.hpp>
#include <spmi/errors.hpp>
#include <spmi/process.hpp>
#include <spmi/resurrect.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <optional>

namespace spmi {

namespace {

std::string
local_time(TimePoint t)
{
  const std::time_t seconds = Clock::to_time_t(t);
  std::tm local{};
  localtime_r(&seconds, &local);
  char buffer[40];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d %H:%M:%S%z", &local);
  return buffer;
}

std::string
error_text(const std::exception_ptr& error)
{
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

// How a run that is over ended, for "not running when the host went down (...)".
std::string
how_it_ended(const RunRecord& run)
{
  std::string how;
  if (run.failed) {
    how = fmt::format("its restart policy gave up after {} restart{}", run.restarts, run.restarts == 1 ? "" : "s");
  } else if (!run.error.empty()) {
    how = "its wrapper could not run it: " + run.error;
  } else if (run.exit_signal) {
    how = "it was ended by " + process::signal_name(*run.exit_signal);
  } else {
    how = fmt::format("it exited with code {}", run.exit_code.value_or(0));
  }
  return run.finished_at ? fmt::format("{} at {}", how, local_time(*run.finished_at)) : how;
}

ResurrectOutcome
skip(const std::string& id, ResurrectVerdict verdict, std::string reason)
{
  return ResurrectOutcome{id, verdict, std::move(reason), false, nullptr};
}

// The part of the verdict that only the run record decides: was it running when the host went down,
// and was that in another boot?
ResurrectOutcome
verdict_of_run(const std::string& id, const LaunchRecord& launch, const std::optional<RunRecord>& run,
               const std::string& boot_id)
{
  using V = ResurrectVerdict;
  if (!run || run->token != launch.token) {
    return skip(id, V::not_running, "not running when the host went down (its last launch never started a wrapper)");
  }
  if (run->finished_at && !run->next_attempt) {
    return skip(id, V::not_running, "not running when the host went down (" + how_it_ended(*run) + ")");
  }
  if (run->boot_id.empty()) {
    return skip(id, V::same_boot,
                fmt::format("its run record has no boot ID (an older spmi wrote it), so a reboot can't be told "
                            "from a crash; `spmi start {}` starts it",
                            id));
  }
  if (run->boot_id == boot_id) {
    return skip(id, V::same_boot,
                fmt::format("same boot: its wrapper (pid {}) died in this boot without recording an end, a crash "
                            "rather than a reboot; `spmi start {}` starts it again",
                            run->wrapper_pid, id));
  }
  return ResurrectOutcome{id, V::start,
                          fmt::format("wanted up, autostart on, running when boot {} ended", run->boot_id.substr(0, 8)),
                          false, nullptr};
}

} // namespace

std::string
ResurrectOutcome::summary(bool dry_run) const
{
  if (verdict == ResurrectVerdict::unknown) {
    return fmt::format("{}: cannot decide: {}", id, error ? error_text(error) : reason);
  }
  if (verdict != ResurrectVerdict::start) {
    return fmt::format("{}: skipped: {}", id, reason);
  }
  if (error) {
    return fmt::format("{}: start failed: {}", id, error_text(error));
  }
  return fmt::format("{}: {} ({})", id, dry_run ? "would start" : started ? "started" : "not started", reason);
}

ResurrectOutcome
Controller::resurrect_verdict(const std::string& id, const std::string& boot_id)
{
  using V = ResurrectVerdict;
  try {
    const auto dir = existing(id);
    const auto launch = dir.read_launch();
    if (!launch) {
      return skip(id, V::not_running, "not running when the host went down (never started)");
    }
    if (launch->wanted == "down") {
      return skip(id, V::stopped,
                  fmt::format("stopped by the user (spmi {})", launch->ended_by.empty() ? "stop" : launch->ended_by));
    }
    auto outcome = verdict_of_run(id, *launch, dir.read_run(), boot_id);
    // Only what would start needs its plugins: they say whether it takes part.
    if (outcome.verdict == V::start && !instantiate(dir)->autostart()) {
      return skip(id, V::autostart_off,
                  "autostart is off in its descriptor (by default it is on only with a restart policy)");
    }
    return outcome;
  } catch (const std::exception&) {
    return ResurrectOutcome{id, V::unknown, "", false, std::current_exception()};
  }
}

ResurrectReport
Controller::resurrect(const std::vector<std::string>& ids, bool dry_run)
{
  ResurrectReport report;
  report.dry_run = dry_run;
  report.boot_id = process::boot_id();
  if (report.boot_id.empty()) {
    throw SystemError("cannot read this boot's ID from /proc/sys/kernel/random/boot_id (or the file "
                      "$SPMI_BOOT_ID_FILE names), so a reboot can't be told from a crash; nothing was started");
  }
  DirLock lock;
  if (!dry_run) {
    lock = m_store.lock_resurrect();  // a run at boot and one by hand: the second sees the first's starts
    report.log_path = m_store.resurrect_log_path();
  }
  std::vector<std::string> inactive;
  for (const auto& id : ids) {
    if (m_store.dir(id).is_active()) {
      report.outcomes.push_back(skip(id, ResurrectVerdict::active, "already active"));
    } else {
      inactive.push_back(id);
    }
  }
  const auto queued = queued_states(inactive);
  std::vector<std::string> to_start;
  for (const auto& id : inactive) {
    if (const auto it = queued.find(id); it != queued.end() && it->second != QueueState::gone) {
      report.outcomes.push_back(skip(id, ResurrectVerdict::pending, "already pending (its backend queued it)"));
      continue;
    }
    report.outcomes.push_back(resurrect_verdict(id, report.boot_id));
    if (report.outcomes.back().verdict == ResurrectVerdict::start) {
      to_start.push_back(id);
    }
  }
  std::sort(report.outcomes.begin(), report.outcomes.end(),
            [](const ResurrectOutcome& a, const ResurrectOutcome& b) { return a.id < b.id; });
  if (dry_run) {
    return report;
  }
  const auto errors = start_all(to_start);
  std::map<std::string, std::exception_ptr> error_of;
  for (std::size_t i = 0; i < to_start.size(); ++i) {
    error_of[to_start[i]] = errors[i];
  }
  for (auto& outcome : report.outcomes) {
    if (const auto it = error_of.find(outcome.id); it != error_of.end()) {
      outcome.error = it->second;
      outcome.started = outcome.error == nullptr;
    }
  }
  std::string log;
  const auto now = local_time(Clock::now());
  for (const auto& outcome : report.outcomes) {
    log += fmt::format("{} boot {}: {}\n", now, report.boot_id.substr(0, 8), outcome.summary(false));
  }
  if (report.outcomes.empty()) {
    log += fmt::format("{} boot {}: nothing selected\n", now, report.boot_id.substr(0, 8));
  }
  m_store.append("resurrect.log", log);
  return report;
}

} // namespace spmi

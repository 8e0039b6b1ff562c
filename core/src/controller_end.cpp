// SPDX-License-Identifier: MIT
// Controller::stop, kill and their batches: signal, wait, escalate at each deadline, check nothing is left.
#include <spmi/controller.hpp>
#include <spmi/errors.hpp>
#include <spmi/process.hpp>

#include "controller_detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace spmi {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace detail;

namespace {

// True while a stop or kill ends the running launch of `dir`: it is active, and launch.json is wanted
// down for the run that run.json describes, which has not finished. A start that holds the lock never
// looks so: it writes launch.json only once its wrapper reported, so until then the tokens differ.
bool
being_ended(const ManageableDir& dir)
{
  if (!dir.is_active()) {
    return false;
  }
  const auto run = dir.read_run();
  const auto launch = dir.read_launch();
  return run && launch && launch->token == run->token && launch->wanted == "down" && !run->finished_at;
}

} // namespace

void
Controller::stop(const std::string& id)
{
  end(id, true);
}

void
Controller::kill(const std::string& id)
{
  end(id, false);
}

std::vector<std::exception_ptr>
Controller::stop_all(const std::vector<std::string>& ids)
{
  return end_all(ids, true);
}

std::vector<std::exception_ptr>
Controller::kill_all(const std::vector<std::string>& ids)
{
  return end_all(ids, false);
}

struct Controller::PendingEnd
{
  std::string id;
  ManageableDir dir;
  DirLock lock;
  std::unique_ptr<Manageable> manageable;
  LaunchRecord launch;
  RunRecord run;
  Ending stage;
  std::chrono::milliseconds timeout;  // of this stage
  std::chrono::steady_clock::time_point deadline;
  bool killed = false;  // a stop that a `spmi kill` took over (killed_meanwhile())
  bool left_to_kill = false;  // ... and whose own escalation stopped for it (left_to_kill())
  bool unsynced = false;  // launch.json written wanted down, not yet synced (sync_and_signal())
};

DirLock
Controller::end_lock(const ManageableDir& dir, bool graceful)
{
  if (!graceful) {
    if (auto lock = dir.try_lock(); lock.fd() >= 0) {
      return lock;
    }
    if (being_ended(dir)) {
      m_logger->debug("manageable '{}' is being ended by another command; killing it without its lock", dir.id());
      return DirLock();
    }
  }
  return dir.lock();
}

bool
Controller::killed_meanwhile(PendingEnd& p)
{
  if (!p.killed && p.launch.ended_by == "stop") {
    try {
      const auto launch = p.dir.read_launch();
      p.killed = launch && launch->token == p.launch.token && launch->ended_by == "kill";
    } catch (const Error& e) {
      m_logger->debug("manageable '{}': {}", p.id, e.what());  // then it escalates as if not killed
    }
  }
  return p.killed;
}

bool
Controller::left_to_kill(PendingEnd& p, std::chrono::steady_clock::time_point now)
{
  if (!killed_meanwhile(p)) {
    return false;
  }
  if (!p.left_to_kill) {
    // The kill escalates on its own deadlines (a kill request, the wrapper's SIGKILL after k_kill_timeout,
    // its verdict after another); signalling as well would only race it, so this stop waits as long.
    m_logger->debug("manageable '{}': `spmi kill` took over its stop; waiting for it", p.id);
    p.left_to_kill = true;
    p.deadline = now + 2 * k_kill_timeout;
    return true;
  }
  throw BackendError(fmt::format("manageable '{}' is still active {} after `spmi kill` took over its stop; see "
                                 "`spmi status {}`",
                                 p.id, seconds_text(2 * k_kill_timeout), p.id));
}

std::unique_ptr<Controller::PendingEnd>
Controller::begin_end(const std::string& id, bool graceful)
{
  auto dir = existing(id);
  auto lock = end_lock(dir, graceful);
  const char* verb = graceful ? "stop" : "kill";
  if (!dir.is_active()) {
    const auto queued = queued_states({id});
    if (queued.count(id) && queued.at(id) != QueueState::gone) {
      // Pending: cancel the queued launch, then wait for the scheduler to forget it.
      auto launch = dir.read_launch();
      // Ended by the user, as for a running one: a job that ends so is not shown failed.
      launch->wanted = "down";
      launch->ended_by = verb;
      dir.write_launch(*launch);
      backend_for(dir, *launch).cancel(*launch);
      const bool gone = process::wait_until(
        [&] {
          const auto now = queued_states({id});
          return !now.count(id) || now.at(id) == QueueState::gone || dir.is_active();
        },
        k_kill_timeout);
      if (!gone) {
        throw BackendError(fmt::format("manageable '{}': {} is still queued after cancelling it", id, launch->backend_id));
      }
      if (!dir.is_active()) {
        return nullptr;
      }
      // It started meanwhile: end it like any running manageable.
    } else {
      throw StateError(fmt::format("manageable '{}' is inactive; nothing to {}", id, verb));
    }
  }
  auto run = dir.read_run();
  if (!run) {
    // Its wrapper holds the liveness lock before it writes run.json: a launch that began a moment ago (a
    // queued job the scheduler just started, another command's start) is in that window. Wait it out.
    process::wait_until([&] { return (run = dir.read_run()).has_value() || !dir.is_active(); }, k_start_timeout);
    if (!run && !dir.is_active()) {
      throw StateError(fmt::format("manageable '{}' ended on its own as its run began; nothing to {}; see `spmi "
                                   "status {}`",
                                   id, verb, id));
    }
    if (!run) {
      throw StateError(fmt::format("manageable '{}' is active but its wrapper wrote no run record in {}; see `spmi "
                                   "status {}` and try again",
                                   id, seconds_text(k_start_timeout), id));
    }
  }
  auto launch = dir.read_launch().value_or(LaunchRecord{});
  auto manageable = instantiate(dir);
  // Wanted down before any signal: the wrapper then never restarts it, nor does `resurrect`. Written
  // unsynced here; sync_and_signal() makes the batch's records durable at once before signalling.
  bool unsynced = false;
  if (launch.token == run->token) {
    launch.wanted = "down";
    launch.ended_by = verb;
    unsynced = record_down(id, dir, launch, graceful, false);
  }
  const auto stage = graceful ? Ending::graceful : Ending::kill;
  const auto timeout = graceful ? manageable->stop_timeout() : k_kill_timeout;
  auto p = std::unique_ptr<PendingEnd>(new PendingEnd{id, dir, std::move(lock), std::move(manageable), launch, *run,
                                                      stage, timeout, std::chrono::steady_clock::time_point()});
  p->unsynced = unsynced;
  return p;
}

bool
Controller::record_down(const std::string& id, const ManageableDir& dir, const LaunchRecord& launch, bool graceful,
                        bool sync)
{
  try {
    dir.write_launch(launch, sync);
    return true;
  } catch (const SystemError& e) {
    // On a full disk, ending the task is how the user gets room back: end it unrecorded.
    const auto free = full_disk_bytes_free(dir.path());
    if (!free) {
      throw;
    }
    m_logger->warn("manageable '{}': {}, so that it was {} is not recorded; {} it anyway ({})", id,
                   disk_full_text(dir.path(), *free), graceful ? "stopped" : "killed", graceful ? "stopping" : "killing",
                   e.what());
    return false;
  }
}

void
Controller::sync_and_signal(std::vector<std::unique_ptr<PendingEnd>>& pending, std::vector<std::exception_ptr>& errors,
                            bool graceful)
{
  std::vector<fs::path> written;
  for (const auto& p : pending) {
    if (p && p->unsynced) {
      written.push_back(p->dir.path());
    }
  }
  const bool failed = !sync_file_systems(written);
  if (failed) {
    m_logger->debug("cannot sync the records of this stop or kill at once: {}; syncing each", std::strerror(errno));
  }
  for (std::size_t i = 0; i < pending.size(); ++i) {
    if (!pending[i]) {
      continue;
    }
    auto& p = *pending[i];
    try {
      if (failed && p.unsynced) {
        record_down(p.id, p.dir, p.launch, graceful, true);  // its own fsync, or the error of its own disk
      }
      p.manageable->end(p.dir, p.launch, p.run, p.stage);
      p.deadline = std::chrono::steady_clock::now() + p.timeout;
    } catch (...) {
      errors[i] = std::current_exception();
      pending[i].reset();  // releases its lock
    }
  }
}

// Throws when processes of `id`'s last run outlived its wrapper: the end did not happen.
void
Controller::check_ended(const std::string& id, const ManageableDir& dir) const
{
  const auto run = dir.read_run();
  std::string distrust;
  const auto left = run ? leftover_processes(id, *run, distrust) : std::vector<process::ProcessInfo>{};
  if (!distrust.empty()) {
    throw StateError(fmt::format("manageable '{}': its wrapper ended, but whether processes of the task are left "
                                 "can't be told: {}; look at `spmi status {}` and check who can write {}",
                                 id, distrust, id, dir.run_path().string()));
  }
  if (!left.empty()) {
    std::string pids;
    for (const auto& l : left) {
      pids += (pids.empty() ? "" : " ") + std::to_string(l.pid);
    }
    throw BackendError(fmt::format("manageable '{}': its wrapper ended but {} process{} of the task survived: {}; "
                                   "end {} by hand (kill -9 {})",
                                   id, left.size(), left.size() == 1 ? "" : "es", process::processes_text(left),
                                   left.size() == 1 ? "it" : "them", pids));
  }
}

bool
Controller::advance_end(PendingEnd& p)
{
  if (!p.dir.is_active()) {
    if (killed_meanwhile(p)) {
      m_logger->warn("manageable '{}' was killed by `spmi kill` while it was being stopped", p.id);
    }
    check_ended(p.id, p.dir);
    return true;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now < p.deadline || left_to_kill(p, now)) {
    return false;
  }
  switch (p.stage) {
  case Ending::graceful:
    m_logger->warn("manageable '{}' did not stop within {}; killing it", p.id, seconds_text(p.timeout));
    p.stage = Ending::kill;
    break;
  case Ending::kill:
    m_logger->warn("manageable '{}': its wrapper (pid {}) did not end the task within {}; killing the wrapper", p.id,
                   p.run.wrapper_pid, seconds_text(p.timeout));
    p.stage = Ending::wrapper;
    break;
  case Ending::wrapper:
    throw BackendError(fmt::format("manageable '{}' is still active after its wrapper (pid {}) was killed", p.id,
                                   p.run.wrapper_pid));
  }
  p.manageable->end(p.dir, p.launch, p.run, p.stage);
  p.timeout = k_kill_timeout;
  p.deadline = now + p.timeout;
  return false;
}

void
Controller::end(const std::string& id, bool graceful)
{
  const auto errors = end_all({id}, graceful);
  if (errors.front()) {
    std::rethrow_exception(errors.front());
  }
}

std::vector<std::exception_ptr>
Controller::end_all(const std::vector<std::string>& ids, bool graceful)
{
  std::vector<std::exception_ptr> errors(ids.size());
  const std::size_t batch = batch_size(k_batch);
  for (std::size_t first = 0; first < ids.size(); first += batch) {
    const std::size_t last = std::min(ids.size(), first + batch);
    std::vector<std::unique_ptr<PendingEnd>> pending(ids.size());
    for (std::size_t i = first; i < last; ++i) {
      try {
        pending[i] = begin_end(ids[i], graceful);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
    sync_and_signal(pending, errors, graceful);
    const auto left_at_start = std::count_if(pending.begin(), pending.end(), [](const auto& p) { return p != nullptr; });
    std::size_t left = static_cast<std::size_t>(left_at_start);
    // Each pending end finishes or throws by its own deadlines (at most its stop timeout plus two kill
    // timeouts from now), so this loop ends by itself; wait_until only spaces the looks.
    while (left > 0) {
      process::wait_until(
        [&] {
          for (std::size_t i = first; i < last; ++i) {
            if (!pending[i]) {
              continue;
            }
            bool done = true;
            try {
              done = advance_end(*pending[i]);
            } catch (...) {
              errors[i] = std::current_exception();
            }
            if (done) {
              pending[i].reset();  // releases its lock
              --left;
            }
          }
          return left == 0;
        },
        k_kill_timeout);
    }
  }
  return errors;
}

} // namespace spmi

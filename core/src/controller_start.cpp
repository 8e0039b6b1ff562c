// SPDX-License-Identifier: MIT
// Controller::start and start_all: launch, wait for the wrappers to report, record or explain.
#include <spmi/controller.hpp>
#include <spmi/errors.hpp>
#include <spmi/process.hpp>

#include "controller_detail.hpp"
#include "controller_start.hpp"
#include "start_failure.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <cstdlib>
#include <unistd.h>

#include <algorithm>

namespace spmi {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace detail;

namespace {

std::string
new_token()
{
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  return fmt::format("{}-{}", ns, ::getpid());
}

} // namespace


std::unique_ptr<Controller::PendingStart>
Controller::prepare_start(const std::string& id)
{
  auto dir = existing(id);
  auto lock = dir.lock();
  existing(id);  // not cleaned while we waited for the lock
  if (dir.is_active()) {
    throw StateError(fmt::format("manageable '{}' is {}; stop it first", id, running_word(dir)));
  }
  if (const auto queued = queued_states({id}); queued.count(id) && queued.at(id) != QueueState::gone) {
    throw StateError(fmt::format("manageable '{}' is pending (queued as {}); stop it to cancel", id,
                                 dir.read_launch()->backend_id));
  }
  if (const auto free = full_disk_bytes_free(dir.path())) {
    // Its wrapper would run the task without a record, which `start` waits for.
    throw SystemError(fmt::format("manageable '{}': {}, so its wrapper could not record the task's state; free some "
                                  "space, then start it", id, disk_full_text(dir.path(), *free)));
  }
  // Nothing planted: no symlink (stdout -> a file of someone else) nor a file of another user.
  dir.check_entries();
  const auto meta = dir.read_meta();
  auto p = std::make_unique<PendingStart>(id, dir, std::move(lock), instantiate(dir, meta), new_token());
  p->revision = meta.value("revision", 1);
  dir.make_stdin();
  // What this launch runs, whatever is reloaded while it lives (its wrapper, and one that replaces it,
  // read this; see run_wrapper()).
  dir.write_launched(p->token, meta);
  p->log_offset = wrapper_log_size(dir);
  p->plan = p->manageable->plan_launch(p->dir, p->token);
  return p;
}

bool
Controller::poll(PendingStart& p)
{
  p.run = p.dir.read_run();
  if (p.run && p.run->token == p.token) {
    return true;
  }
  if (p.launched.launcher_pid > 0 && !p.launcher_exit) {
    p.launcher_exit = process::try_wait(p.launched.launcher_pid);
  }
  return p.launcher_exit.has_value();
}

void
Controller::finish(PendingStart& p)
{
  const auto& id = p.id;
  const auto& dir = p.dir;
  const auto& launched = p.launched;
  auto& run = p.run;
  if (p.launcher_exit && !(run && run->token == p.token)) {
    // One more look: the wrapper may have written its record just before the launcher ended.
    run = dir.read_run();
  }
  if (run && run->token == p.token) {
    dir.write_launch(p.launch, false);  // synced with the batch's others (sync_launches())
    p.unsynced = true;
    if (!run->error.empty()) {
      throw BackendError(fmt::format("manageable '{}': {}", id, run->error));
    }
    return;
  }
  if (launched.launcher_pid > 0 && !p.launcher_exit) {
    // Timed out: don't leave the launch behind, half started.
    process::signal_process(launched.launcher_pid, SIGKILL);
    process::wait(launched.launcher_pid);
  }
  // What the launcher and the wrapper wrote to wrapper.log meanwhile says why; a file that is not there
  // is never named.
  if (const auto& launcher_exit = p.launcher_exit) {
    throw BackendError(start_failure(
      dir, p.log_offset,
      fmt::format("the backend's process (pid {}) exited ({}) before the wrapper started", launched.launcher_pid,
                  launcher_exit->signal ? process::signal_name(launcher_exit->signal)
                                        : fmt::format("status {}", launcher_exit->code))));
  }
  throw BackendError(start_failure(dir, p.log_offset,
                                   fmt::format("the wrapper did not start within {}", seconds_text(k_start_timeout))));
}

void
Controller::start(const std::string& id)
{
  const auto errors = start_all({id});
  if (errors.front()) {
    std::rethrow_exception(errors.front());
  }
}

std::vector<std::exception_ptr>
Controller::restart_all(const std::vector<std::string>& ids, std::vector<bool>& was_running)
{
  std::vector<std::exception_ptr> errors(ids.size());
  was_running.assign(ids.size(), false);
  std::vector<std::string> inactive;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    try {
      was_running[i] = existing(ids[i]).is_active();
      if (!was_running[i]) {
        inactive.push_back(ids[i]);
      }
    } catch (...) {
      errors[i] = std::current_exception();
    }
  }
  const auto queued = queued_states(inactive);  // once for all pending ones
  std::vector<std::string> running;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto it = queued.find(ids[i]);
    was_running[i] = was_running[i] || (it != queued.end() && it->second != QueueState::gone);
    if (was_running[i] && !errors[i]) {
      running.push_back(ids[i]);
    }
  }
  const auto ended = end_all(running, true);
  std::vector<std::string> to_start;
  for (std::size_t i = 0, k = 0; i < ids.size(); ++i) {
    if (was_running[i] && !errors[i] && ended[k++]) {
      try {
        std::rethrow_exception(ended[k - 1]);
      } catch (const StateError&) {
        if (existing(ids[i]).is_active()) {
          errors[i] = std::current_exception();
        } else {
          was_running[i] = false;  // it ended by itself meanwhile
        }
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
    if (!errors[i]) {
      to_start.push_back(ids[i]);
    }
  }
  const auto started = start_all(to_start);
  for (std::size_t i = 0, k = 0; i < ids.size(); ++i) {
    if (!errors[i]) {
      errors[i] = started[k++];
    }
  }
  return errors;
}

// Until every launched wrapper of the batch reported, or none did for k_start_timeout: a batch of many on
// a busy host may take longer than that in all, but each report resets the wait, so only wrappers that
// are stuck while the others go on (or all of them) time out.
void
Controller::wait_reported(std::vector<std::unique_ptr<PendingStart>>& pending, std::vector<std::exception_ptr>& errors)
{
  std::vector<bool> reported(pending.size(), false);
  std::size_t left = 0;
  for (const auto& p : pending) {
    left += p ? 1 : 0;
  }
  while (left > 0) {
    const std::size_t before = left;
    process::wait_until(
      [&] {
        for (std::size_t i = 0; i < pending.size(); ++i) {
          if (pending[i] && !reported[i]) {
            try {
              reported[i] = poll(*pending[i]);
            } catch (...) {
              errors[i] = std::current_exception();
              pending[i].reset();
              reported[i] = true;
            }
            left -= reported[i] ? 1 : 0;
          }
        }
        return left < before;
      },
      k_start_timeout, k_start_poll);
    if (left == before) {
      return;  // no progress for k_start_timeout: those left time out (finish())
    }
  }
}

std::vector<std::exception_ptr>
Controller::start_all(const std::vector<std::string>& ids)
{
  std::vector<std::exception_ptr> errors(ids.size());
  const std::size_t batch = batch_size(k_batch);
  for (std::size_t first = 0; first < ids.size(); first += batch) {
    const std::size_t last = std::min(ids.size(), first + batch);
    std::vector<std::unique_ptr<PendingStart>> pending(ids.size());
    for (std::size_t i = first; i < last; ++i) {
      try {
        pending[i] = prepare_start(ids[i]);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
    launch_prepared(pending, errors);
    wait_reported(pending, errors);
    for (std::size_t i = first; i < last; ++i) {
      if (pending[i]) {
        try {
          finish(*pending[i]);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      }
    }
    sync_launches(pending, errors);  // then each releases its lock
  }
  return errors;
}

void
Controller::sync_launches(std::vector<std::unique_ptr<PendingStart>>& pending, std::vector<std::exception_ptr>& errors)
{
  std::vector<fs::path> written;
  for (const auto& p : pending) {
    if (p && p->unsynced) {
      written.push_back(p->dir.path());
    }
  }
  if (!sync_file_systems(written)) {
    m_logger->debug("cannot sync the launch records at once: {}; syncing each", std::strerror(errno));
    for (std::size_t i = 0; i < pending.size(); ++i) {
      try {
        if (pending[i] && pending[i]->unsynced) {
          pending[i]->dir.write_launch(pending[i]->launch);
        }
      } catch (...) {
        errors[i] = errors[i] ? errors[i] : std::current_exception();
      }
    }
  }
  for (auto& p : pending) {
    p.reset();
  }
}

} // namespace spmi

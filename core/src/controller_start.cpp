// SPDX-License-Identifier: MIT
// Controller::start and start_all: launch, wait for the wrappers to report, record or explain.
#include <spmi/controller.hpp>
#include <spmi/errors.hpp>
#include <spmi/process.hpp>

#include "controller_detail.hpp"
#include "start_failure.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <cstdlib>
#include <unistd.h>

#include <algorithm>
#include <map>

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

struct Controller::PendingStart
{
  PendingStart(std::string id_, ManageableDir dir_, DirLock lock_, std::unique_ptr<Manageable> manageable_,
               std::string token_)
    : id(std::move(id_)), dir(std::move(dir_)), lock(std::move(lock_)), manageable(std::move(manageable_)),
      token(std::move(token_))
  {
  }
  std::string id;
  ManageableDir dir;
  DirLock lock;
  std::unique_ptr<Manageable> manageable;
  std::string token;
  LaunchResult launched;
  LaunchRecord launch;
  std::optional<RunRecord> run;
  std::optional<process::ExitStatus> launcher_exit;
  std::uint64_t log_offset = 0;  // wrapper.log's size before the launch: what came after is the launch's
  int revision = 1;              // of the manageable.json this launch runs
  std::optional<LaunchPlan> plan;  // how it launches, when its manageable says (grouped by backend)
  bool unsynced = false;            // launch.json written by finish(), not yet synced
};

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

void
Controller::launch_group(const std::vector<PendingStart*>& group, std::vector<std::exception_ptr>& errors)
{
  // A task that runs `spmi start` must not hand its own marker to the new task, or the new one would
  // count as part of the first one's tree.
  ::unsetenv(process::k_task_marker_name);
  ::unsetenv(process::k_id_variable);
  // The new wrapper carries a run's marker of its own, so that when it ends up below the task that
  // started it (a local backend's wrapper is reparented to that task's wrapper) it is never counted as
  // that task's process (see membership.hpp). A group's wrappers share the first one's: any of this
  // start's tokens is foreign to the calling task.
  ::setenv(process::k_wrapper_marker_name, group.front()->token.c_str(), 1);
  if (group.size() == 1 || !group.front()->plan) {
    auto& p = *group.front();
    try {
      p.launched = p.manageable->start(p.dir, p.token);
    } catch (...) {
      errors.front() = std::current_exception();
    }
    return;
  }
  std::vector<LaunchSpec> specs;
  for (const auto* p : group) {
    specs.push_back(p->plan->spec);
  }
  const auto& plan = *group.front()->plan;
  m_logger->debug("launching {} manageables together on backend '{}'", specs.size(), plan.backend_type);
  std::vector<LaunchResult> results;
  try {
    results = plan.backend->launch_many(specs);
    if (results.size() != specs.size()) {
      throw PluginError(fmt::format("backend '{}': launch_many returned {} results for {} launches", plan.backend_type,
                                    results.size(), specs.size()));
    }
  } catch (const BackendError& e) {
    // None launched: each says so, naming itself (the backend's message names none).
    for (std::size_t i = 0; i < group.size(); ++i) {
      errors[i] = std::make_exception_ptr(BackendError(fmt::format("manageable '{}': {}", group[i]->id, e.what())));
    }
    return;
  } catch (...) {
    std::fill(errors.begin(), errors.end(), std::current_exception());  // none launched: each says so
    return;
  }
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (results[i].failure) {
      errors[i] = results[i].failure;
      continue;
    }
    auto& launched = group[i]->launched = std::move(results[i]);
    launched.backend_type = plan.backend_type;
    if (launched.backend_settings.is_null()) {
      launched.backend_settings = plan.backend_settings;  // recorded: what signals or cancels it is made from it
    }
  }
}

std::unique_ptr<Controller::PendingStart>
Controller::launched(std::unique_ptr<PendingStart> p)
{
  const auto& launched = p->launched;
  std::error_code cwd_error;
  const auto cwd = std::filesystem::current_path(cwd_error);
  p->launch = LaunchRecord{p->token, launched.backend_type, launched.backend_id, Clock::now(), launched.queued,
                           cwd_error ? std::string() : cwd.string(), "up", ""};
  p->launch.backend_settings = launched.backend_settings;  // the backend asked about it later is made from these
  p->launch.revision = p->revision;
  if (launched.queued) {
    p->dir.write_launch(p->launch);  // the scheduler starts the wrapper later; until then it is pending
    return nullptr;
  }
  m_logger->debug("manageable '{}': backend ID {}, waiting for the wrapper", p->id, launched.backend_id);
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

void
Controller::launch_prepared(std::vector<std::unique_ptr<PendingStart>>& pending, std::vector<std::exception_ptr>& errors)
{
  // Groups by backend type and settings, in the order of their first member; one without a plan alone.
  std::vector<std::vector<std::size_t>> groups;
  std::map<std::string, std::size_t> group_of;
  for (std::size_t i = 0; i < pending.size(); ++i) {
    if (!pending[i]) {
      continue;
    }
    const auto& plan = pending[i]->plan;
    const auto key = plan ? plan->backend_type + '\n' + plan->backend_settings.dump() : "\x01" + pending[i]->id;
    const auto [it, fresh] = group_of.try_emplace(key, groups.size());
    if (fresh) {
      groups.emplace_back();
    }
    groups[it->second].push_back(i);
  }
  for (const auto& group : groups) {
    std::vector<PendingStart*> members;
    for (auto i : group) {
      members.push_back(pending[i].get());
    }
    std::vector<std::exception_ptr> group_errors(group.size());
    launch_group(members, group_errors);
    for (std::size_t k = 0; k < group.size(); ++k) {
      const auto i = group[k];
      try {
        if (group_errors[k]) {
          std::rethrow_exception(group_errors[k]);
        }
        pending[i] = launched(std::move(pending[i]));
      } catch (...) {
        errors[i] = std::current_exception();
        pending[i].reset();  // releases its lock
      }
    }
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
    std::vector<bool> reported(ids.size(), false);
    process::wait_until(
      [&] {
        bool all = true;
        for (std::size_t i = first; i < last; ++i) {
          if (pending[i] && !reported[i]) {
            try {
              reported[i] = poll(*pending[i]);
            } catch (...) {
              errors[i] = std::current_exception();
              pending[i].reset();
              continue;
            }
            all = all && reported[i];
          }
        }
        return all;
      },
      k_start_timeout, k_start_poll);
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

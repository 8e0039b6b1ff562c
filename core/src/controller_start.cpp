// SPDX-License-Identifier: MIT
// Controller::start and start_all: launch, wait for the wrappers to report, record or explain.
#include <spmi/controller.hpp>
#include <spmi/errors.hpp>
#include <spmi/process.hpp>

#include "controller_detail.hpp"
#include "start_failure.hpp"

#include <fmt/format.h>

#include <csignal>
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

struct Controller::PendingStart
{
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
};

std::unique_ptr<Controller::PendingStart>
Controller::launch(const std::string& id)
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
  auto manageable = instantiate(dir, meta);
  dir.make_stdin();
  const auto token = new_token();
  // What this launch runs, whatever is reloaded while it lives (its wrapper, and one that replaces it,
  // read this; see run_wrapper()).
  dir.write_launched(token, meta);
  // A task that runs `spmi start` must not hand its own marker to the new task, or the new one would
  // count as part of the first one's tree.
  ::unsetenv(process::k_task_marker_name);
  ::unsetenv(process::k_id_variable);
  // The new wrapper carries its own run's marker, so that when it ends up below the task that started
  // it (a local backend's wrapper is reparented to that task's wrapper) it is never counted as that
  // task's process (see membership.hpp).
  ::setenv(process::k_wrapper_marker_name, token.c_str(), 1);
  const auto log_offset = wrapper_log_size(dir);
  const auto launched = manageable->start(dir, token);
  std::error_code cwd_error;
  const auto cwd = std::filesystem::current_path(cwd_error);
  LaunchRecord launch{token, launched.backend_type, launched.backend_id, Clock::now(), launched.queued,
                      cwd_error ? std::string() : cwd.string(), "up", ""};
  launch.backend_settings = launched.backend_settings;  // the backend asked about it later is made from these
  launch.revision = meta.value("revision", 1);
  if (launched.queued) {
    dir.write_launch(launch);  // the scheduler starts the wrapper later; until then it is pending
    return nullptr;
  }
  m_logger->debug("manageable '{}': backend ID {}, waiting for the wrapper", id, launched.backend_id);
  return std::unique_ptr<PendingStart>(
    new PendingStart{id, dir, std::move(lock), std::move(manageable), token, launched, launch, {}, {}, log_offset});
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
    dir.write_launch(p.launch);
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
Controller::start_all(const std::vector<std::string>& ids)
{
  std::vector<std::exception_ptr> errors(ids.size());
  const std::size_t batch = batch_size(k_batch);
  for (std::size_t first = 0; first < ids.size(); first += batch) {
    const std::size_t last = std::min(ids.size(), first + batch);
    std::vector<std::unique_ptr<PendingStart>> pending(ids.size());
    for (std::size_t i = first; i < last; ++i) {
      try {
        pending[i] = launch(ids[i]);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
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
        pending[i].reset();  // releases its lock
      }
    }
  }
  return errors;
}

} // namespace spmi

// SPDX-License-Identifier: MIT
#include <spmi/controller.hpp>
#include <spmi/descriptor.hpp>
#include <spmi/errors.hpp>
#include <spmi/membership.hpp>
#include <spmi/process.hpp>
#include <spmi/recorded.hpp>

#include "pattern.hpp"
#include "start_failure.hpp"

#include <fmt/format.h>

#include <csignal>
#include <cstdlib>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>

namespace spmi {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string
new_token()
{
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  return fmt::format("{}-{}", ns, ::getpid());
}

std::string
seconds_text(std::chrono::milliseconds duration)
{
  return fmt::format("{:g} s", static_cast<double>(duration.count()) / 1000.0);
}

// Which backend made `launch`: its type and recorded settings, as a key of Controller::m_backends.
std::string
launch_backend_key(const LaunchRecord& launch)
{
  return launch.backend_type + '\n' + (launch.backend_settings.is_object() ? launch.backend_settings.dump() : "");
}

// How many manageables a batch of start_all/end_all may hold: k_batch, or fewer when the limit of open
// files is low (each pending one holds its lock open; half the room left is kept for everything else).
std::size_t
batch_size(std::size_t most)
{
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return most;
  }
  const auto room = limit.rlim_cur > 64 ? (limit.rlim_cur - 64) / 2 : 1;
  return std::max<std::size_t>(1, std::min<std::size_t>(most, room));
}

// Processes of `run` still alive although its wrapper has ended. A wrapper records an end only once
// none is left, so in the fallback only a run whose wrapper died (no end recorded, or survivors named)
// is looked at; a cgroup is looked at always (one file).
// A recorded cgroup that is not the run's own (process::trusted_cgroup()) is never looked at: `distrust`
// then says why.
std::vector<process::ProcessInfo>
leftover_processes(const std::string& id, const RunRecord& run, std::string& distrust)
{
  if (run.membership.empty() ||
      (run.cgroup.empty() && run.finished_at && run.error.find("survived") == std::string::npos)) {
    return {};
  }
  const auto cgroup = process::trusted_cgroup(id, run, &distrust);
  if (!distrust.empty()) {
    return {};
  }
  // The wrapper and its watchdog are gone: their pids may belong to others now, so they name nothing.
  process::TaskGroup group(cgroup, run.token, 0, 0, static_cast<pid_t>(run.pid));
  group.set_include_marked(true);
  if (!run.cgroup.empty() && group.empty()) {
    return {};
  }
  return process::describe_processes(group.members());
}

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

// "the file system holding <dir> is full (N bytes free)", for `free` from full_disk_bytes_free(dir).
std::string
disk_full_text(const fs::path& dir, std::uint64_t free)
{
  const auto room = free >= k_full_disk_bytes ? std::string("no free inode") : fmt::format("{} bytes free", free);
  return fmt::format("the file system holding {} is full ({})", dir.string(), room);
}

// The note of `status` when the file system holding a manageable's directory `dir` is full (`free`
// bytes left): first, as it explains the rest; `other` (any other note) follows.
std::string
disk_full_note(const fs::path& dir, std::uint64_t free, bool active, bool end_unrecorded, const std::string& other)
{
  const auto full = disk_full_text(dir, free);
  std::string note;
  if (active) {
    note = full + ": the task's output is being dropped and its state can't be recorded; free some space";
  } else if (end_unrecorded) {
    note = "the wrapper ended without recording how the task ended, as " + full + "; free some space";
  } else {
    note = full + ": starting it would fail; free some space";
  }
  return other.empty() ? note : note + "; " + other;
}

} // namespace

Controller::Controller(StateStore store, PluginRegistry& registry, std::shared_ptr<spdlog::logger> logger)
  : m_store(std::move(store)), m_registry(registry), m_logger(std::move(logger))
{
}

std::vector<std::string>
Controller::select(const std::vector<std::string>& patterns, std::vector<std::string>& unmatched) const
{
  // RE2, not std::regex: its time is linear in the ID whatever the pattern ('(a|a)*b' took std::regex
  // seconds on a 28-character ID), and it refuses what can't be matched so (backreferences, lookaround).
  std::vector<std::unique_ptr<re2::RE2>> regexes;
  for (const auto& pattern : patterns) {
    regexes.push_back(compile_pattern(pattern));
  }
  // Patterns that are plain IDs without any regex metacharacter ('.' is one) match only themselves:
  // when all are, no scan of the store is needed, so `status <id>` costs the same at any N.
  const bool all_literal = std::all_of(patterns.begin(), patterns.end(), [](const std::string& pattern) {
    return is_valid_id(pattern) && pattern.find('.') == std::string::npos;
  });
  if (all_literal) {
    std::set<std::string> found;
    for (const auto& pattern : patterns) {
      if (m_store.contains(pattern)) {
        found.insert(pattern);
      } else {
        unmatched.push_back(pattern);
      }
    }
    return {found.begin(), found.end()};
  }
  const auto ids = m_store.ids();
  std::vector<bool> matched(patterns.size(), false);
  std::vector<std::string> result;
  for (const auto& id : ids) {
    bool any = false;
    for (std::size_t i = 0; i < regexes.size(); ++i) {
      // A plain ID is compared directly: cheaper, and '.' in an ID means itself first.
      if (patterns[i] == id || re2::RE2::FullMatch(id, *regexes[i])) {
        matched[i] = true;
        any = true;
      }
    }
    if (any) {
      result.push_back(id);
    }
  }
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    if (!matched[i]) {
      unmatched.push_back(patterns[i]);
    }
  }
  return result;
}

std::vector<std::string>
Controller::load(const std::vector<fs::path>& paths)
{
  std::vector<Descriptor> descriptors;
  std::vector<std::string> problems;
  std::map<std::string, fs::path> seen;
  for (const auto& path : paths) {
    try {
      auto descriptor = read_descriptor(path);
      if (auto it = seen.find(descriptor.id); it != seen.end()) {
        throw DescriptorError(fmt::format("{}: {}.id: '{}' is also the ID in {}; IDs must be unique",
                                          path.string(), descriptor.type, descriptor.id, it->second.string()));
      }
      seen.emplace(descriptor.id, path);
      // Building the manageable validates the rest: its keys, backend and wrapper types.
      PluginContext context{Section(descriptor.body, path.string(), descriptor.type), m_logger, &m_registry, true};
      m_registry.create_manageable(descriptor.type, context);
      descriptors.push_back(std::move(descriptor));
    } catch (const DescriptorError& e) {
      problems.push_back(e.what());
    }
  }
  if (!problems.empty()) {
    std::string message;
    for (const auto& problem : problems) {
      message += problem + "\n";
    }
    message += fmt::format("nothing was loaded: {} of {} descriptor{} invalid", problems.size(), paths.size(),
                           paths.size() == 1 ? " is" : "s are");
    throw DescriptorError(message);
  }
  m_store.register_all(descriptors);
  std::vector<std::string> ids;
  for (const auto& descriptor : descriptors) {
    ids.push_back(descriptor.id);
  }
  return ids;
}

Backend&
Controller::backend_for(const ManageableDir& dir, const LaunchRecord& launch)
{
  auto& backend = m_backends[launch_backend_key(launch)];
  if (!backend) {
    // A record of an older version has no settings: its backend is made from the type alone, as then.
    const auto settings = launch.backend_settings.is_object() ? launch.backend_settings
                                                              : json{{"type", launch.backend_type}};
    auto& node = *m_documents.emplace_back(std::make_unique<json>(settings));
    backend = m_registry.create_backend(
      launch.backend_type, PluginContext{Section(node, dir.launch_path().string(), "backend_settings"), m_logger, &m_registry});
  }
  return *backend;
}

std::map<std::string, QueueState>
Controller::queued_states(const std::vector<std::string>& ids)
{
  // One query per backend that made launches: launches of one type with other settings (another
  // cluster, another socket) are asked of a backend made with theirs.
  struct Queued
  {
    ManageableDir dir;
    LaunchRecord launch;
    std::vector<std::pair<std::string, std::string>> ids;  // (id, backend ID)
  };
  std::map<std::string, Queued> by_backend;
  for (const auto& id : ids) {
    const auto dir = m_store.dir(id);
    try {
      const auto launch = dir.read_launch();
      if (!launch || !launch->queued) {
        continue;
      }
      const auto run = dir.read_run();
      if (!run || run->token != launch->token) {
        auto& queued = by_backend.try_emplace(launch_backend_key(*launch), Queued{dir, *launch, {}}).first->second;
        queued.ids.emplace_back(id, launch->backend_id);
      }
    } catch (const Error&) {
      // A corrupt record is reported where the manageable is shown.
    }
  }
  std::map<std::string, QueueState> result;
  for (const auto& [key, queued] : by_backend) {
    std::vector<std::string> backend_ids;
    for (const auto& launch : queued.ids) {
      backend_ids.push_back(launch.second);
    }
    const auto states = backend_for(queued.dir, queued.launch).queue_states(backend_ids);
    for (const auto& [id, backend_id] : queued.ids) {
      const auto it = states.find(backend_id);
      result[id] = it == states.end() ? QueueState::gone : it->second;
    }
  }
  return result;
}

std::vector<ManageableSummary>
Controller::list()
{
  std::vector<ManageableSummary> result;
  std::vector<std::string> inactive;
  for (const auto& id : m_store.ids()) {
    ManageableSummary summary;
    summary.id = id;
    const auto dir = m_store.dir(id);
    try {
      const auto meta = dir.read_meta();
      summary.type = meta.value("type", "");
      summary.comment = meta.value("comment", "");
      summary.active = dir.is_active();
      if (!summary.active) {
        inactive.push_back(id);
        try {
          const auto run = dir.read_run();
          summary.failed = run && run->failed;
        } catch (const Error&) {
          // A corrupt run record is reported by `status`.
        }
      }
    } catch (const std::exception& e) {
      summary.problem = e.what();
    }
    result.push_back(std::move(summary));
  }
  // Only inactive manageables can be pending; their queued launches cost one query per backend type.
  std::map<std::string, QueueState> queued;
  try {
    queued = queued_states(inactive);
  } catch (const PluginError&) {
    throw;  // a broken plugin is not an unreachable scheduler: exit 4, naming it
  } catch (const Error& e) {
    m_logger->warn("cannot tell which manageables are pending: {}", e.what());
  }
  for (auto& summary : result) {
    const auto it = queued.find(summary.id);
    summary.pending = it != queued.end() && it->second != QueueState::gone;
  }
  return result;
}

ManageableDir
Controller::existing(const std::string& id) const
{
  if (!m_store.contains(id)) {
    throw StateError(fmt::format("no manageable '{}' is loaded", id));
  }
  return m_store.dir(id);
}

std::unique_ptr<Manageable>
Controller::instantiate(const ManageableDir& dir)
{
  const auto meta = dir.read_meta();
  auto& body = *m_documents.emplace_back(std::make_unique<json>(meta.value("body", json::object())));
  const std::string type = meta.value("type", "");
  PluginContext context{Section(body, meta.value("source", dir.meta_path().string()), type), m_logger, &m_registry};
  return m_registry.create_manageable(type, context);
}

bool
Controller::is_active(const std::string& id) const
{
  return m_store.dir(id).is_active();
}

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
    throw StateError(fmt::format("manageable '{}' is active; stop it first", id));
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
  auto manageable = instantiate(dir);
  dir.make_stdin();
  const auto token = new_token();
  // A task that runs `spmi start` must not hand its own marker to the new task, or the new one would
  // count as part of the first one's tree.
  ::unsetenv(process::k_task_marker_name);
  ::unsetenv("SPMI_ID");
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
      const auto launch = dir.read_launch();
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
  const auto run = dir.read_run();
  if (!run) {
    throw StateError(fmt::format("manageable '{}' is active but has no run record; try again", id));
  }
  auto launch = dir.read_launch().value_or(LaunchRecord{});
  auto manageable = instantiate(dir);
  // Wanted down before any signal: the wrapper then never restarts it, nor does `resurrect`.
  if (launch.token == run->token) {
    launch.wanted = "down";
    launch.ended_by = verb;
    try {
      dir.write_launch(launch);
    } catch (const SystemError& e) {
      // On a full disk, ending the task is how the user gets room back: end it unrecorded.
      const auto free = full_disk_bytes_free(dir.path());
      if (!free) {
        throw;
      }
      m_logger->warn("manageable '{}': {}, so that it was {} is not recorded; {} it anyway ({})", id,
                     disk_full_text(dir.path(), *free), graceful ? "stopped" : "killed", graceful ? "stopping" : "killing",
                     e.what());
    }
  }
  const auto stage = graceful ? Ending::graceful : Ending::kill;
  const auto timeout = graceful ? manageable->stop_timeout() : k_kill_timeout;
  manageable->end(dir, launch, *run, stage);
  return std::unique_ptr<PendingEnd>(new PendingEnd{id, dir, std::move(lock), std::move(manageable), launch, *run, stage,
                                                    timeout, std::chrono::steady_clock::now() + timeout});
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
    std::size_t left = 0;
    for (std::size_t i = first; i < last; ++i) {
      try {
        pending[i] = begin_end(ids[i], graceful);
        left += pending[i] ? 1 : 0;
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
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

bool
Controller::restart(const std::string& id)
{
  const auto dir = existing(id);
  bool running = dir.is_active();
  if (!running) {
    const auto queued = queued_states({id});
    running = queued.count(id) && queued.at(id) != QueueState::gone;
  }
  if (running) {
    try {
      end(id, true);
    } catch (const StateError&) {
      if (dir.is_active()) {
        throw;
      }
      running = false;  // it ended by itself meanwhile
    }
  }
  start(id);
  return running;
}

void
Controller::clean(const std::string& id)
{
  const auto dir = existing(id);
  const auto lock = dir.lock();
  existing(id);
  if (dir.is_active()) {
    throw StateError(fmt::format("manageable '{}' is active; stop or kill it before cleaning", id));
  }
  if (const auto queued = queued_states({id}); queued.count(id) && queued.at(id) != QueueState::gone) {
    throw StateError(fmt::format("manageable '{}' is pending; stop it (cancelling the queued launch) before cleaning", id));
  }
  m_store.remove(id);
}

ManageableStatus
Controller::status(const std::string& id, std::size_t output_lines)
{
  const auto dir = existing(id);
  const auto meta = dir.read_meta();
  ManageableStatus status;
  status.id = id;
  status.type = meta.value("type", "");
  status.comment = meta.value("comment", "");
  status.path = dir.path();
  status.active = dir.is_active();
  status.since = from_epoch(meta.value("loaded_at", 0.0));
  const auto launch = dir.read_launch();
  const auto run = dir.read_run();
  try {
    auto report = instantiate(dir)->status(StatusQuery{dir, launch, run, status.active});
    status.fields = std::move(report.lines);
    status.plugins = std::move(report.plugins);
  } catch (const PluginError&) {
    throw;  // exit 4, naming the plugin
  } catch (const Error& e) {
    status.note = e.what();
  }
  if (run) {
    status.facts = run->facts;
    status.pid = run->pid > 0 ? std::optional<long>(run->pid) : std::nullopt;
    if (status.active) {
      status.since = run->started_at;
    } else if (run->finished_at) {
      status.since = *run->finished_at;
      status.exit_code = run->exit_code;
      status.exit_signal = run->exit_signal;
    } else {
      status.since = run->started_at;
      status.note = "the wrapper ended without recording how the task ended (was it killed?)";
    }
    if (!run->error.empty()) {
      status.note = run->error;
    }
    status.restarts = run->restarts;
    status.last_exit_code = run->exit_code;
    status.last_exit_signal = run->exit_signal;
    if (run->exit_code || run->exit_signal) {
      status.last_exit_at = run->finished_at;
    }
    if (status.active) {
      status.next_attempt = run->next_attempt;
    } else if (run->failed) {
      status.failed = true;
      // The last attempt's own story (a killed wrapper) stays in front of the verdict.
      status.note = fmt::format("{}gave up after {} automatic restart{} (max_restarts reached within restart_window)",
                                run->error.empty() ? "" : run->error + "; ", run->restarts,
                                run->restarts == 1 ? "" : "s");
    }
  } else if (status.active && launch) {
    status.since = launch->launched_at;
  }
  if (!status.active && launch && launch->queued && !(run && run->token == launch->token)) {
    const auto queued = queued_states({id});
    const auto state = queued.count(id) ? queued.at(id) : QueueState::gone;
    status.since = launch->launched_at;
    if (state != QueueState::gone) {
      status.pending = true;
      status.note = fmt::format("queued as {}; {}", launch->backend_id,
                                state == QueueState::running ? "placed, the wrapper is starting" : "waiting for the scheduler");
    } else {
      status.note = fmt::format("{} ended before its wrapper ran (cancelled, or failed to start)", launch->backend_id);
    }
  }
  if (run && !run->membership.empty()) {
    status.fields.push_back({"Membership", run->membership == "cgroup"
                                             ? fmt::format("cgroup {}", run->cgroup)
                                             : fmt::format("process tree (fallback: {})", run->membership_note)});
  }
  if (run && !status.active) {
    std::string distrust;
    const auto left = leftover_processes(id, *run, distrust);
    if (!distrust.empty()) {
      status.note = fmt::format("{}{}; its processes are not looked at", status.note.empty() ? "" : status.note + "; ",
                                distrust);
    }
    if (!left.empty()) {
      status.note = fmt::format("{}{} process{} of the task {} still running without a wrapper: {}",
                                status.note.empty() ? "" : status.note + "; ", left.size(),
                                left.size() == 1 ? "" : "es", left.size() == 1 ? "is" : "are", process::processes_text(left));
    }
  }
  if (const auto free = full_disk_bytes_free(dir.path())) {
    // Not "was it killed?": a wrapper that could not write its record ends without one.
    const bool end_unrecorded = !status.active && run && !run->finished_at && run->error.empty();
    status.note = disk_full_note(dir.path(), *free, status.active, end_unrecorded, end_unrecorded ? "" : status.note);
  }
  status.output = dir.tail("stdout", output_lines);
  return status;
}

int
Controller::run_wrapper(const fs::path& dir_path, const std::string& token)
{
  const ManageableDir dir(dir_path);
  dir.verify();  // before any thread: the wrapper's files are opened only relative to this directory
  ::unsetenv(process::k_wrapper_marker_name);  // the wrapper's own (see launch()); its task gets task_marker()
  return instantiate(dir)->run(dir, token);
}

} // namespace spmi

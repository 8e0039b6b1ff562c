// SPDX-License-Identifier: MIT
// The decisions behind `list` and `status` (spmi/views.hpp): a manageable's state, what its latest run
// says, and the resources of every active one from one scan of /proc.
#include <spmi/errors.hpp>
#include <spmi/process.hpp>
#include <spmi/recorded.hpp>
#include <spmi/views.hpp>

#include "controller_detail.hpp"

#include <map>

namespace spmi {

const char*
state_word(State state)
{
  switch (state) {
  case State::inactive: return "inactive";
  case State::active: return "active";
  case State::restarting: return "restarting";
  case State::pending: return "pending";
  case State::failed: return "failed";
  case State::unknown: break;
  }
  return "unknown";
}

State
decide_state(bool active, bool pending, const std::optional<RunRecord>& run)
{
  if (active) {
    return run && run->next_attempt ? State::restarting : State::active;
  }
  if (pending) {
    return State::pending;
  }
  return run && run->failed ? State::failed : State::inactive;
}

std::optional<std::string>
remote_host(const RunRecord& run, const std::string& local)
{
  if (run.host.empty() || local.empty() || run.host == local) {
    return std::nullopt;
  }
  return run.host;
}

namespace detail {

namespace {

// The run's members as its wrapper counts them (its cgroup, or its process tree less its watchdog);
// nullopt when run.json names a cgroup that is not the run's own (process::trusted_cgroup()).
std::optional<process::TreeRoot>
tree_root(const std::string& id, const RunRecord& run)
{
  std::string distrust;
  const auto cgroup = process::trusted_cgroup(id, run, &distrust);
  if (!distrust.empty()) {
    return std::nullopt;
  }
  return process::TreeRoot{static_cast<pid_t>(run.wrapper_pid), process::task_marker(run.token), cgroup.string(),
                           static_cast<pid_t>(run.watchdog_pid), static_cast<pid_t>(run.pid)};
}

} // namespace

void
read_view_meta(ManageableView& view, const nlohmann::json& meta)
{
  view.type = meta.value("type", "");
  view.comment = meta.value("comment", "");
  view.source = meta.value("source", "");
  if (meta.contains("loaded_at")) {
    view.loaded_at = from_epoch(meta.value("loaded_at", 0.0));
  }
}

void
read_view_records(ManageableView& view, const ManageableDir& dir)
{
  try {
    view.launch = dir.read_launch();
    view.run = dir.read_run();
  } catch (const Error&) {
    // A corrupt record shows as missing here; status names it.
  }
}

void
decide_view(ManageableView& view, bool active, bool pending)
{
  view.state = decide_state(active, pending, view.run);
  const auto& run = view.run;
  // What the run says applies only when it is the latest launch's own.
  const bool current = run && (!view.launch || run->token == view.launch->token);
  if (view.launch) {
    view.launched_at = view.launch->launched_at;
  }
  if (!current) {
    if (view.state == State::restarting) {
      view.state = State::active;  // a new wrapper, not yet recorded: an older run's backoff is not its
    }
    return;
  }
  view.restarts = run->restarts;
  view.started_at = run->started_at;
  if (run->exit_signal || run->exit_code) {
    view.last_exit = ExitView{run->exit_signal ? 128 + *run->exit_signal : *run->exit_code, run->exit_signal,
                              run->finished_at, run->end_reason};
  }
  if (active) {
    view.wrapper_pid = run->wrapper_pid > 0 ? std::optional<long>(run->wrapper_pid) : std::nullopt;
    if (view.state == State::active) {
      view.pid = run->pid > 0 ? std::optional<long>(run->pid) : std::nullopt;
      return;
    }
    view.next_attempt = run->next_attempt;  // restarting: no attempt runs, the latest one's end shows
  }
  view.finished_at = run->finished_at;
  if (view.last_exit) {
    ExitView exit;
    exit.code = view.last_exit->code;
    exit.signal = view.last_exit->signal;
    view.exit = exit;
  }
}

std::string
running_word(const ManageableDir& dir)
{
  ManageableView view;
  read_view_records(view, dir);
  decide_view(view, true, false);
  return state_word(view.state);
}

void
measure(const std::vector<ManageableView*>& views)
{
  std::vector<process::TreeRoot> roots;
  std::vector<ManageableView*> rooted;
  const auto local = process::host_name();
  for (auto* view : views) {
    // A wrapper on another host is not in this host's /proc (a process with its pid here is another).
    if (view->running() && view->run && view->run->wrapper_pid > 0 && !remote_host(*view->run, local)) {
      if (auto root = tree_root(view->id, *view->run)) {
        roots.push_back(std::move(*root));
        rooted.push_back(view);
      }
    }
  }
  if (roots.empty()) {
    return;
  }
  const auto usage = process::tree_usage(roots);
  for (auto* view : rooted) {
    const auto it = usage.find(static_cast<pid_t>(view->run->wrapper_pid));
    if (it != usage.end() && it->second.processes > 0) {
      view->resources = it->second;
    }
  }
}

} // namespace detail

} // namespace spmi

// SPDX-License-Identifier: MIT
// Controller::list and status: the views `list` and `status` render (spmi/views.hpp).
#include <spmi/controller.hpp>
#include <spmi/errors.hpp>
#include <spmi/process.hpp>
#include <spmi/recorded.hpp>

#include "controller_detail.hpp"
#include "list_cache.hpp"
#include "prefault.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace spmi {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace detail;

namespace {

// A queued launch whose job ended (the scheduler says how) without its wrapper ever running: failed,
// unless the user ended it (stop or kill cancel the job).
void
job_ended(ManageableView& view)
{
  if (view.launch && view.launch->wanted == "up" && view.launch->ended_by.empty()) {
    view.state = State::failed;
  }
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

// What `status` takes from the run record: pid, since, exit, the restart policy's story.
void
status_from_run(ManageableStatus& status, const RunRecord& run, bool active)
{
  status.facts = run.facts;
  // Restarting: no attempt runs, so it shows the latest one's end, as an inactive one does.
  const bool restarting = active && run.next_attempt && run.finished_at;
  status.pid = run.pid > 0 && !restarting ? std::optional<long>(run.pid) : std::nullopt;
  if (active && !restarting) {
    status.since = run.started_at;
  } else if (run.finished_at) {
    status.since = *run.finished_at;
    status.exit_code = run.exit_code;
    status.exit_signal = run.exit_signal;
  } else {
    status.since = run.started_at;
    status.note = "the wrapper ended without recording how the task ended (was it killed?)";
  }
  if (!run.error.empty()) {
    status.note = run.error;
  }
  status.restarts = run.restarts;
  status.last_exit_code = run.exit_code;
  status.last_exit_signal = run.exit_signal;
  if (run.exit_code || run.exit_signal) {
    status.last_exit_at = run.finished_at;
    status.last_exit_reason = run.end_reason;
  }
  if (active) {
    status.next_attempt = run.next_attempt;
  } else if (run.failed) {
    // The last attempt's own story (a killed wrapper) stays in front of the verdict. How many restarts
    // there were is the Restarts line's, said once.
    status.note = fmt::format("{}gave up restarting it (max_restarts reached within restart_window)",
                              run.error.empty() ? "" : run.error + "; ");
  }
}

// What `status` says of the task's working directory and environment: the descriptor's (`setup`, from
// its wrapper), else what `load` recorded in `meta`, else (loaded by spmi 0.2.0) each start's.
void
status_setup(ManageableStatus& status, const json& meta, const TaskSetup& setup, const ManageableDir& dir)
{
  if (!setup.known) {
    return;  // a wrapper that does not say: its place and variables are its own business
  }
  status.env_names = setup.env_names;
  status.env_file = setup.env_file ? setup.env_file->string() : "";
  if (setup.cwd) {
    status.cwd = setup.cwd->string();
    status.cwd_from = "descriptor";
  } else if (const auto cwd = meta.find("cwd"); cwd != meta.end() && cwd->is_string()) {
    status.cwd = cwd->get<std::string>();
    status.cwd_from = "load";
  } else {
    status.cwd_from = "start";
  }
  const auto name = meta.find("environment");
  if (name == meta.end() || !name->is_string()) {
    return;
  }
  status.environment_captured_at = from_epoch(meta.value("environment_captured_at", 0.0));
  try {
    status.environment_variables = dir.read_environment(name->get<std::string>()).size();
  } catch (const StateError& e) {
    status.note = status.note.empty() ? e.what() : status.note + "; " + e.what();
  }
}

// `note`, with what is known of the processes an ended run left behind.
std::string
leftover_note(const std::string& id, const RunRecord& run, std::string note)
{
  std::string distrust;
  const auto left = leftover_processes(id, run, distrust);
  if (!distrust.empty()) {
    note = fmt::format("{}{}; its processes are not looked at", note.empty() ? "" : note + "; ", distrust);
  }
  if (!left.empty()) {
    note = fmt::format("{}{} process{} of the task {} still running without a wrapper: {}",
                       note.empty() ? "" : note + "; ", left.size(), left.size() == 1 ? "" : "es",
                       left.size() == 1 ? "is" : "are", process::processes_text(left));
  }
  return note;
}

// A never-started manageable's view from `list`'s cache: what read_view_meta() takes of manageable.json.
void
cached_view(ManageableView& view, ListCache::Entry entry)
{
  view.type = std::move(entry.type);
  view.comment = std::move(entry.comment);
  view.source = std::move(entry.source);
  if (entry.loaded_at) {
    view.loaded_at = from_epoch(*entry.loaded_at);
  }
}

} // namespace

std::vector<ManageableView>
Controller::list(bool resources)
{
  return list_of(m_store.ids(), resources);
}

std::vector<ManageableView>
Controller::list_of(const std::vector<std::string>& ids, bool resources)
{
  // Made in place: a view is over a kilobyte, and a list of thousands would spend more time moving
  // them while the vector grows than reading their files.
  std::vector<ManageableView> result;
  result.reserve(ids.size());
  detail::prefault(result.data(), ids.size() * sizeof(ManageableView));
  std::vector<char> active(ids.size(), 0);  // by position in `result`
  std::vector<std::string> inactive;
  // Those never started are shown from one file while their directories are unchanged (list_cache.hpp).
  ListCache cache(m_store);
  for (const auto& id : ids) {
    auto& view = result.emplace_back();
    view.id = id;
    if (auto cached = cache.find(id)) {
      cached_view(view, std::move(*cached));
      continue;  // nothing to ask a scheduler about: never launched
    }
    const auto dir = m_store.dir(id);
    try {
      read_view_meta(view, dir.read_meta());
      active[result.size() - 1] = dir.is_active();
      read_view_records(view, dir);
      if (!active[result.size() - 1]) {
        inactive.push_back(id);
        cache.remember(id, {view.type, view.comment, view.source,
                            view.loaded_at ? std::optional(to_epoch(*view.loaded_at)) : std::nullopt});
      }
    } catch (const std::exception& e) {
      view.problem = e.what();
      view.loaded_at.reset();
      view.launch.reset();
      view.run.reset();
    }
  }
  cache.save();
  // Only inactive manageables can be pending; their queued launches cost one query per backend.
  std::map<std::string, QueueState> queued;
  std::map<std::string, std::string> ended;
  try {
    queued = queued_states(inactive, &ended);
  } catch (const PluginError&) {
    throw;  // a broken plugin is not an unreachable scheduler: exit 4, naming it
  } catch (const Error& e) {
    m_logger->warn("cannot tell which manageables are pending: {}", e.what());
  }
  std::vector<ManageableView*> views;
  for (std::size_t i = 0; i < result.size(); ++i) {
    auto& view = result[i];
    if (view.problem.empty()) {
      const auto it = queued.find(view.id);
      decide_view(view, active[i] != 0, it != queued.end() && it->second != QueueState::gone);
      if (ended.count(view.id)) {
        job_ended(view);
      }
      views.push_back(&view);
    }
  }
  if (resources) {
    measure(views);
  }
  return result;
}

ManageableStatus
Controller::status(const std::string& id, std::size_t output_lines)
{
  auto status = status_view(id, output_lines);
  measure({&status.view});
  return status;
}

std::vector<StatusOutcome>
Controller::status_all(const std::vector<std::string>& ids, std::size_t output_lines)
{
  std::vector<StatusOutcome> result(ids.size());
  std::vector<ManageableView*> views;
  // The queued ones' scheduler asked once for all (one query per backend), not once per manageable.
  std::optional<QueueAnswers> queue;
  try {
    QueueAnswers answers;
    answers.states = queued_states(ids, &answers.ended);
    queue = std::move(answers);
  } catch (const Error&) {
    // Each one asks again, and says what failed where it is shown.
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    try {
      result[i].status = status_view(ids[i], output_lines, queue ? &*queue : nullptr);
      views.push_back(&result[i].status->view);
    } catch (...) {
      result[i].error = std::current_exception();
    }
  }
  measure(views);
  return result;
}

ManageableStatus
Controller::status_view(const std::string& id, std::size_t output_lines, const QueueAnswers* queue)
{
  const auto dir = existing(id);
  const auto meta = dir.read_meta();
  ManageableStatus status;
  auto& view = status.view;
  view.id = id;
  read_view_meta(view, meta);
  status.path = dir.path();
  const bool active = dir.is_active();
  status.since = from_epoch(meta.value("loaded_at", 0.0));
  view.launch = dir.read_launch();
  view.run = dir.read_run();
  const auto& launch = view.launch;
  const auto& run = view.run;
  try {
    // While it runs, what it runs: the descriptor its launch started, not one reloaded since.
    const auto shown = active && launch ? dir.read_launched(launch->token) : meta;
    auto report = instantiate(dir, shown)->status(StatusQuery{dir, launch, run, active});
    status.fields = std::move(report.lines);
    status.plugins = std::move(report.plugins);
    status_setup(status, shown, report.setup, dir);
    status.reloaded_at = meta.contains("reloaded_at") && meta["reloaded_at"].is_number()
                           ? std::optional<TimePoint>(from_epoch(meta["reloaded_at"].get<double>()))
                           : std::nullopt;
  } catch (const PluginError&) {
    throw;  // exit 4, naming the plugin
  } catch (const Error& e) {
    status.note = e.what();
  }
  if (run) {
    status_from_run(status, *run, active);
  } else if (active && launch) {
    status.since = launch->launched_at;
  }
  bool pending = false;
  std::string ended;
  if (!active && launch && launch->queued && !(run && run->token == launch->token)) {
    pending = status_from_queue(status, id, *launch, ended, queue);
  }
  decide_view(view, active, pending);
  if (!ended.empty()) {
    job_ended(view);
  }
  status_host(status, active, launch, run);
  // Running what an older descriptor said: `restart` runs the reloaded one.
  status.reload_pending = (active || pending) && launch &&
                          std::max(launch->revision, 1) != meta.value("revision", 1);
  if (run && !run->membership.empty()) {
    status.fields.push_back({"Membership", run->membership == "cgroup"
                                             ? fmt::format("cgroup {}", run->cgroup)
                                             : fmt::format("process tree (fallback: {})", run->membership_note)});
  }
  if (run && !active) {
    status.note = leftover_note(id, *run, status.note);
  }
  if (const auto free = full_disk_bytes_free(dir.path())) {
    // Not "was it killed?": a wrapper that could not write its record ends without one.
    const bool end_unrecorded = !active && run && !run->finished_at && run->error.empty();
    status.note = disk_full_note(dir.path(), *free, active, end_unrecorded, end_unrecorded ? "" : status.note);
  }
  status.output = dir.tail("stdout", output_lines);
  return status;
}

void
Controller::status_host(ManageableStatus& status, bool active, const std::optional<LaunchRecord>& launch,
                        const std::optional<RunRecord>& run)
{
  if (!run || run->host.empty() || (launch && run->token != launch->token)) {
    return;
  }
  const auto local = process::host_name();
  const auto remote = remote_host(*run, local);
  if (remote || (launch && launch->queued)) {
    status.fields.push_back({"Host", run->host});  // where a scheduler placed it, or a wrapper elsewhere runs
  }
  if (remote && active) {
    // Its processes are in that host's /proc, not this one's: nothing here measures them.
    status.fields.push_back({"Resources", fmt::format("not measured (runs on {}; this is {})", *remote, local)});
  }
}

bool
Controller::status_from_queue(ManageableStatus& status, const std::string& id, const LaunchRecord& launch,
                              std::string& ended, const QueueAnswers* queue)
{
  QueueAnswers asked;
  if (!queue) {
    asked.states = queued_states({id}, &asked.ended);
    queue = &asked;
  }
  const auto it = queue->states.find(id);
  const auto state = it != queue->states.end() ? it->second : QueueState::gone;
  status.since = launch.launched_at;
  if (state == QueueState::gone) {
    const auto word = queue->ended.find(id);
    ended = word != queue->ended.end() ? word->second : "";
    status.note = ended.empty()
                    ? fmt::format("{} ended before its wrapper ran (cancelled, or failed to start)", launch.backend_id)
                    : fmt::format("{} ended before its wrapper ran (the scheduler says {})", launch.backend_id, ended);
    return false;
  }
  status.note = fmt::format("queued as {}; {}", launch.backend_id,
                            state == QueueState::running ? "placed, the wrapper is starting" : "waiting for the scheduler");
  return true;
}

} // namespace spmi

// SPDX-License-Identifier: MIT
/// \file
/// What `list` and `status` show, decided by the core: a state, typed metadata, the launch and run
/// records, resources. The CLI only turns these views into text or JSON.
#pragma once

#include <spmi/export.hpp>
#include <spmi/plugin.hpp>
#include <spmi/process.hpp>
#include <spmi/state.hpp>

#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace spmi {

/// Where a manageable stands, as `list` and `status` name it.
enum class State
{
  inactive,  ///< no wrapper runs it
  active,    ///< a wrapper runs it (holds its `alive` lock)
  restarting,  ///< a wrapper runs it but no attempt: it waits out a backoff delay before the next one
  pending,   ///< its backend queued the launch (a batch job waiting); no wrapper yet
  failed,    ///< inactive: its wrapper gave up restarting it (max_restarts)
  unknown,   ///< its state could not be read (ManageableView::problem says why)
};

/// The word `list`, `status` and their JSON use for `state`: "inactive", "active", "restarting", "pending",
/// "failed", "unknown".
SPMI_API const char* state_word(State state);

/// The state from what was read: a live wrapper wins (restarting while `run` says it waits for the next
/// attempt), then a queued launch, then a restart policy that gave up.
SPMI_API State decide_state(bool active, bool pending, const std::optional<RunRecord>& run);

/// The host `run`'s wrapper runs on when that is not `local` (this host, process::host_name()): on a
/// cluster, a task on a compute node while `spmi` runs on a login node. Its processes, /proc and `stdin`
/// FIFO are out of reach from here. nullopt for a run on this host or a record without a host.
SPMI_API std::optional<std::string> remote_host(const RunRecord& run, const std::string& local);

/// How a run ended, as `list --json` and `status --json` show it.
struct SPMI_API ExitView
{
  /// the shell's code: the exit code, or 128 + the signal
  int code = 0;
  /// the signal that ended it, if one did
  std::optional<int> signal;
  /// when it ended (set for ManageableView::last_exit)
  std::optional<TimePoint> at;
  /// why the wrapper ended it, when it did (RunRecord::end_reason), e.g. "exceeded max_memory (70M > 60M)"
  std::string reason;
};

/// One manageable as `list` shows it (and the part `status` shares).
struct SPMI_API ManageableView
{
  /// its ID
  std::string id;
  /// its manageable type, e.g. "task" ("" when its metadata can't be read)
  std::string type;
  /// the descriptor's comment, "" when none
  std::string comment;
  /// the descriptor file it was loaded from
  std::string source;
  /// when it was loaded
  std::optional<TimePoint> loaded_at;
  /// where it stands
  State state = State::unknown;
  /// set when its state could not be read (then `state` is unknown)
  std::string problem;
  /// launch.json, when there is one (missing also when corrupt: `status` names that)
  std::optional<LaunchRecord> launch;
  /// run.json, when there is one (missing also when corrupt)
  std::optional<RunRecord> run;
  /// resource use of its task's processes, from one scan of /proc for every active manageable shown
  std::optional<process::TreeUsage> resources;

  /// @name Decided from the records
  /// What the latest launch's own run says (`run` belongs to `launch`); unset when it does not apply.
  /// @{

  /// the task's pid, while active
  std::optional<long> pid;
  /// the wrapper's pid, while active
  std::optional<long> wrapper_pid;
  /// when the latest launch was made
  std::optional<TimePoint> launched_at;
  /// when the latest attempt started
  std::optional<TimePoint> started_at;
  /// when the latest attempt ended, while inactive or restarting
  std::optional<TimePoint> finished_at;
  /// how the latest attempt ended, while inactive or restarting
  std::optional<ExitView> exit;
  /// how the latest attempt that ended did, with when and why, whatever the state (also while the
  /// next attempt runs)
  std::optional<ExitView> last_exit;
  /// automatic restarts in the latest launch (while restarting, the one awaited included)
  int restarts = 0;
  /// when the next attempt is due, while restarting
  std::optional<TimePoint> next_attempt;
  /// @}

  /// True while a wrapper runs an attempt of it.
  bool active() const { return state == State::active; }
  /// True while a wrapper runs it: active, or restarting between attempts.
  bool running() const { return state == State::active || state == State::restarting; }
  /// True while its backend holds the launch queued.
  bool pending() const { return state == State::pending; }
};

/// Everything `spmi status` shows about one manageable.
struct SPMI_API ManageableStatus
{
  /// what `list` shows of it: state, metadata, records, resources
  ManageableView view;
  TimePoint since;                        ///< start of the run when active, else its (latest attempt's) end, or load time
  /// its directory in the state store
  std::filesystem::path path;
  std::vector<StatusField> fields;        ///< from the manageable and its plugins: backend, wrapper, command...
  /// what plugins add to `status --json`, one object per plugin by class name (StatusReport::plugins)
  nlohmann::json plugins = nlohmann::json::object();
  /// what plugins recorded about the latest run, by class name (RunRecord::facts)
  nlohmann::json facts = nlohmann::json::object();
  /// the task's pid in its latest run (unset while restarting: no attempt runs)
  std::optional<long> pid;
  /// when inactive or restarting: the exit code of the latest attempt, if it exited
  std::optional<int> exit_code;
  /// when inactive or restarting: the signal that ended the latest attempt, if one did
  std::optional<int> exit_signal;
  std::string note;                       ///< e.g. the wrapper died without recording an exit
  /// @name Restart policy
  /// Automatic restarts in the latest launch, how the latest attempt ended (also while
  /// the next one runs or is awaited), when the next attempt is due, and whether the wrapper gave up.
  /// @{

  /// automatic restarts in the latest launch
  int restarts = 0;
  /// exit code of the latest attempt, if it exited
  std::optional<int> last_exit_code;
  /// signal that ended the latest attempt, if one did
  std::optional<int> last_exit_signal;
  /// when the latest attempt ended
  std::optional<TimePoint> last_exit_at;
  /// why the wrapper ended the latest attempt, if it did (RunRecord::end_reason)
  std::string last_exit_reason;
  std::optional<TimePoint> next_attempt;  ///< only while restarting
  /// @}
  /// True when the restart line applies: restarts happened, the policy gave up, or an attempt is due.
  bool shows_restarts() const
  {
    return restarts > 0 || view.state == State::failed || view.state == State::restarting || next_attempt.has_value();
  }
  std::vector<std::string> output;        ///< last lines of stdout
  /// @name Working directory, environment, reload
  /// What the task gets, decided at load (docs/guide/descriptors.md), and whether a reloaded descriptor
  /// waits for a restart.
  /// @{

  /// where the task runs; "" when each start decides (loaded by an older spmi, no cwd in the descriptor)
  std::string cwd;
  /// where `cwd` comes from: "descriptor" (its cwd), "load" (where `spmi load` ran) or "start" (older)
  std::string cwd_from;
  /// when `load` (or `reload`) captured the environment; unset: loaded by an older spmi (each start's)
  std::optional<TimePoint> environment_captured_at;
  /// how many variables the captured environment holds (when it could be read)
  std::optional<std::size_t> environment_variables;
  /// names of the variables the descriptor's env sets (never values)
  std::vector<std::string> env_names;
  /// the descriptor's env_file, "" when none
  std::string env_file;
  /// when the descriptor was last reloaded (`reload`, `load --replace`); unset: never
  std::optional<TimePoint> reloaded_at;
  /// active or pending with a launch of an older descriptor: `spmi restart` runs the reloaded one
  bool reload_pending = false;
  /// @}
};

/// One entry of Controller::status_all(): the status, or what status() would have thrown.
struct SPMI_API StatusOutcome
{
  /// set when the status could be read
  std::optional<ManageableStatus> status;
  /// else what went wrong (a spmi::Error)
  std::exception_ptr error;
};

} // namespace spmi

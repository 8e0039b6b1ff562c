// SPDX-License-Identifier: MIT
/// \file
/// The plugin interfaces (Manageable, Backend, Wrapper), what a plugin receives, and the export macros.
///
/// A plugin is a shared object in a plugin directory that exports, in the ELF section "spmi", one alias
/// per class: `SPMI_EXPORT_BACKEND(ScreenBackend, create)` makes descriptor `type = "screen"` in a
/// backend section resolve to this file's `create`. Export one class per source file.
#pragma once

#include <spmi/descriptor.hpp>
#include <spmi/export.hpp>
#include <spmi/state.hpp>

#include <boost/dll/alias.hpp>
#include <spdlog/logger.h>

#include <sys/types.h>

#include <chrono>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace spmi {

class PluginRegistry;

/// What every plugin factory receives.
struct SPMI_API PluginContext
{
  Section section;                          ///< the plugin's own descriptor table
  std::shared_ptr<spdlog::logger> logger;   ///< spmi's logger; plugins never use spdlog's registry
  PluginRegistry* registry = nullptr;       ///< to create the plugins this one is made of
  bool loading = false;                     ///< true while `spmi load` validates the descriptor
  /// Set while a strict load (`spmi load --strict`, or SPMI_STRICT=1) validates the descriptor: unknown
  /// keys are errors, one message each collected here, and the load refuses them all together; nullptr
  /// otherwise (they are warnings). warn_unknown_keys() does this for a plugin.
  std::vector<std::string>* unknown_key_errors = nullptr;

  /// The context for a table the plugin is made of (a task's backend or wrapper table): this one's
  /// logger, registry, `loading` and strictness, with `table` as the section.
  PluginContext for_table(Section table) const { return {std::move(table), logger, registry, loading, unknown_key_errors}; }
};

/// While loading (so once per descriptor), reports each key of the plugin's table not in `known`,
/// with a "did you mean" for a close known key (closest_match(), spmi/suggest.hpp): a warning
/// "cal.toml: task.wrapper.restrat: ignoring unknown key 'restrat'; did you mean 'restart'?", or, in a
/// strict load, an error in context.unknown_key_errors.
SPMI_API void warn_unknown_keys(const PluginContext& context, std::initializer_list<std::string_view> known);
/// As the other overload, with the known keys in a vector.
SPMI_API void warn_unknown_keys(const PluginContext& context, const std::vector<std::string_view>& known);

/// What a backend returns when it has launched the wrapper.
struct SPMI_API LaunchResult
{
  std::string backend_id;  ///< shown as "Backend ID" (a session pid, a job id, ...)
  /// A child of this process whose early exit means the launch failed (-1: none). spmi reaps it.
  pid_t launcher_pid = -1;
  /// The backend queued the wrapper to start later (a batch job): `start` records the launch and returns
  /// without waiting; until the wrapper runs, the manageable is pending.
  bool queued = false;
  std::string backend_type;  ///< the backend's type name (set by the manageable)
  /// The backend's descriptor table as used for this launch (`type` included; set by the manageable
  /// unless the backend set it). `start` records it in LaunchRecord::backend_settings, and the backend
  /// that later signals, asks about or cancels this launch is made from it, not from the descriptor of
  /// that moment nor from its type alone.
  nlohmann::json backend_settings = nullptr;
  /// Backend::launch_many() only: set when this one of the specs was not launched, to the error that
  /// says why (the others may have been); unset for a launched one.
  std::exception_ptr failure;
};

/// Where a queued launch stands, as its backend's scheduler says.
enum class QueueState {
  pending,  ///< waiting in the queue
  running,  ///< placed; the wrapper is starting
  gone,     ///< finished, cancelled or forgotten
};

/// Where a queued launch stands, with what the scheduler says of one that ended (Backend::queue_report).
struct SPMI_API QueueInfo
{
  QueueState state = QueueState::gone;  ///< pending, running or gone
  /// For a gone one, the scheduler's word for how its job ended ("CANCELLED", "TIMEOUT", "NODE_FAIL",
  /// "OUT_OF_MEMORY", ...); "" when the scheduler no longer knows, or says nothing more.
  std::string ended;
};

/// Starts `argv` detached from the caller (a new session: no controlling terminal, stdio /dev/null) as a
/// child of this process, which is then both the Backend ID (its pid) and the launcher spmi watches.
/// Prefer the overload with the manageable's directory: what this launcher prints is lost.
/// @throws BackendError naming `backend` when it can't be started.
SPMI_API LaunchResult launch_detached(const std::vector<std::string>& argv, std::string_view backend);

/// What a backend must launch: the wrapper process, as an argv vector.
struct SPMI_API LaunchSpec
{
  std::vector<std::string> argv;   ///< spmi's own executable with its internal wrapper command
  std::string session_name;        ///< a name for the backend's session, derived from the ID
  /// the manageable's directory, where a backend may keep files of its own (a job script, a log)
  const ManageableDir* dir = nullptr;
};

/// As launch_detached(argv, backend), with the launcher's stdout and stderr appended to the `wrapper.log`
/// of `spec.dir` (opened through ManageableDir::open_file, mode 0600 when it creates it), so that when it
/// exits before the wrapper runs, `start` quotes what it said. Without `spec.dir`, as the other overload.
/// @throws BackendError naming `backend` when it can't be started; StateError when wrapper.log is insecure.
SPMI_API LaunchResult launch_detached(const std::vector<std::string>& argv, std::string_view backend,
                                      const LaunchSpec& spec);

/// One line of `spmi status` between the header and the output, e.g. {"Backend type", "screen"}.
struct SPMI_API StatusField
{
  /// shown left, e.g. "Backend type"
  std::string key;
  /// shown right, e.g. "screen"
  std::string value;
};

/// What `spmi status` asks plugins about: one manageable, its latest records.
struct SPMI_API StatusQuery
{
  const ManageableDir& dir;                   ///< the manageable's directory
  const std::optional<LaunchRecord>& launch;  ///< its latest launch, if any
  const std::optional<RunRecord>& run;        ///< its latest run record, if any (facts included)
  bool active = false;                        ///< a wrapper runs it now
};

/// Where a task runs and what its descriptor adds to its environment, as its wrapper's table says:
/// `status` shows it beside what `load` recorded (a wrapper built on the run protocol fills it in).
struct SPMI_API TaskSetup
{
  /// the descriptor's working directory (absolute); unset: where `spmi load` ran
  std::optional<std::filesystem::path> cwd;
  /// names of the variables the descriptor's `env` sets (never their values: they may be secrets)
  std::vector<std::string> env_names;
  /// the descriptor's env_file (absolute), if it names one
  std::optional<std::filesystem::path> env_file;
  /// true once a wrapper filled this in
  bool known = false;
};

/// What plugins add to `spmi status`: lines shown between the header and the output, in order, and
/// fields of `status --json` under "plugins", each plugin under its class name (e.g.
/// `report.plugins["SlurmBackend"] = {{"partition", "debug"}}`).
struct SPMI_API StatusReport
{
  std::vector<StatusField> lines;                        ///< "Key: value" lines, in order
  nlohmann::json plugins = nlohmann::json::object();  ///< one object per plugin, by class name
  /// the task's working directory and environment keys, from its wrapper (ProtocolWrapper fills it)
  TaskSetup setup;
};

/// Runs the wrapper process somewhere: in a screen session, a tmux pane, a batch job...
class SPMI_API Backend
{
public:
  virtual ~Backend();
  /// Descriptor type name, e.g. "screen".
  virtual std::string type() const = 0;
  /// Starts `spec.argv` detached from the caller. Returns once it is on its way; spmi then waits for
  /// the wrapper's run record. @throws BackendError saying which program failed and what to do.
  virtual LaunchResult launch(const LaunchSpec& spec) = 0;
  /// Delivers `signo` to the wrapper process of `run`, which `launch` started for the manageable in
  /// `dir`. The wrapper passes it on to the whole task tree, see Wrapper::run. SIGKILL ends the wrapper
  /// itself. A backend that signals run.wrapper_pid does it with process::signal_wrapper(dir, run, signo)
  /// (spmi/recorded.hpp), never by the pid alone; one that hands launch.backend_id to a program first
  /// checks it has the form the backend issues. @return false when nothing was there.
  /// @throws BackendError when delivering fails; StateError when the records name something that is not
  /// this launch's (nothing is signalled then).
  virtual bool signal(const ManageableDir& dir, const LaunchRecord& launch, const RunRecord& run, int signo) = 0;
  /// For backends that queue: the state of each queued launch by backend ID, from one query of the
  /// scheduler; IDs it doesn't know are left out. Others return an empty map.
  /// @throws BackendError when the scheduler can't be asked.
  /// By default none: a backend that never queues needs not override it.
  virtual std::map<std::string, QueueState> queue_states(const std::vector<std::string>& backend_ids);
  /// As queue_states(), with how each ended launch's job ended, where the scheduler still knows
  /// (QueueInfo::ended). By default queue_states() without that.
  /// @throws BackendError when the scheduler can't be asked.
  virtual std::map<std::string, QueueInfo> queue_report(const std::vector<std::string>& backend_ids);
  /// Launches several wrappers at once, all of one backend with these settings (`spmi start` of several
  /// manageables whose backend tables are identical): one result per spec, in order. A scheduler may
  /// submit them as one unit (SLURM: one job array, each a task `<job>_<index>`). A spec that was not
  /// launched has LaunchResult::failure set. By default launch() for each spec in turn.
  /// @throws BackendError (or any spmi error) when none was launched: every spec fails with it.
  virtual std::vector<LaunchResult> launch_many(const std::vector<LaunchSpec>& specs);
  /// Cancels a queued launch that has not started. False when there was nothing to cancel (the default,
  /// for a backend that never queues).
  /// @throws BackendError when cancelling fails or launch.backend_id has not the form the backend issues.
  virtual bool cancel(const LaunchRecord& launch);
  /// Adds this backend's lines and JSON fields (under its class name) to `spmi status`. By default
  /// nothing. Called in the CLI's process: ask nothing slow, spawn nothing that can hang.
  virtual void add_status(const StatusQuery& query, StatusReport& report) const;
};

/// Runs the task inside the wrapper process and records what happens to it.
class SPMI_API Wrapper
{
public:
  virtual ~Wrapper();
  /// Descriptor type name, e.g. "default".
  virtual std::string type() const = 0;
  /// The command as the user wrote it, for `status`.
  virtual std::string command() const = 0;
  /// Signal that `stop` sends first (the guide's ^C: SIGINT).
  virtual int stop_signal() const = 0;
  /// Time `stop` waits after the stop signal before it kills.
  virtual std::chrono::milliseconds stop_timeout() const = 0;
  /// Body of the wrapper process: takes the alive lock, runs the task, writes run records with `token`.
  /// Returns the wrapper process's exit status. Runs in a process of its own, never in the CLI.
  /// Contract: the wrapper passes every signal it receives on to every process of the task's tree,
  /// except kill_request_signal(), on which it kills the whole tree with SIGKILL. It records the run
  /// as finished only when no process of the tree is left. If the wrapper itself is killed, the tree is
  /// ended too; the run is then recorded as ended by that, or (the default wrapper, with a restart policy
  /// the user did not override by stopping it) a new wrapper takes over and starts the task again.
  virtual int run(const ManageableDir& dir, const std::string& token) = 0;
  /// What the backend runs as this wrapper's process (LaunchSpec::argv), called by the manageable in
  /// `start` (the CLI's process, the manageable's lock held). By default `spmi __run <dir> <token>`
  /// (wrapper_argv()), the process that calls run(). A wrapper with no code of its own to run there may
  /// hand the launch straight to spmi's lean supervisor instead (lean_launch_argv(), as DefaultWrapper
  /// does), which saves a start of the full `spmi`.
  virtual std::vector<std::string> launch_argv(const ManageableDir& dir, const std::string& token) const;
  /// True when `spmi resurrect` should start the task again after a reboot if it was running and no
  /// user stopped it (the descriptor's `autostart`; by default on when a restart policy is set).
  virtual bool autostart() const { return false; }
  /// Adds this wrapper's lines and JSON fields (under its class name) to `spmi status`, e.g. from the
  /// facts it recorded in query.run->facts. By default nothing.
  virtual void add_status(const StatusQuery& query, StatusReport& report) const;
};

/// The signal that asks a wrapper to SIGKILL its whole task tree (SIGKILL itself can't be passed on).
SPMI_API int kill_request_signal();

/// How `stop` and `kill` end a running manageable, in escalating order.
enum class Ending {
  graceful,  ///< the stop signal, passed on to the whole task tree
  kill,      ///< SIGKILL to the whole task tree
  wrapper,   ///< last resort: SIGKILL to the wrapper itself (whose watchdog then ends the tree)
};

/// How a manageable launches through a backend (Manageable::plan_launch()): what `start` hands that
/// backend, so that launches of several manageables with the same backend settings go together
/// (Backend::launch_many()).
struct SPMI_API LaunchPlan
{
  Backend* backend = nullptr;      ///< the backend that launches it, owned by the manageable
  LaunchSpec spec;                 ///< what it launches
  std::string backend_type;        ///< the backend's type name (LaunchResult::backend_type)
  nlohmann::json backend_settings; ///< the backend's table (LaunchResult::backend_settings), `type` included
};

/// The object a descriptor's top-level table describes.
class SPMI_API Manageable
{
public:
  virtual ~Manageable();
  /// Descriptor type name, e.g. "task".
  virtual std::string type() const = 0;
  /// Launches the manageable; the caller holds its lock and has checked it is inactive.
  virtual LaunchResult start(const ManageableDir& dir, const std::string& token) = 0;
  /// Instead of start(): the launch as a backend would make it, which `start` hands to that backend:
  /// Backend::launch() for one alone, Backend::launch_many() for several with the same backend type and
  /// settings (start() is then not called). The caller holds its lock and has checked it is inactive,
  /// as for start(). By default nullopt: start() is called.
  virtual std::optional<LaunchPlan> plan_launch(const ManageableDir& dir, const std::string& token);
  /// Body of the wrapper process (`spmi` re-executed by the backend).
  virtual int run(const ManageableDir& dir, const std::string& token) = 0;
  /// Asks the running manageable to end, as `how` says. False when nothing was signalled.
  virtual bool end(const ManageableDir& dir, const LaunchRecord& launch, const RunRecord& run, Ending how) = 0;
  /// How long `stop` waits before it kills.
  virtual std::chrono::milliseconds stop_timeout() const = 0;
  /// What `status` shows after "Path" (backend type and ID, wrapper type, command...) and the JSON
  /// fields of its plugins; a manageable made of plugins asks each of them (Backend::add_status()...).
  virtual StatusReport status(const StatusQuery& query) const = 0;
  /// True when `spmi resurrect` starts it again after a reboot (see Wrapper::autostart()).
  virtual bool autostart() const { return false; }
};

/// What SPMI_EXPORT_MANAGEABLE exports: makes the manageable `context.section` describes; throws
/// DescriptorError for a bad table (see Section).
using ManageableFactory = std::unique_ptr<Manageable>(const PluginContext&);
/// What SPMI_EXPORT_BACKEND exports: makes a backend from its descriptor table.
using BackendFactory = std::unique_ptr<Backend>(const PluginContext&);
/// What SPMI_EXPORT_WRAPPER exports: makes a wrapper from its descriptor table.
using WrapperFactory = std::unique_ptr<Wrapper>(const PluginContext&);

} // namespace spmi

/// @cond INTERNAL
/// Exports `factory` under `ClassName`, plus the ABI stamp. Use at global scope, once per source file.
#define SPMI_EXPORT_PLUGIN_IMPL(ClassName, factory, FactoryType)                                   \
  static_assert(std::is_same_v<decltype(&factory), ::spmi::FactoryType*>,                          \
                "factory of " #ClassName " has the wrong signature");                              \
  BOOST_DLL_ALIAS_SECTIONED(factory, ClassName, spmi)                                             \
  BOOST_DLL_ALIAS_SECTIONED(factory, SPMI_ABI_STAMP_SYMBOL, spmi)
/// @endcond

/// Exports `factory`, a spmi::ManageableFactory, as class `ClassName` with the ABI stamp:
/// `SPMI_EXPORT_MANAGEABLE(TaskManageable, create)` serves descriptors whose top-level table is
/// `[task]`. Use at global scope, once per source file; a factory of another signature fails to compile.
#define SPMI_EXPORT_MANAGEABLE(ClassName, factory) SPMI_EXPORT_PLUGIN_IMPL(ClassName, factory, ManageableFactory)
/// As SPMI_EXPORT_MANAGEABLE, for a spmi::BackendFactory: `SPMI_EXPORT_BACKEND(ScreenBackend, create)`
/// serves `type = "screen"` in a backend table.
#define SPMI_EXPORT_BACKEND(ClassName, factory) SPMI_EXPORT_PLUGIN_IMPL(ClassName, factory, BackendFactory)
/// As SPMI_EXPORT_MANAGEABLE, for a spmi::WrapperFactory: `SPMI_EXPORT_WRAPPER(DefaultWrapper, create)`
/// serves `type = "default"` in a wrapper table.
#define SPMI_EXPORT_WRAPPER(ClassName, factory) SPMI_EXPORT_PLUGIN_IMPL(ClassName, factory, WrapperFactory)

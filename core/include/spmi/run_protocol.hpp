// SPDX-License-Identifier: MIT
/// \file
/// The run protocol: everything a wrapper process owes spmi, in one building block. A wrapper calls
/// run_protocol() (or derives from ProtocolWrapper) and gets, for the manageable's directory and the
/// launch's token:
/// - the `alive` lock, held for as long as the wrapper lives (or taken over from a killed predecessor);
/// - the run's membership (a cgroup, or the process-tree fallback), the task in a session of its own
///   with the marker `SPMI_RUN_TOKEN=<token>` in its environment (which `list`/`status` look for);
/// - `stdout`/`stderr` (appended, mode 0600; size-rotated and optionally timestamped), the `stdin` FIFO,
///   `SPMI_ID`, `env_file` and `env`, the working directory;
/// - the run record (token, pids, times, exit, `error`, restarts, membership, plugin facts);
/// - the watchdog: a forked process that, when the wrapper is SIGKILLed, ends the task's processes and
///   records "the wrapper was killed" (or, with a restart policy, replaces the wrapper);
/// - signals: every signal the wrapper gets is passed on to every process of the task, except
///   kill_request_signal(), which SIGKILLs them all;
/// - the restart policy (on-failure, always; backoff, max_restarts within restart_window);
/// - max_memory: the task is stopped when its processes use more, and that counts as a failure.
/// A wrapper adds its own behaviour through RunHooks: called at the start and end of every attempt,
/// with an Attempt that can signal or stop the task, set a timer and record facts. Without hooks, the
/// process first becomes the lean supervisor (`spmi-supervise`, same pid), which runs this same
/// protocol with a fraction of the memory; `$SPMI_SUPERVISE=inprocess` keeps it in the caller.
#pragma once

#include <spmi/export.hpp>
#include <spmi/plugin.hpp>
#include <spmi/process.hpp>
#include <spmi/state.hpp>

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spmi {

/// When the run protocol starts a task again after an attempt ended.
enum class RestartPolicy {
  no,          ///< never
  on_failure,  ///< when it exited non-zero or was killed by a signal
  always       ///< whenever it ended (but never after the user stopped or killed it)
};

/// How run_protocol() runs a task. RunSettings::from_section() reads the keys of the default wrapper's
/// table (docs/guide/descriptors.md); a wrapper may change any field before it calls run_protocol().
struct SPMI_API RunSettings
{
  /// the command as the user wrote it (`status` shows it)
  std::string command;
  /// what is executed; empty: `/bin/sh -c <command>`
  std::vector<std::string> argv;
  /// variables added to the task's environment; they win over env_file. SPMI_ID is always added.
  std::vector<std::pair<std::string, std::string>> env;
  /// a file of KEY=VALUE lines read before each attempt (absolute)
  std::optional<std::filesystem::path> env_file;
  /// the working directory (absolute); absent: the one the wrapper was started in (`spmi start`'s)
  std::optional<std::filesystem::path> cwd;
  /// where env_file was given ("cal.toml: task.wrapper.env_file"), for messages
  std::string env_file_where;
  /// where cwd was given ("cal.toml: task.wrapper.cwd"), for messages
  std::string cwd_where;
  /// stderr goes to `stdout` too
  bool mixed_stdout = false;
  /// the signal `spmi stop` sends first (the guide's ^C)
  int stop_signal = SIGINT;
  /// how long `stop` (and Attempt::stop()) waits after the stop signal before SIGKILL
  std::chrono::milliseconds stop_timeout{10000};
  /// @name Restart policy
  /// @{
  RestartPolicy restart = RestartPolicy::no;           ///< when to start again
  std::chrono::milliseconds restart_delay{1000};       ///< first backoff delay, doubled per recent restart
  std::chrono::milliseconds restart_delay_max{60000};  ///< longest backoff delay
  int max_restarts = 5;                                ///< restarts allowed within restart_window
  std::chrono::milliseconds restart_window{300000};    ///< the window max_restarts counts in
  bool autostart = false;                              ///< `spmi resurrect` starts it after a reboot
  /// The task's whole tree is stopped (as Attempt::stop() does) when its memory goes past this many
  /// bytes, sampled every second (TaskGroup::memory_bytes()); that attempt counts as a failure. 0: no limit.
  std::uint64_t max_memory = 0;
  /// @}
  /// @name Output
  /// Each output file is rotated before it grows past max_output_size bytes (0: never; without
  /// timestamps the task then writes the files itself, no pipe in between).
  /// @{
  std::uint64_t max_output_size = 50ull << 20;  ///< rotate each output file before it grows past this
  int output_files_kept = 10;  ///< rotated files kept (stdout.1 ... stdout.N)
  bool timestamps = false;     ///< prefix each line with its UTC time
  /// @}

  /// The default wrapper's keys (type, command, mixed_stdout, stop_signal, stop_timeout, restart,
  /// restart_delay, restart_delay_max, max_restarts, restart_window, autostart, max_memory, env, env_file, cwd,
  /// max_output_size, output_files_kept, timestamps) read from `context.section`; relative paths are
  /// relative to the descriptor's directory. While loading, keys that are neither these nor in
  /// `own_keys` (the caller's own) are warned about.
  /// @throws DescriptorError naming the file and key of a bad value.
  static RunSettings from_section(const PluginContext& context, std::initializer_list<std::string_view> own_keys = {});
  /// The default wrapper's keys, as from_section() knows them.
  static std::vector<std::string_view> keys();
};

/// One attempt of a run (one start of the task's main process), as RunHooks see it.
class SPMI_API Attempt
{
public:
  /// The manageable's directory.
  virtual const ManageableDir& dir() const = 0;
  /// The task's main process (its process group and session too).
  virtual pid_t pid() const = 0;
  /// The run record as it is written next (facts() changes its plugin facts).
  virtual const RunRecord& record() const = 0;
  /// This wrapper's facts in the run record: RunRecord::facts[RunHooks::facts_key], an object, written
  /// with the record (at once when changed in on_start, on_end or a timer).
  virtual nlohmann::json& facts() = 0;
  /// Sends `signo` to every process of the task. SIGKILL kills them all.
  virtual void signal(int signo) = 0;
  /// Ends the attempt as `spmi stop` would: RunSettings::stop_signal to every process, then SIGKILL to
  /// what is left after stop_timeout. Whether another attempt follows is the restart policy's decision.
  virtual void stop() = 0;
  /// Calls `action` at `when` unless the attempt has ended first. One timer per attempt: a new one
  /// replaces the one set before.
  virtual void at(std::chrono::steady_clock::time_point when, std::function<void(Attempt&)> action) = 0;
  /// Appends `line` to the manageable's wrapper.log, after the time and the wrapper's pid.
  virtual void log(const std::string& line) = 0;
  /// Nothing to release: the protocol owns the attempt.
  virtual ~Attempt() = default;
};

/// What a wrapper built on run_protocol() adds. Hooks run in the wrapper process, in its main thread,
/// with every signal blocked (the protocol waits for them); they must not block for long.
struct SPMI_API RunHooks
{
  /// the key of this wrapper's facts in RunRecord::facts (its class name, e.g. "DeadlineWrapper")
  std::string facts_key;
  /// each attempt, once its main process runs and the record says so
  std::function<void(Attempt&)> on_start;
  /// each attempt, once no process of it is left and before its end is recorded
  std::function<void(Attempt&, const process::ExitStatus&)> on_end;
};

/// The internal command of the wrapper process: `spmi __run <dir> <token>`.
inline constexpr const char* k_wrapper_command = "__run";
/// The argv that starts the wrapper process of the launch `token` of `dir`: spmi's own executable with
/// k_wrapper_command (what a manageable gives its backend as LaunchSpec::argv).
/// @throws SystemError when spmi's executable can't be found.
SPMI_API std::vector<std::string> wrapper_argv(const ManageableDir& dir, const std::string& token);

/// What a wrapper without hooks hands its backend (Wrapper::launch_argv()): the lean supervisor itself,
/// `spmi-supervise --launched <spmi> <dir> <token>`, which reads `settings` from the manageable's
/// `supervise.json` (written here for this token, mode 0600) and runs them as run_protocol() does, so
/// no `spmi __run` starts first. wrapper_argv() where the lean supervisor would not be used (not
/// built, not trusted, $SPMI_SUPERVISE=inprocess): that process supervises, and says why in wrapper.log.
/// @throws StateError, SystemError when the settings can't be written.
SPMI_API std::vector<std::string> lean_launch_argv(const ManageableDir& dir, const std::string& token,
                                                   const RunSettings& settings);

/// Runs the task as `settings` say in the calling process (the wrapper: `spmi __run <dir> <token>`),
/// again as its restart policy says, keeping the protocol described at the top of this file.
/// @return the wrapper's exit status: 0 once the run is recorded as ended, 1 when the task could not
/// be started (the record's `error` and wrapper.log say why), 75 when another wrapper holds `alive`.
SPMI_API int run_protocol(const ManageableDir& dir, const std::string& token, const RunSettings& settings,
                          const RunHooks& hooks = {});

/// A Wrapper built on the run protocol: reads RunSettings from its table (plus the keys the derived
/// class names) and runs them with its on_start()/on_end() hooks. Derive from it to add behaviour to
/// the default wrapper's: examples/plugins/deadline_wrapper is one.
class SPMI_API ProtocolWrapper : public Wrapper
{
public:
  /// Reads the settings from `context.section`; `own_keys` are the derived class's keys (see
  /// RunSettings::from_section()). @throws DescriptorError for a bad value.
  explicit ProtocolWrapper(const PluginContext& context, std::initializer_list<std::string_view> own_keys = {});
  /// RunSettings::command.
  std::string command() const override { return m_settings.command; }
  /// RunSettings::stop_signal.
  int stop_signal() const override { return m_settings.stop_signal; }
  /// RunSettings::stop_timeout.
  std::chrono::milliseconds stop_timeout() const override { return m_settings.stop_timeout; }
  /// RunSettings::autostart.
  bool autostart() const override { return m_settings.autostart; }
  /// Adds the restart policy (`Restart policy: ...`) and max_memory (`Memory limit: ...`) to `status`,
  /// and both under the class name of type() in `status --json`'s plugins, and fills in
  /// StatusReport::setup (cwd, env names, env_file). A derived class that adds its own calls this first.
  void add_status(const StatusQuery& query, StatusReport& report) const override;
  /// run_protocol() with settings() and hooks that call on_start() and on_end(); facts under the
  /// class name of type().
  int run(const ManageableDir& dir, const std::string& token) override;

protected:
  /// Called at the start of each attempt (see RunHooks::on_start).
  virtual void on_start(Attempt& attempt);
  /// Called at the end of each attempt (see RunHooks::on_end).
  virtual void on_end(Attempt& attempt, const process::ExitStatus& status);
  /// The settings read from the table; a derived class may change them in its constructor.
  RunSettings& settings() { return m_settings; }
  /// The settings read from the table.
  const RunSettings& settings() const { return m_settings; }

private:
  RunSettings m_settings;
};

} // namespace spmi

// SPDX-License-Identifier: MIT
/// \file
/// The operations behind the CLI's commands, on one state store with one plugin registry.
#pragma once

#include <spmi/descriptor.hpp>
#include <spmi/export.hpp>
#include <spmi/plugin.hpp>
#include <spmi/registry.hpp>
#include <spmi/reload.hpp>
#include <spmi/resurrect.hpp>
#include <spmi/follow.hpp>
#include <spmi/state.hpp>
#include <spmi/unique_fd.hpp>
#include <spmi/views.hpp>
#include <spmi/wait.hpp>

#include <spdlog/logger.h>

#include <chrono>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace spmi {

/// The operations behind spmi's commands, on one state store, creating plugins through one registry.
class SPMI_API Controller
{
public:
  /// `registry` must outlive the controller.
  Controller(StateStore store, PluginRegistry& registry, std::shared_ptr<spdlog::logger> logger);

  /// On the state store at `state_root` (StateStore::default_root() for $SPMI_PATH).
  Controller(const std::filesystem::path& state_root, PluginRegistry& registry, std::shared_ptr<spdlog::logger> logger);

  /// The state store it works on (the core's and its tests'; the CLI asks the Controller instead).
  const StateStore& store() const { return m_store; }
  /// $SPMI_PATH, else the default state directory (StateStore::default_root()).
  static std::filesystem::path default_state_root();
  /// The root of its state store.
  const std::filesystem::path& state_root() const;
  /// Every loaded ID, sorted.
  std::vector<std::string> ids() const;
  /// True when `id` is loaded.
  bool loaded(const std::string& id) const;
  /// True while a wrapper runs `id`, an unloaded one being inactive (cheap: one lock test, no record read).
  bool running(const std::string& id) const;
  /// A follower of `id`'s output file `stream` ("stdout" or "stderr"), on its verified directory.
  /// @throws StateError `id` is not loaded, or its directory is not safe.
  OutputFollower follow_output(const std::string& id, const std::string& stream) const;
  /// Writes `token` (the secret of `spmi web`) to `$SPMI_PATH/.web-token`, mode 0600, replacing the
  /// last one. @return its path. @throws StateError the root is insecure; SystemError it can't be written.
  std::filesystem::path write_web_token(const std::string& token) const;
  /// `id`'s stdin FIFO, opened for writing without blocking, for `connect`.
  /// @throws StateError `id` is not loaded or inactive. @throws SystemError the FIFO can't be opened.
  UniqueFd open_stdin(const std::string& id) const;

  /// IDs matching any of `patterns` (regexes over the whole ID), sorted, each once. Patterns that match
  /// nothing are appended to `unmatched`. @throws UsageError for an invalid regex.
  std::vector<std::string> select(const std::vector<std::string>& patterns, std::vector<std::string>& unmatched) const;

  /// For a pattern select() found unmatched that looks like a shell glob ('web*'): the regular expression
  /// it probably meant ('web.*', glob_as_regex), when that matches a loaded ID; nullopt otherwise.
  std::optional<std::string> meant_pattern(const std::string& pattern) const;
  /// For a command that takes one ID (`logs`, `connect`; `command` names it in the message): returns
  /// when `id` is loaded. @throws StateError otherwise, saying what to do: "did you mean" a loaded ID
  /// near it; for a pattern, that the command takes one ID and which loaded IDs the pattern matches.
  void require_loaded(const std::string& id, std::string_view command) const;
  /// True when the latest run of `id` wrote its stderr into its stdout file (mixed_stdout), so there
  /// is no stderr file of its own. @throws StateError `id` is not loaded, or run.json is corrupt.
  bool stderr_in_stdout(const std::string& id) const;

  /// Reads, validates and registers every file, all or nothing. @return the IDs loaded.
  /// @throws DescriptorError naming each bad file and key (then nothing is loaded).
  /// @throws StateError an ID already loaded.
  /// @throws PluginError a plugin a descriptor names can't be loaded.
  /// @throws SystemError the store can't be written.
  std::vector<std::string> load(const std::vector<std::filesystem::path>& paths);
  /// Validates and registers `descriptors` made in memory (`spmi run`; an empty `source`: no file), all
  /// or nothing, as load() does with files, with `recorded` added to each manageable.json (e.g.
  /// {"made_by": "spmi run"}). @return their IDs. @throws as load().
  std::vector<std::string> load_descriptors(const std::vector<Descriptor>& descriptors,
                                            const nlohmann::json& recorded = nlohmann::json::object());
  /// `spmi load --dry-run`: the manageables load() would make of `paths` (matrices expanded), read and
  /// validated as load() does; changes nothing. @throws DescriptorError, PluginError as load().
  std::vector<Descriptor> plan_load(const std::vector<std::filesystem::path>& paths);
  /// Makes validation (load() and whatever else validates descriptors) strict: a key no plugin knows is
  /// an error, not a warning (`spmi load --strict`). Without it, strict() follows SPMI_STRICT.
  void set_strict(bool strict) { m_strict = strict; }
  /// True when validation refuses unknown keys: set_strict(), else SPMI_STRICT is 1, true, yes or on
  /// (any case); unset, empty, 0, false, no or off is not strict.
  /// @throws UsageError SPMI_STRICT has another value.
  bool strict() const;
  /// `spmi load --replace`: validates every file as load() does, then loads the new IDs (all or nothing)
  /// and replaces the loaded ones (ManageableDir::replace_descriptor(), each under its lock), keeping
  /// their output, records and state; cwd and environment are this process's. With `dry_run`, only says
  /// what would change. @return one outcome per file, in order.
  /// @throws DescriptorError naming each bad file and key (then nothing changes).
  /// @throws Interrupted when interrupted before anything changed. Others as load().
  std::vector<ReloadOutcome> load_replace(const std::vector<std::filesystem::path>& paths, bool dry_run = false);
  /// `spmi reload`: reads each of `ids` again from the file it was loaded from (manageable.json's
  /// `source`; in a file of several manageables or a matrix, the one with that ID), validates all, then replaces each as load_replace() does, keeping its recorded working
  /// directory and capturing this process's environment. An active task keeps running what it was
  /// started with until it is restarted. With `dry_run`, only says what would change.
  /// @throws StateError when a file is gone or the manageable was made by `spmi run` (no file; nothing
  /// changes); DescriptorError as load_replace(), also when the file no longer has that ID.
  std::vector<ReloadOutcome> reload(const std::vector<std::string>& ids, bool dry_run = false);

  /// Every registered manageable, sorted by ID, with its state, metadata, records and (with `resources`)
  /// the resource use of the active ones, from one scan of /proc. Loads no plugin, unless a launch is
  /// queued (then its backend, once per settings, to ask the scheduler). A manageable whose state can't
  /// be read is listed with State::unknown and its `problem`.
  std::vector<ManageableView> list(bool resources = true);
  /// list() of `ids` only (loaded IDs, as select() returns them), in their order: `spmi list PATTERNS`
  /// reads the records of the matching manageables only.
  std::vector<ManageableView> list_of(const std::vector<std::string>& ids, bool resources = true);

  /// Launches `id` through its manageable and waits up to k_start_timeout for the wrapper to report
  /// (a launch the backend queued returns at once).
  /// @throws StateError `id` is not loaded, or is active or pending.
  /// @throws BackendError the backend fails, or the wrapper reports an error or does not start.
  /// @throws PluginError a plugin it needs can't be loaded (DescriptorError: its type is gone).
  void start(const std::string& id);
  /// Ends `id` gracefully: the wrapper's stop signal, then after the manageable's stop_timeout() the
  /// escalation of kill(). A pending launch is cancelled instead.
  /// @throws StateError `id` is not loaded or inactive.
  /// @throws BackendError the backend fails, or `id` is still active after its wrapper was killed.
  /// @throws PluginError a plugin it needs can't be loaded (DescriptorError: its type is gone).
  void stop(const std::string& id);
  /// Ends `id` at once: SIGKILL to its task tree, then to the wrapper after k_kill_timeout. A pending
  /// launch is cancelled instead.
  /// @throws StateError `id` is not loaded or inactive.
  /// @throws BackendError the backend fails, or `id` is still active after its wrapper was killed.
  /// @throws PluginError a plugin it needs can't be loaded (DescriptorError: its type is gone).
  void kill(const std::string& id);
  /// Unloads `id`: removes its directory from the store.
  /// @throws StateError `id` is not loaded, or is active or pending.
  /// @throws SystemError the directory can't be removed.
  void clean(const std::string& id);
  /// Starts several manageables at once: launches each (holding its lock), then waits for all their
  /// wrappers together, so N starts cost about one wrapper start-up, not N. One entry per ID, in order:
  /// null when it started, else what start(id) would have thrown.
  std::vector<std::exception_ptr> start_all(const std::vector<std::string>& ids);
  /// Stops several manageables at once: signals each as stop() does, then waits for all together,
  /// escalating each on its own deadline, so N stops cost about one stop, not N. One entry per ID, in
  /// order: null when it ended, else what stop(id) would have thrown.
  std::vector<std::exception_ptr> stop_all(const std::vector<std::string>& ids);
  /// Kills several manageables at once, as kill() would one by one; entries as for stop_all().
  std::vector<std::exception_ptr> kill_all(const std::vector<std::string>& ids);

  /// `spmi resurrect`: after a reboot, starts again (through start_all()) each of `ids` that the user
  /// still wants up, whose autostart() is on and whose last run was running when the host went down in
  /// another boot than this one; leaves the others alone, saying why. Never signals a recorded pid.
  /// Holds the store's resurrect lock throughout, and appends the outcome to resurrect.log. With
  /// `dry_run`, only decides: no lock, no start, no log.
  /// @throws SystemError this boot's ID can't be read, or the lock or log can't be used.
  ResurrectReport resurrect(const std::vector<std::string>& ids, bool dry_run);

  /// Stops `id` as `stop` does (its whole tree, gracefully, then by force) when it is active or
  /// pending, then starts it.
  /// @return false when it was inactive (then it is only started).
  /// @throws StateError, BackendError, PluginError as stop() and start() do.
  bool restart(const std::string& id);
  /// restart() of each of `ids`, together: those active or pending stopped together, then all started
  /// together (start_all(): several of one backend's settings go as one launch_many(), e.g. a job
  /// array). One error or null per ID; `was_running` says, per ID, whether it was active or pending.
  std::vector<std::exception_ptr> restart_all(const std::vector<std::string>& ids, std::vector<bool>& was_running);

  /// What `spmi status` shows about `id`, with the last `output_lines` lines of its stdout. When its
  /// plugins can't be created, `fields` is empty and `note` says why.
  /// @throws StateError `id` is not loaded, or a state file is corrupt.
  /// @throws BackendError the scheduler of a queued launch can't be asked.
  ManageableStatus status(const std::string& id, std::size_t output_lines);
  /// status() of each of `ids`, in order, with the resources of all from one scan of /proc; an entry
  /// that can't be shown carries what status() would have thrown.
  std::vector<StatusOutcome> status_all(const std::vector<std::string>& ids, std::size_t output_lines);
  /// `spmi wait`: returns once every one of `ids` has ended (State::inactive or State::failed; active,
  /// pending or any other state is not ended), each taken as it was when first seen ended, or when
  /// `timeout` has passed (none: no limit), naming those not ended. Looks every k_wait_poll: one alive
  /// lock test per manageable still running, its records read only once that says it ended; no plugin is
  /// loaded unless a launch is queued, whose scheduler is then asked every k_wait_queue_poll. A
  /// manageable cleaned meanwhile counts as ended with no exit.
  /// @throws BackendError a queued launch's scheduler can't be asked.
  WaitOutcome wait(const std::vector<std::string>& ids, std::optional<std::chrono::milliseconds> timeout);
  /// How often wait() looks.
  static constexpr std::chrono::milliseconds k_wait_poll{50};
  /// How often wait() asks the scheduler of a queued launch.
  static constexpr std::chrono::milliseconds k_wait_queue_poll{1000};
  /// True while a wrapper runs `id` (ManageableDir::is_active()).
  bool is_active(const std::string& id) const;

  /// Body of the wrapper process: `spmi __run <dir> <token>`. @return its exit status.
  int run_wrapper(const std::filesystem::path& dir, const std::string& token);

  /// How long `start` waits for the wrapper to report (for several, while none of the others reports).
  static constexpr std::chrono::milliseconds k_start_timeout{10000};
  /// How many microseconds `start` sleeps at most between looks at run.json: a look is one failed open,
  /// so short steps are cheap and a start returns within about this much of the wrapper reporting.
  static constexpr std::chrono::microseconds k_start_poll{1000};
  /// How long `kill` (and `stop` after its grace period) waits for the end.
  static constexpr std::chrono::milliseconds k_kill_timeout{5000};
  /// How many manageables start_all(), stop_all() and kill_all() handle at a time. Each holds its lock
  /// (an open file) until it is done, so a batch stays far below the usual limit of 1,024 open files
  /// (and is smaller when the limit is lower).
  static constexpr std::size_t k_batch = 128;

private:
  friend class Monitor;  // `spmi top` asks about queued launches as list() does (queued_states())
  struct PendingStart;  ///< a launch whose wrapper has not reported yet
  /// start() in steps: prepare_start (checks, under the lock; the launch planned), launch_group (the
  /// backend asked, once for all prepared with the same backend settings), launched (nullptr when there
  /// is nothing to wait for: a queued launch), poll (true once the wrapper reported or the launcher
  /// ended), finish (records or throws).
  std::unique_ptr<PendingStart> prepare_start(const std::string& id);
  /// Launches `group` (prepared ones with one backend type and settings, or one alone): fills in each
  /// one's `launched`, or its error in `errors` (by the same index as `group`).
  void launch_group(const std::vector<PendingStart*>& group, std::vector<std::exception_ptr>& errors);
  std::unique_ptr<PendingStart> launched(std::unique_ptr<PendingStart> pending);
  /// The prepared ones of `pending` launched, grouped by backend (launch_group()); what fails is reset
  /// and its error set in `errors` (by the same index), a queued launch is reset once recorded.
  void launch_prepared(std::vector<std::unique_ptr<PendingStart>>& pending, std::vector<std::exception_ptr>& errors);
  bool poll(PendingStart& pending);
  void wait_reported(std::vector<std::unique_ptr<PendingStart>>& pending, std::vector<std::exception_ptr>& errors);
  void finish(PendingStart& pending);
  /// Makes the launch records finish() wrote durable at once (sync_file_systems(); each on its own when
  /// that fails, an error then set in `errors` by the same index), then resets every one of `pending`.
  void sync_launches(std::vector<std::unique_ptr<PendingStart>>& pending, std::vector<std::exception_ptr>& errors);
  struct PendingEnd;  // an ending manageable: its stage and that stage's deadline
  std::unique_ptr<Manageable> instantiate(const ManageableDir& dir);
  /// The manageable `meta` (a manageable.json as read) describes.
  std::unique_ptr<Manageable> instantiate(const ManageableDir& dir, const nlohmann::json& meta);
  /// Reads and validates every file (the manageable is built, its plugins' checks included), all or
  /// nothing. @throws DescriptorError naming each bad file and key, ending "nothing was <verb>".
  std::vector<Descriptor> validated(const std::vector<std::filesystem::path>& paths, const char* verb = "loaded");
  /// reload()'s reading: for each of `ids`, the manageable with that ID in its file `sources[i]` (each
  /// file read once), validated. @throws DescriptorError naming each problem, "nothing was reloaded".
  std::vector<Descriptor> reread(const std::vector<std::string>& ids, const std::vector<std::filesystem::path>& sources);
  /// Registers validated `descriptors` with this process's working directory and environment.
  std::vector<std::string> register_validated(const std::vector<Descriptor>& descriptors,
                                              const nlohmann::json& extra = nlohmann::json::object());
  /// Replaces each of `descriptors` whose ID is loaded, under its lock, after a last look for an
  /// interrupt; `recorded` as for ManageableDir::replace_descriptor(). Fills in `outcomes`' running.
  void replace_loaded(const std::vector<Descriptor>& descriptors, const nlohmann::json& recorded,
                      std::vector<ReloadOutcome>& outcomes);
  /// What resurrect() decides for `id` (inactive and not pending) given this boot's ID.
  ResurrectOutcome resurrect_verdict(const std::string& id, const std::string& boot_id);
  /// stop (graceful first) or kill, escalating as the Ending steps say.
  void end(const std::string& id, bool graceful);
  /// end() in steps: begin (checks, cancels a queued launch, records it wanted down unsynced; nullptr
  /// when nothing is left to wait for), sync_and_signal (the first signal), advance (true once it is
  /// inactive; escalates at each deadline; throws when even the wrapper's SIGKILL did not end it).
  std::unique_ptr<PendingEnd> begin_end(const std::string& id, bool graceful);
  /// Records `launch` (wanted down) for `id`, with its own fsync when `sync`: true once written; false
  /// when a full disk left it unrecorded (warned: ending it is how the user gets room back).
  bool record_down(const std::string& id, const ManageableDir& dir, const LaunchRecord& launch, bool graceful, bool sync);
  /// Makes the records begin_end() wrote durable, one syncfs(2) per file system (each synced on its own
  /// when that fails), then sends each of `pending` its first signal; one that fails is reset and its
  /// error set in `errors` (by the same index).
  void sync_and_signal(std::vector<std::unique_ptr<PendingEnd>>& pending, std::vector<std::exception_ptr>& errors,
                       bool graceful);
  bool advance_end(PendingEnd& pending);
  /// Throws BackendError naming the processes of `id`'s last run that outlived its wrapper.
  void check_ended(const std::string& id, const ManageableDir& dir) const;
  /// The lock for ending `dir`; for a kill (not `graceful`) an empty one when a stop or kill that holds
  /// the lock is already ending its run: a kill never waits behind a stop's stop_timeout. Anything else
  /// that holds it (a start whose wrapper is coming up) is waited for.
  DirLock end_lock(const ManageableDir& dir, bool graceful);
  /// True when `pending` is a stop that a `spmi kill` took over: launch.json then says ended_by "kill"
  /// for the run being stopped. Remembered once true.
  bool killed_meanwhile(PendingEnd& pending);
  /// At a deadline of `pending`: true when its stop was taken over by a kill, whose escalation it then
  /// waits for instead of escalating itself. @throws BackendError when even that wait ran out.
  bool left_to_kill(PendingEnd& pending, std::chrono::steady_clock::time_point now);
  std::vector<std::exception_ptr> end_all(const std::vector<std::string>& ids, bool graceful);
  /// For each of `ids` (all inactive: the caller checked) whose last launch was queued and whose wrapper
  /// has not run yet: where it stands, from one query per backend (type and settings). Others are left out.
  /// `ended`, when given, gets for each gone one the scheduler's word for how its job ended, where known.
  std::map<std::string, QueueState> queued_states(const std::vector<std::string>& ids,
                                                  std::map<std::string, std::string>* ended = nullptr);
  /// The backend that made `launch`, the launch record of `dir`: made from its recorded type and settings
  /// (LaunchRecord::backend_settings; a record without settings gets the type alone), once per distinct
  /// settings, to ask its scheduler about or cancel launches.
  Backend& backend_for(const ManageableDir& dir, const LaunchRecord& launch);
  /// backend_for()'s backends, by type and settings (launch_backend_key()).
  std::map<std::string, std::unique_ptr<Backend>> m_backends;
  ManageableDir existing(const std::string& id) const;
  /// The view of `id` without resources: metadata (throws when unreadable), records, state.
  ManageableView view_of(const std::string& id, bool active, bool pending) const;
  /// What queued_states() answered for several manageables at once (status_all() asks once for all).
  struct QueueAnswers
  {
    std::map<std::string, QueueState> states;  ///< by ID
    std::map<std::string, std::string> ended;  ///< how the ended ones ended, by ID
  };
  /// status() without resources, which status_all() measures for all at once; `queue`: the scheduler's
  /// answers already asked for (else it is asked about this one).
  ManageableStatus status_view(const std::string& id, std::size_t output_lines, const QueueAnswers* queue = nullptr);
  /// status_view() of a launch that was queued and whose wrapper never ran: since and note from asking
  /// its scheduler. @return true while it is still queued (pending). `ended`: how its job ended, when
  /// it did and the scheduler says (QueueInfo::ended).
  /// status_view()'s Host line (a run placed by a scheduler, or on another host) and, for an active run
  /// on another host, why its resources are not shown.
  void status_host(ManageableStatus& status, bool active, const std::optional<LaunchRecord>& launch,
                   const std::optional<RunRecord>& run);
  bool status_from_queue(ManageableStatus& status, const std::string& id, const LaunchRecord& launch,
                         std::string& ended, const QueueAnswers* queue);

  /// One look of wait() at `id`: how it ended, or nullopt while it has not. Sets `queued` when its launch
  /// is queued; its scheduler is asked only when `ask_queue`.
  std::optional<WaitEnd> wait_look(const std::string& id, bool ask_queue, bool& queued);
  /// Checks `descriptor`, read from `path`, by building its manageable as load() does, each problem
  /// (one per unknown key when `strict`) appended to `problems`. @return true when it is valid.
  bool validate(const Descriptor& descriptor, const std::filesystem::path& path, bool strict,
                std::vector<std::string>& problems);

  StateStore m_store;
  PluginRegistry& m_registry;
  std::optional<bool> m_strict;  ///< set_strict(); unset: SPMI_STRICT decides
  std::shared_ptr<spdlog::logger> m_logger;
  /// Keeps the descriptor trees the plugins were built from alive as long as the plugins.
  std::vector<std::unique_ptr<nlohmann::json>> m_documents;
};

} // namespace spmi

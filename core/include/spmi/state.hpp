// SPDX-License-Identifier: MIT
/// \file
/// The one module that owns spmi's on-disk state under $SPMI_PATH and its locking.
///
/// Layout, one directory per manageable, named by its ID:
/// ~~~
///   $SPMI_PATH/<id>/manageable.json  what `load` registered: type, id, comment, source, body
///   $SPMI_PATH/<id>/descriptor.<ext> the descriptor file as it was loaded
///   $SPMI_PATH/<id>/lock             flock()ed by every command that changes the manageable
///   $SPMI_PATH/<id>/alive            OFD-locked by the wrapper process for as long as it lives
///   $SPMI_PATH/<id>/launch.json      written by `start`: token, backend type and ID, time, queued
///   $SPMI_PATH/<id>/launched.json    written by `start`: manageable.json as that launch started it
///   $SPMI_PATH/<id>/supervise.json   written by `start`: the lean supervisor's settings and token
///   $SPMI_PATH/<id>/run.json         written by the wrapper: token, pids, start/finish, exit
///   $SPMI_PATH/<id>/stdout, stderr   the task's output; stdin is a FIFO
///   $SPMI_PATH/resurrect.log         what each `spmi resurrect` did (appended)
///   $SPMI_PATH/.environments/<name>.json  an environment `load` captured, shared by what it loaded
///   $SPMI_PATH/.resurrect.lock       flock()ed by `spmi resurrect` while it runs
/// ~~~
/// Active exactly while a process holds the lock on `alive`: no process per manageable, no reused PID fooled.
///
/// StrictModes: the root and each manageable's directory must be real directories (no symlink) owned by
/// the effective user and not writable by group or others, and the root's existing ancestors owned by
/// root or that user and not writable by others unless sticky; every file is opened relative to its
/// verified directory's descriptor (openat, O_NOFOLLOW) and must be a regular file (stdin a FIFO) owned
/// by the user. Anything else is refused with a StateError that names the path and the fix.
#pragma once

#include <spmi/export.hpp>
#include <spmi/unique_fd.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct stat;

namespace spmi {

struct Descriptor;
class StateStore;

namespace detail {
struct DirSlot;
} // namespace detail

/// What a file of the store must be (see ManageableDir::open_file()).
enum class FileKind
{
  regular,  ///< a regular file
  fifo      ///< a FIFO (the `stdin` of a manageable)
};

/// The clock of every time spmi records.
using Clock = std::chrono::system_clock;
/// A time as spmi records it.
using TimePoint = Clock::time_point;

/// Seconds since the epoch with milliseconds, as stored in state files.
SPMI_API double to_epoch(TimePoint t);
/// The inverse of to_epoch(), rounded to the millisecond.
SPMI_API TimePoint from_epoch(double seconds);

/// What `start` wrote when it launched the manageable.
struct SPMI_API LaunchRecord
{
  std::string token;        ///< matches RunRecord::token of the run this launch started
  /// the backend's type name, e.g. "screen"
  std::string backend_type;
  /// LaunchResult::backend_id: a session pid, a job id...
  std::string backend_id;
  /// when `start` launched it
  TimePoint launched_at;
  bool queued = false;      ///< the backend queued it (see LaunchResult::queued)
  std::string cwd;          ///< the directory `spmi start` ran in (the task's default working directory)
  /// What the user last asked for: "up" (written by `start`) or "down" (written by `stop`/`kill` before
  /// they signal). A wrapper never restarts a task whose launch is wanted down, and `resurrect` starts
  /// again only launches still wanted up.
  std::string wanted = "up";
  /// How the user ended it: "" while wanted up, else "stop" or "kill" (the last one asked for).
  std::string ended_by;
  /// The backend's descriptor table as it was when it launched (LaunchResult::backend_settings): the
  /// backend that signals, asks about or cancels this launch is made from it. Null in records of older
  /// versions, whose backend is made from backend_type alone (or, by a manageable, from its descriptor).
  nlohmann::json backend_settings = nullptr;
  /// The revision of manageable.json this launch started (its `revision`, raised by each reload; 0 in
  /// records of older versions). `status` says a reloaded descriptor waits when the current one differs.
  int revision = 0;
};

/// What the wrapper process writes about its run.
struct SPMI_API RunRecord
{
  /// the token of the launch that started this wrapper (LaunchRecord::token)
  std::string token;
  /// the wrapper process's pid
  long wrapper_pid = 0;
  /// When the wrapper process started (field 22 of /proc/\<pid\>/stat, clock ticks after boot); with
  /// boot_id it tells the wrapper from a later process that got its pid. 0 in records of older wrappers,
  /// which are never signalled (see process::signal_wrapper()).
  std::uint64_t wrapper_start_time = 0;
  long pid = 0;                         ///< the task's pid, also its process group and session
  /// when the latest attempt started
  TimePoint started_at;
  /// when the latest attempt ended; unset while it runs
  std::optional<TimePoint> finished_at;
  std::optional<int> exit_code;         ///< set when the task exited
  std::optional<int> exit_signal;       ///< set when a signal ended the task
  std::string error;                    ///< set when the wrapper could not run the task
  /// why the wrapper itself ended the latest attempt, "" when it ended on its own or by the user
  /// (e.g. "exceeded max_memory (70M > 60M)")
  std::string end_reason;
  /// @name Restart policy
  /// The wrapper restarts the command itself. exit_code/exit_signal/finished_at above
  /// describe the latest attempt; while the wrapper waits before the next one, next_attempt is set.
  /// @{
  int restarts = 0;                     ///< automatic restarts so far in this launch
  /// when the next attempt is due, while the wrapper waits out a backoff delay
  std::optional<TimePoint> next_attempt;
  bool failed = false;                  ///< gave up: max_restarts reached within the window
  /// when each automatic restart of the current window happened (for max_restarts, also after a
  /// killed wrapper was replaced)
  std::vector<TimePoint> restart_times;
  /// @}
  /// @name Membership and recovery
  /// Which processes belong to the task, how they are found, and what survives the wrapper.
  /// @{
  long watchdog_pid = 0;                ///< the wrapper's watchdog (not a task process)
  std::string membership;               ///< "cgroup" or "fallback" ("" in records of older wrappers)
  std::string membership_note;          ///< why fallback was chosen, or which cgroup hierarchy is used
  std::string cgroup;                   ///< the task's own cgroup directory (cgroup membership only)
  std::string boot_id;                  ///< the boot the wrapper ran in (process::boot_id())
  /// the host the wrapper runs on (process::host_name()); "" in records of older wrappers. On a
  /// cluster it may not be the host `spmi` runs on (see remote_host(), spmi/views.hpp).
  std::string host;
  int recoveries = 0;                   ///< times a killed wrapper was replaced by its watchdog
  /// @}
  /// The task's stderr goes into its stdout file, so there is no stderr file (the run protocol's
  /// `mixed_stdout`); `spmi logs --stderr` then shows stdout and says so.
  bool mixed_stdout = false;
  /// What plugins record about the run, an object with one entry per plugin under its class name
  /// (e.g. `{"DeadlineWrapper": {"timeouts": 1}}`; see Attempt::facts()). `status --json` shows it.
  nlohmann::json facts = nlohmann::json::object();
};

/// Lock guard for the `lock` file of a manageable (flock, exclusive). Movable, released on destruction.
class SPMI_API DirLock
{
public:
  /// Holds no lock.
  DirLock() = default;
  /// Takes over `fd`, an open file on which this process holds the flock.
  explicit DirLock(int fd) : m_fd(fd) {}
  /// Takes over the lock of `other`, which then holds none.
  DirLock(DirLock&& other) noexcept;
  /// Releases the lock held, then takes over the one of `other`, which then holds none.
  DirLock& operator=(DirLock&& other) noexcept;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock();
  /// The locked file's descriptor; -1 when it holds no lock.
  int fd() const { return m_fd.get(); }

private:
  UniqueFd m_fd;  // closing it releases the flock
};

/// One manageable's directory. Copies share one verified descriptor of it, opened on first use: every
/// file is opened relative to that descriptor, so the directory a copy checked is the one it uses.
class SPMI_API ManageableDir
{
public:
  /// The directory at `path` (`$SPMI_PATH/<id>`), its parent verified as a store's root when first
  /// used (as the wrapper, `spmi __run <dir>`, does); touches nothing on disk until then.
  explicit ManageableDir(std::filesystem::path path);
  /// The directory. For messages and display: files are opened through open_file().
  const std::filesystem::path& path() const { return m_path; }
  /// The manageable's ID: the directory's name.
  std::string id() const { return m_path.filename().string(); }

  /// `manageable.json`: what `load` registered.
  std::filesystem::path meta_path() const { return m_path / "manageable.json"; }
  /// `launch.json`: the LaunchRecord.
  std::filesystem::path launch_path() const { return m_path / "launch.json"; }
  /// `run.json`: the RunRecord.
  std::filesystem::path run_path() const { return m_path / "run.json"; }
  /// `stdout`: the task's standard output.
  std::filesystem::path stdout_path() const { return m_path / "stdout"; }
  /// `stderr`: the task's standard error.
  std::filesystem::path stderr_path() const { return m_path / "stderr"; }
  /// `stdin`: the FIFO the task reads (made by make_stdin() before each launch).
  std::filesystem::path stdin_path() const { return m_path / "stdin"; }
  /// Makes the `stdin` FIFO (mode 0600) unless it exists.
  /// @throws StateError when `stdin` exists and is not a FIFO of the user; SystemError when it can't be made.
  void make_stdin() const;
  /// `wrapper.log`: what the wrapper process logs.
  std::filesystem::path wrapper_log_path() const { return m_path / "wrapper.log"; }

  /// Opens (and on first use verifies) the directory and the store's root.
  /// @throws StateError when either is insecure (owner, mode, symlink; the message says the fix) or the
  /// directory does not exist; SystemError when it can't be opened.
  void verify() const;
  /// Opens the file `name` of this directory: openat() relative to the verified directory with
  /// `flags` | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY (`mode` when it creates it), then checks that it is a
  /// `kind` file owned by the user and writable by no one else.
  /// @return the descriptor (the caller closes it), or -1 with errno set when open() failed otherwise
  /// (ENOENT: it does not exist and `flags` lack O_CREAT).
  /// @throws StateError when the file is a symlink, of another kind or insecure (naming it and the fix),
  /// or the directory is (see verify()).
  int open_file(const std::string& name, int flags, unsigned mode = 0600, FileKind kind = FileKind::regular) const;
  /// lstat() of the entry `name` of this directory (fstatat, never following a link) into `st`.
  /// @return false with errno set when it can't (ENOENT: no such entry). @throws as verify().
  bool stat_file(const std::string& name, struct ::stat& st) const;
  /// Appends `data` to the file `name` (created with mode 0600 when missing) in one write.
  /// @throws StateError as open_file(); SystemError when it can't be written.
  void append(const std::string& name, const std::string& data) const;
  /// Replaces the file `name` atomically (a temporary file made with O_EXCL in this directory, fsync
  /// unless `sync` is false, rename). @throws StateError as verify(); SystemError when it can't be written.
  void write_file(const std::string& name, const std::string& data, bool sync = true) const;
  /// Renames the entry `from` of this directory to `to`, replacing it. @return false with errno set when
  /// rename() failed (ENOENT: no `from`). @throws as verify().
  bool rename_file(const std::string& from, const std::string& to) const;
  /// Removes the file `name` (never what a link points to). @return false with errno set when unlink()
  /// failed (ENOENT: no such file). @throws as verify().
  bool remove_file(const std::string& name) const;
  /// Refuses any entry of the directory that is a symlink or owned by another user (`start` checks this
  /// before it launches). @throws StateError naming the entry and the fix, or as verify().
  void check_entries() const;

  /// Takes the exclusive command lock, waiting for other spmi commands.
  /// @throws StateError when the directory is gone (cleaned meanwhile) or insecure.
  /// @throws SystemError when the lock file can't be opened or locked.
  DirLock lock() const;
  /// Takes the exclusive command lock if no other process holds it, without waiting.
  /// @return the lock, or an empty DirLock (fd() -1) when another command holds it.
  /// @throws StateError when the directory is gone (cleaned meanwhile) or insecure.
  /// @throws SystemError when the lock file can't be opened or locked.
  DirLock try_lock() const;

  /// True while a wrapper holds the alive lock. Never blocks, never takes the lock.
  /// @throws StateError when the directory or `alive` is insecure; SystemError when it can't be tested.
  bool is_active() const;
  /// Called by the wrapper: takes the alive lock and keeps it until the process exits. False when
  /// another process already holds it. @throws SystemError when the lock file can't be opened or locked.
  /// With `held_fd`, the locked file's descriptor is stored there (close-on-exec; a watchdog that
  /// replaces a killed wrapper hands it on, see adopt_alive_lock()).
  bool hold_alive_lock(int* held_fd = nullptr) const;
  /// Called by a wrapper that replaces a killed one: keeps the alive lock on `fd`, an open file
  /// description of this directory's `alive` file that it inherited from its predecessor (which held
  /// the lock), so the manageable never looks inactive in between. False when `fd` is not that file or
  /// holds no lock; then nothing is kept.
  bool adopt_alive_lock(int fd) const;

  /// What `load` registered (manageable.json): type, id, comment, source, body.
  /// @throws StateError when it is not loaded or the file is corrupt; SystemError when unreadable.
  nlohmann::json read_meta() const;
  /// Replaces manageable.json and the descriptor copy with `descriptor` (a reload; the caller holds the
  /// lock and validated it), keeping output, records and `loaded_at`: `revision` goes up by one,
  /// `reloaded_at` is now, `recorded` (cwd, environment...) replaces those fields. The copy is written
  /// first, manageable.json (the switch) atomically after it, then a copy in another format is removed.
  /// @return the new manageable.json. @throws StateError when it is not loaded; SystemError on I/O failure.
  nlohmann::json replace_descriptor(const Descriptor& descriptor, const nlohmann::json& recorded) const;
  /// Records `meta` (manageable.json as read) as what the launch `token` starts, in `launched.json`:
  /// its wrapper, and a wrapper that replaces it after it was killed, run that and no later reload.
  /// @throws SystemError when it can't be written.
  void write_launched(const std::string& token, const nlohmann::json& meta) const;
  /// manageable.json as the launch `token` started it (`launched.json` when it names that token, else
  /// manageable.json: a launch by an older version). @throws as read_meta().
  nlohmann::json read_launched(const std::string& token) const;
  /// The variables ("NAME=value") of the environment `name` that `load` captured (manageable.json's
  /// `environment`), read from the store's `.environments` directory as every state file is.
  /// @throws StateError when `name` is malformed, the file is missing, corrupt or insecure.
  std::vector<std::string> read_environment(const std::string& name) const;
  /// The launch record; nullopt when there is none.
  /// @throws StateError when the file is corrupt; SystemError when unreadable.
  std::optional<LaunchRecord> read_launch() const;
  /// The run record; nullopt when there is none.
  /// @throws StateError when the file is corrupt; SystemError when unreadable.
  std::optional<RunRecord> read_run() const;
  /// Replaces the launch record (atomically); without `sync`, the fsync is the caller's (one that records
  /// many makes them durable with one syncfs(2) before acting on them). @throws SystemError.
  void write_launch(const LaunchRecord& record, bool sync = true) const;
  /// Replaces the run record (atomically). @throws SystemError when it can't be written.
  void write_run(const RunRecord& record) const;

  /// Last `lines` lines of the file `name` of this directory (at most the last 64 KiB are read); none
  /// when it does not exist. @throws StateError when it is insecure (see open_file()).
  std::vector<std::string> tail(const std::string& name, std::size_t lines) const;

private:
  friend class StateStore;
  ManageableDir(std::shared_ptr<detail::DirSlot> root, const std::string& id);
  // The verified directory's descriptor (see verify()).
  int dir_fd() const;

  std::filesystem::path m_path;
  std::shared_ptr<detail::DirSlot> m_slot;
};

/// The whole store.
class SPMI_API StateStore
{
public:
  /// $SPMI_PATH, else ~/.spmi.
  static std::filesystem::path default_root();

  /// The store under `root`; touches nothing on disk (the root is opened and verified on first use).
  explicit StateStore(std::filesystem::path root);
  /// Its root directory.
  const std::filesystem::path& root() const { return m_root; }

  /// Creates the root (mode 0700, and its parents) if missing, then verifies it.
  /// @throws SystemError when it can't be made; StateError when it (or a parent) is insecure.
  void ensure_root() const;
  /// IDs of every registered manageable, sorted (entries that are symlinks included, so that they are
  /// reported). @throws StateError when the root (or a parent) is insecure.
  std::vector<std::string> ids() const;
  /// True when a manageable `id` is registered (or a symlink stands in its place, to be refused when
  /// used). @throws StateError when the root (or a parent) is insecure.
  bool contains(const std::string& id) const;
  /// The directory of manageable `id`, whether or not it is registered.
  ManageableDir dir(const std::string& id) const;

  /// Registers every descriptor, all or nothing. Each gets a directory built under a temporary name and
  /// renamed into place; on any failure the ones already placed are removed again. While interrupts are
  /// deferred (process::DeferredInterrupts), one received before the first rename removes what was
  /// staged and throws Interrupted; one received later lets it finish. Holds lock_store().
  /// @throws StateError when an ID is already registered.
  /// @throws Interrupted when interrupted before anything was placed (nothing is then registered).
  /// @throws SystemError on I/O failure.
  /// `recorded` (an object: cwd, environment...) is added to each manageable.json.
  void register_all(const std::vector<Descriptor>& descriptors,
                    const nlohmann::json& recorded = nlohmann::json::object()) const;
  /// Stores `variables` ("NAME=value", sorted) once in `.environments/<name>.json` (mode 0600, written
  /// atomically; `<name>` a hash of the content, another when a different content has that hash).
  /// @return `<name>`, for manageable.json's `environment`. Files no manageable names any more are left
  /// until the last manageable is removed (see remove()). The caller holds lock_store() until the
  /// manageables that name it are in place.
  /// @throws StateError when the directory is insecure; SystemError when it can't be written.
  std::string store_environment(const std::vector<std::string>& variables) const;

  /// Removes a manageable's directory (renamed away first, so others never see half of it). Removing
  /// the last one, while no `load` runs, also removes the captured environments (`.environments`).
  /// @throws SystemError when it can't be renamed or deleted.
  void remove(const std::string& id) const;

  /// `.store.lock`: held shared by `load` (register_all()) and `clean` (remove()) while they stage or
  /// remove directories. Whoever takes it while no other holds it first removes what a killed `load` or
  /// `clean` left behind (`.load-*` staging and `.clean-*` directories). Creates the root if missing.
  /// @throws SystemError when it can't be opened or locked.
  DirLock lock_store() const;

  /// `.resurrect.lock`: `spmi resurrect` holds it (flock, exclusive) while it runs, so a run at boot and
  /// one by hand never overlap. Waits while another process holds it. Creates the root if missing.
  /// @throws SystemError when it can't be opened or locked.
  DirLock lock_resurrect() const;
  /// `resurrect.log`: what each `spmi resurrect` did, one timestamped line per manageable.
  std::filesystem::path resurrect_log_path() const { return m_root / "resurrect.log"; }
  /// Appends `data` to the root's file `name` (e.g. `resurrect.log`), created with mode 0600 when
  /// missing. @throws StateError when it or the root is insecure; SystemError when it can't be written.
  void append(const std::string& name, const std::string& data) const;
  /// Replaces the root's file `name` (e.g. `.web-token`) atomically with `data`, mode 0600, creating the
  /// root when missing. @return its path. @throws StateError (insecure root), SystemError.
  std::filesystem::path write_private(const std::string& name, const std::string& data) const;

private:
  friend class ListCache;  // `list`'s cache in the root (core/src/list_cache.hpp)
  void remove_leftovers() const;
  // The verified root's descriptor. @throws StateError when it does not exist or is insecure.
  int root_fd() const;

  std::filesystem::path m_root;
  std::shared_ptr<detail::DirSlot> m_slot;
};

/// Writes `data` to `path` atomically: a temporary file in the same directory, fsync, rename.
/// With `sync` false the fsync is left to the caller (who syncs many files at once).
/// @throws SystemError when it fails; `path` is then left as it was.
SPMI_API void write_file_atomic(const std::filesystem::path& path, const std::string& data, bool sync = true);
/// Appends `data` to the file at `path` (created with mode 0600 when missing), in one write.
/// @throws SystemError when it can't be opened or written.
SPMI_API void append_file(const std::filesystem::path& path, const std::string& data);
/// Reads a whole file; nullopt when it does not exist. @throws SystemError on other failures.
SPMI_API std::optional<std::string> read_file(const std::filesystem::path& path);

/// A file system with less room than this for unprivileged users (or no free inode) is full: a task's
/// output and the state files no longer fit.
constexpr std::uint64_t k_full_disk_bytes = 64 * 1024;
/// The bytes free on the file system holding `path` when it is full (see k_full_disk_bytes); nullopt
/// when it has room, or when statvfs() can't tell. Never throws.
SPMI_API std::optional<std::uint64_t> full_disk_bytes_free(const std::filesystem::path& path);

} // namespace spmi

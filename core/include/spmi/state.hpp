// SPDX-License-Identifier: MIT
/// \file
/// The one module that owns spmi's on-disk state under $SPMI_PATH and its locking.
///
/// Layout, one directory per manageable, named by its ID:
///   $SPMI_PATH/\<id\>/manageable.json  what `load` registered: type, id, comment, source, body
///   $SPMI_PATH/\<id\>/descriptor.\<ext\> the descriptor file as it was loaded
///   $SPMI_PATH/\<id\>/lock             flock()ed by every command that changes the manageable
///   $SPMI_PATH/\<id\>/alive            OFD-locked by the wrapper process for as long as it lives
///   $SPMI_PATH/\<id\>/launch.json      written by `start`: token, backend type and ID, time, queued
///   $SPMI_PATH/\<id\>/run.json         written by the wrapper: token, pids, start/finish, exit
///   $SPMI_PATH/\<id\>/stdout, stderr   the task's output; stdin is a FIFO
/// A manageable is active exactly while some process holds the lock on its `alive` file, so liveness
/// needs no process per manageable and can't be fooled by a reused PID or a reboot.
#pragma once

#include <spmi/export.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace spmi {

struct Descriptor;

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

/// Seconds since the epoch with milliseconds, as stored in state files.
SPMI_API double to_epoch(TimePoint t);
SPMI_API TimePoint from_epoch(double seconds);

/// What `start` wrote when it launched the manageable.
struct SPMI_API LaunchRecord
{
  std::string token;        ///< matches RunRecord::token of the run this launch started
  std::string backend_type;
  std::string backend_id;
  TimePoint launched_at;
  bool queued = false;      ///< the backend queued it (see LaunchResult::queued)
  std::string cwd;          ///< the directory `spmi start` ran in (the task's default working directory)
};

/// What the wrapper process writes about its run.
struct SPMI_API RunRecord
{
  std::string token;
  long wrapper_pid = 0;
  long pid = 0;                         ///< the task's pid, also its process group and session
  TimePoint started_at;
  std::optional<TimePoint> finished_at;
  std::optional<int> exit_code;         ///< set when the task exited
  std::optional<int> exit_signal;       ///< set when a signal ended the task
  std::string error;                    ///< set when the wrapper could not run the task
  /// Restart policy (the wrapper restarts the command itself). exit_code/exit_signal/finished_at above
  /// describe the latest attempt; while the wrapper waits before the next one, next_attempt is set.
  int restarts = 0;                     ///< automatic restarts so far in this launch
  std::optional<TimePoint> next_attempt;
  bool failed = false;                  ///< gave up: max_restarts reached within the window
};

/// Lock guard for the `lock` file of a manageable (flock, exclusive). Movable, released on destruction.
class SPMI_API DirLock
{
public:
  DirLock() = default;
  explicit DirLock(int fd) : m_fd(fd) {}
  DirLock(DirLock&& other) noexcept;
  DirLock& operator=(DirLock&& other) noexcept;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock();
  int fd() const { return m_fd; }

private:
  int m_fd = -1;
};

/// One manageable's directory.
class SPMI_API ManageableDir
{
public:
  explicit ManageableDir(std::filesystem::path path);
  const std::filesystem::path& path() const { return m_path; }
  std::string id() const { return m_path.filename().string(); }

  std::filesystem::path meta_path() const { return m_path / "manageable.json"; }
  std::filesystem::path launch_path() const { return m_path / "launch.json"; }
  std::filesystem::path run_path() const { return m_path / "run.json"; }
  std::filesystem::path stdout_path() const { return m_path / "stdout"; }
  std::filesystem::path stderr_path() const { return m_path / "stderr"; }
  std::filesystem::path stdin_path() const { return m_path / "stdin"; }
  std::filesystem::path wrapper_log_path() const { return m_path / "wrapper.log"; }

  /// Takes the exclusive command lock, waiting for other spmi commands. Throws SystemError.
  DirLock lock() const;

  /// True while a wrapper holds the alive lock. Never blocks, never takes the lock.
  bool is_active() const;
  /// Called by the wrapper: takes the alive lock and keeps it until the process exits. False when
  /// another process already holds it.
  bool hold_alive_lock() const;

  nlohmann::json read_meta() const;  ///< throws Error when unreadable or corrupt
  std::optional<LaunchRecord> read_launch() const;
  std::optional<RunRecord> read_run() const;
  void write_launch(const LaunchRecord& record) const;
  void write_run(const RunRecord& record) const;

  /// Last `lines` lines of the file at `path` (at most the last 64 KiB are read).
  static std::vector<std::string> tail(const std::filesystem::path& path, std::size_t lines);

private:
  std::filesystem::path m_path;
};

/// The whole store.
class SPMI_API StateStore
{
public:
  /// $SPMI_PATH, else ~/.spmi.
  static std::filesystem::path default_root();

  explicit StateStore(std::filesystem::path root);
  const std::filesystem::path& root() const { return m_root; }

  /// Creates the root (mode 0700) if missing. Throws SystemError.
  void ensure_root() const;
  /// IDs of every registered manageable, sorted.
  std::vector<std::string> ids() const;
  bool contains(const std::string& id) const;
  ManageableDir dir(const std::string& id) const;

  /// Registers every descriptor, all or nothing. Each gets a directory built under a temporary name and
  /// renamed into place; on any failure the ones already placed are removed again.
  /// Throws StateError when an ID is already registered, SystemError on I/O failure.
  void register_all(const std::vector<Descriptor>& descriptors) const;

  /// Removes a manageable's directory (renamed away first, so others never see half of it).
  void remove(const std::string& id) const;

private:
  std::filesystem::path m_root;
};

/// Writes `data` to `path` atomically: a temporary file in the same directory, fsync, rename.
/// With `sync` false the fsync is left to the caller (who syncs many files at once).
SPMI_API void write_file_atomic(const std::filesystem::path& path, const std::string& data, bool sync = true);
/// Reads a whole file; nullopt when it does not exist. Throws SystemError on other failures.
SPMI_API std::optional<std::string> read_file(const std::filesystem::path& path);

} // namespace spmi

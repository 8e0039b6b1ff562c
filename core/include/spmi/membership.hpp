// SPDX-License-Identifier: MIT
/// \file
/// Which processes belong to a task, whatever they do to their environment, title, process group or
/// session, and how to end them all.
///
/// - **cgroup**: where a writable cgroup v2 hierarchy is found, each run gets a directory
///   `<base>/<name>/` holding `supervisor/` (the wrapper, once its task runs, and its watchdog) and
///   `task/` (every process the task starts: a child starts there, or moves itself there before it
///   execs). Members are `task/cgroup.procs`; ending them is `task/cgroup.kill`; `populated 0` in
///   `task/cgroup.events` means none is left.
/// - **fallback**: every process below the wrapper (a child subreaper, so orphans come back to it)
///   that is not the watchdog and not below another task's wrapper or task (another run's marker), plus
///   the main process's process group and session. Once the wrapper itself is gone, processes that
///   carry the run's marker in their environment are found too.
#pragma once

#include <spmi/export.hpp>
#include <spmi/unique_fd.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace spmi::process {

/// Where task cgroups can be made, or why not (see probe_cgroup()).
struct SPMI_API CgroupProbe
{
  std::filesystem::path base;  ///< directory under which run directories are made; empty: none
  std::string note;            ///< the hierarchy used, or why there is none
};

/// Finds where this process may make task cgroups, changing nothing: `$SPMI_MEMBERSHIP=fallback`
/// forces none; `$SPMI_CGROUP_BASE` names the base; else a cgroup2 mount (`/sys/fs/cgroup`, or
/// `/sys/fs/cgroup/unified` on hybrid hosts) with `<mount>/spmi` for root, or this process's own cgroup
/// when it is writable by us (a subtree systemd delegated to the user).
SPMI_API CgroupProbe probe_cgroup();

/// The variable whose value, the run's token, marks every process of a task (task_marker()).
inline constexpr const char* k_task_marker_name = "SPMI_RUN_TOKEN";
/// The variable whose value, the run's token, marks a wrapper process (wrapper_marker()).
inline constexpr const char* k_wrapper_marker_name = "SPMI_WRAPPER_TOKEN";
/// The variable that gives every task its manageable's ID (set by the run protocol; never captured by `load`).
inline constexpr const char* k_id_variable = "SPMI_ID";
/// The environment entry every process of a task carries ("SPMI_RUN_TOKEN=<token>"), and the one a
/// wrapper process carries ("SPMI_WRAPPER_TOKEN=<token>"), so one run never counts another's processes.
/// These are the only spellings: `list` and `status` find a task's processes by exactly this entry.
SPMI_API std::string task_marker(const std::string& token);
/// See task_marker().
SPMI_API std::string wrapper_marker(const std::string& token);

/// One run's processes.
class SPMI_API TaskGroup
{
public:
  /// Sets up membership for a run in the calling process (its wrapper): with a cgroup base, makes
  /// `<base>/<name>/{supervisor,task}` and opens them (the caller moves into `supervisor/` later, with
  /// join(), once its task is started: a move waits for the kernel; at once when the caller is in a
  /// cgroup below the base, i.e. another run's task started it); on any failure (or without a base)
  /// the fallback, with note() saying why. Never throws.
  static TaskGroup create(const std::string& name, const std::string& token);

  /// A recorded run's group, to look at or end from another process (the CLI, the watchdog).
  /// `cgroup` is the task cgroup (empty: fallback); `supervisor`, `watchdog` and `main_pid` the run's
  /// recorded pids (0: unknown); `origin` the cgroup its creator came from (origin()), where remove()
  /// moves the calling process back to (empty: unknown).
  TaskGroup(std::filesystem::path cgroup, std::string token, pid_t supervisor, pid_t watchdog, pid_t main_pid,
            std::filesystem::path origin = {});

  /// "cgroup" or "fallback".
  std::string mode() const { return m_cgroup.empty() ? "fallback" : "cgroup"; }
  /// The hierarchy used, or why the fallback was chosen.
  const std::string& note() const { return m_note; }
  /// The task cgroup directory; empty in fallback.
  const std::filesystem::path& cgroup() const { return m_cgroup; }
  /// The cgroup the creator was in before it moved into `supervisor/`; empty in fallback.
  const std::filesystem::path& origin() const { return m_origin; }
  /// An open `cgroup.procs` of the task cgroup for SpawnOptions::cgroup_procs_fd; -1 in fallback.
  int procs_fd() const { return m_procs_fd.get(); }
  /// The task cgroup's open directory for SpawnOptions::cgroup_dir_fd; -1 in fallback.
  int task_dir_fd() const { return m_task_dir.get(); }
  /// `supervisor/`'s open directory until the caller has joined it (for a watchdog started before);
  /// -1 after join() and in fallback.
  int supervisor_dir_fd() const { return m_supervisor_dir.get(); }
  /// Moves the calling process into `supervisor/` (once; nothing in fallback). @return why it could
  /// not (it then stays where it is, its task still in the task cgroup); empty when it did.
  std::string join();

  /// Records the pids that membership depends on.
  void set_main(pid_t pid) { m_main = pid; }
  /// The watchdog is never a member.
  void set_watchdog(pid_t pid) { m_watchdog = pid; }
  /// Whether processes carrying the run's marker anywhere count (true once the wrapper is gone).
  void set_include_marked(bool include) { m_include_marked = include; }

  /// The live members, now.
  std::vector<pid_t> members() const;
  /// True when no member is left.
  bool empty() const;
  /// Sends `signo` to every member (then SIGCONT, so stopped ones see it). @return members signalled.
  std::size_t signal(int signo) const;
  /// SIGKILLs every member (cgroup.kill where the kernel has it, else rounds of SIGKILL until none is
  /// left) and waits up to `timeout` for none to be left. @return true when none is.
  bool kill(std::chrono::milliseconds timeout) const;
  /// The memory its members use now, in bytes: in a cgroup with the memory controller, its
  /// `memory.current` less the page cache it caused (`file` in `memory.stat`, which the kernel reclaims);
  /// else the sum of the members' resident set sizes. What `max_memory` is compared with.
  std::uint64_t memory_bytes() const;
  /// Removes the run's cgroup directories (cgroup mode, best effort; the task cgroup must be empty):
  /// moves this process back to where it came from first when it is in `supervisor/`.
  void remove() const;

  /// Takes over `other`'s group (and its open cgroup.procs and directories); `other` then holds none.
  TaskGroup(TaskGroup&& other) noexcept;
  /// Closes this group's open files, then takes over `other`'s group.
  TaskGroup& operator=(TaskGroup&& other) noexcept;
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;
  /// Closes the open cgroup.procs and directories; removes nothing (see remove()).
  ~TaskGroup();

private:
  TaskGroup() = default;
  std::filesystem::path m_cgroup;
  std::filesystem::path m_origin;  ///< the creator's cgroup before it moved into supervisor/
  std::filesystem::path m_base;    ///< where run directories are made
  std::string m_note;
  std::string m_token;
  UniqueFd m_procs_fd;
  UniqueFd m_task_dir;
  UniqueFd m_supervisor_dir;  ///< open until join()
  pid_t m_supervisor = 0;
  pid_t m_watchdog = 0;
  pid_t m_main = 0;
  bool m_include_marked = false;
};

/// A process as `status` and error messages name it.
struct SPMI_API ProcessInfo
{
  pid_t pid = 0;         ///< its pid
  std::string command;   ///< its command line (or name), shortened
};
/// Pid and command line of each of `pids` still alive.
SPMI_API std::vector<ProcessInfo> describe_processes(const std::vector<pid_t>& pids);
/// "PID (command), PID (command)" for messages.
SPMI_API std::string processes_text(const std::vector<ProcessInfo>& processes);

} // namespace spmi::process

// SPDX-License-Identifier: MIT
// The one reader of /proc (internal to the core; exported for the unit tests only). Everything spmi
// learns about other processes goes through here: their stat lines (the command name in parentheses may
// hold spaces and ')', so the fields are read after the last ')'), environments, command lines and
// open descriptors, and the list of pids. Every function takes the root to read (normally /proc), so the
// parsing is tested on a fake directory; a process that vanishes meanwhile is simply not there.
#pragma once

#include <spmi/export.hpp>

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spmi::process::detail {

/// One process, from <proc>/<pid>/stat.
struct SPMI_API ProcInfo
{
  pid_t pid = 0;
  char state = 0;  ///< 'R', 'S', 'Z' (zombie), 'X' (dead)...
  pid_t ppid = 0;
  pid_t pgrp = 0;
  pid_t session = 0;
  unsigned long long cpu_ticks = 0;    ///< utime + stime
  unsigned long long start_ticks = 0;  ///< starttime, clock ticks after boot
  long rss_pages = 0;

  /// True for a zombie or a dead process (it has ended, only its entry is left).
  bool ended() const { return state == 'Z' || state == 'X'; }
};

/// Parses the stat line `line` of process `pid`; nullopt when it is not one.
SPMI_API std::optional<ProcInfo> parse_stat(pid_t pid, std::string_view line);
/// `pid`'s stat, zombies included; nullopt when it is gone or can't be read.
SPMI_API std::optional<ProcInfo> read_stat(pid_t pid, const std::string& proc_root = "/proc");
/// `pid`'s stat while it lives; nullopt when it is gone or a zombie.
SPMI_API std::optional<ProcInfo> read_proc(pid_t pid, const std::string& proc_root = "/proc");
/// Every pid listed under `proc_root` (the numeric entries), in the order the directory gives them.
SPMI_API std::vector<pid_t> list_pids(const std::string& proc_root = "/proc");
/// Every live process under `proc_root`, by pid. Zombies and processes that vanish meanwhile are left out.
SPMI_API std::map<pid_t, ProcInfo> scan_proc(const std::string& proc_root = "/proc");
/// parent -> children, from a scan.
SPMI_API std::multimap<pid_t, pid_t> children_of(const std::map<pid_t, ProcInfo>& procs);

/// Reads a small file whole (at most about 1 MiB); false when it can't be opened.
SPMI_API bool read_small_file(const std::string& path, std::string& data);
/// The value of `name` ("NAME=") in the NUL-separated environment file at `environ_path`; nullopt when
/// absent or unreadable.
SPMI_API std::optional<std::string> environ_value(const std::string& environ_path, const std::string& name);
/// The value of `name` ("NAME=") in `pid`'s environment; nullopt when absent, or when the process is
/// gone or not ours (its environ can't be read).
SPMI_API std::optional<std::string> environ_value(pid_t pid, const std::string& name,
                                                  const std::string& proc_root = "/proc");
/// True when `pid`'s environment holds exactly `entry` ("NAME=value").
SPMI_API bool has_environ_entry(pid_t pid, const std::string& entry, const std::string& proc_root = "/proc");
/// `pid`'s command line, its arguments joined by spaces; nullopt when it is gone or can't be read ("" for
/// a kernel thread or a process that is exiting).
SPMI_API std::optional<std::string> read_cmdline(pid_t pid, const std::string& proc_root = "/proc");
/// The descriptors `pid` has open (the entries of <proc>/<pid>/fd); nullopt when they can't be listed
/// (gone, or not ours), with errno set.
SPMI_API std::optional<std::vector<int>> list_fds(pid_t pid, const std::string& proc_root = "/proc");
/// The path of `what` ("fd/3", "fdinfo/3", "cgroup"...) of `pid` under `proc_root`.
SPMI_API std::string proc_path(pid_t pid, const std::string& what, const std::string& proc_root = "/proc");

} // namespace spmi::process::detail

namespace spmi::process::detail {

/// What decides a run's membership (see TaskGroup).
struct SPMI_API GroupSpec
{
  std::string cgroup;        ///< the task cgroup; empty: fallback
  std::string token;         ///< the run's token ("": no marker checks)
  pid_t supervisor = 0;      ///< the wrapper
  pid_t watchdog = 0;        ///< never a member
  pid_t main_pid = 0;        ///< its process group and session count too
  bool include_marked = false;
};

/// The members of `spec` among `procs` (a scan of `proc_root`), excluding the calling process.
SPMI_API std::vector<pid_t> group_members(const GroupSpec& spec, const std::map<pid_t, ProcInfo>& procs,
                                 const std::multimap<pid_t, pid_t>& children, const std::string& proc_root);

} // namespace spmi::process::detail

// SPDX-License-Identifier: MIT
// One pass over /proc: what spmi needs to know of every live process (internal to the core; exported
// for the unit tests only).
#pragma once

#include <spmi/export.hpp>

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spmi::process::detail {

/// One live (not zombie) process, from <proc>/<pid>/stat.
struct SPMI_API ProcInfo
{
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t pgrp = 0;
  pid_t session = 0;
  unsigned long long cpu_ticks = 0;    ///< utime + stime
  unsigned long long start_ticks = 0;  ///< starttime, clock ticks after boot
  long rss_pages = 0;
};

/// Every live process under `proc_root`, by pid. Zombies and processes that vanish meanwhile are left out.
SPMI_API std::map<pid_t, ProcInfo> scan_proc(const std::string& proc_root = "/proc");
/// Reads `pid`'s stat line; nullopt when it is gone or a zombie.
SPMI_API std::optional<ProcInfo> read_proc(pid_t pid, const std::string& proc_root = "/proc");

/// Reads a small file whole (at most 1 MiB); false when it can't be opened.
SPMI_API bool read_small_file(const std::string& path, std::string& data);
/// The value of `name` ("NAME=") in the NUL-separated environment file at `environ_path`; nullopt when
/// absent or unreadable.
SPMI_API std::optional<std::string> environ_value(const std::string& environ_path, const std::string& name);
/// parent -> children, from a scan.
SPMI_API std::multimap<pid_t, pid_t> children_of(const std::map<pid_t, ProcInfo>& procs);

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

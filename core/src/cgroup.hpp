// SPDX-License-Identifier: MIT
// cgroup v2 file operations (internal to the core; TaskGroup is the interface).
#pragma once

#include <spmi/export.hpp>

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace spmi::process::cgroup {

/// Where run directories go: `base` (empty: none, `note` says why) in the hierarchy mounted at `mount`.
struct Probe
{
  std::filesystem::path base;
  std::filesystem::path mount;
  std::string note;
};

/// See probe_cgroup() in membership.hpp. With `honour_forced` false, `SPMI_MEMBERSHIP=fallback` is
/// ignored: where runs started without it get their cgroups (to check a recorded cgroup against).
Probe probe(bool honour_forced = true);
/// True when `path` is on a cgroup2 file system.
bool is_cgroup2(const std::filesystem::path& path);
/// The cgroup2 mount point, empty when there is none.
std::filesystem::path find_mount();
/// The cgroup path (from the hierarchy's root, "/a/b") of `pid` (0: this process); "" when unknown.
std::string own_path(pid_t pid);
/// A directory name that can't be taken for an interface file.
SPMI_API std::string escape(const std::string& name);
/// mkdir(0755); an existing directory is fine. False with `error` set otherwise.
bool make_dir(const std::filesystem::path& path, std::string& error);
/// Writes `text` to an existing file (cgroup interface files). False (with `error`, if given) otherwise.
bool write_text(const std::filesystem::path& path, const std::string& text, std::string* error = nullptr);
/// The pids in `cgroup`'s cgroup.procs (none when it is gone).
std::vector<pid_t> procs(const std::filesystem::path& cgroup);
/// `populated 1` in cgroup.events (false when the cgroup is gone).
bool populated(const std::filesystem::path& cgroup);
/// Writes cgroup.kill (Linux 5.14+); false when the kernel has no such file.
bool kill_all(const std::filesystem::path& cgroup);
/// usage_usec of cpu.stat, in seconds.
std::optional<double> cpu_seconds(const std::filesystem::path& cgroup);
/// memory.current, where the memory controller is enabled.
std::optional<std::uint64_t> memory_bytes(const std::filesystem::path& cgroup);
/// memory.current less the page cache (`file` of memory.stat), which the kernel reclaims under
/// pressure: what max_memory holds a task to (exported for the tests).
SPMI_API std::optional<std::uint64_t> unreclaimable_memory_bytes(const std::filesystem::path& cgroup);

} // namespace spmi::process::cgroup

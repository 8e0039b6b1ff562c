// SPDX-License-Identifier: MIT
// The process module's view of other processes, all read through the one /proc scanner (proc_scan.hpp):
// a process's descendants, the resource use of runs' trees, who carries an environment entry, and this
// boot's identity (see process.hpp).
#include <spmi/process.hpp>

#include "cgroup.hpp"
#include "proc_scan.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace spmi::process {

std::vector<pid_t>
descendants(pid_t pid)
{
  const auto children = detail::children_of(detail::scan_proc());
  std::vector<pid_t> result;
  std::vector<pid_t> queue{pid};
  while (!queue.empty()) {
    const pid_t current = queue.back();
    queue.pop_back();
    auto [begin, end] = children.equal_range(current);
    for (auto it = begin; it != end; ++it) {
      result.push_back(it->second);
      queue.push_back(it->second);
    }
  }
  return result;
}

std::map<pid_t, TreeUsage>
tree_usage(const std::vector<TreeRoot>& roots, const std::filesystem::path& proc_root)
{
  std::map<pid_t, TreeUsage> result;
  for (const auto& root : roots) {
    result[root.pid];
  }
  if (roots.empty()) {
    return result;
  }
  const std::string base = proc_root.string();
  std::string data;
  double uptime = 0;
  if (detail::read_small_file(base + "/uptime", data)) {
    uptime = std::strtod(data.c_str(), nullptr);
  }
  const double ticks_per_second = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const auto page_size = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const double max_share = static_cast<double>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));

  // One pass over /proc for every root; each root's members by the run's membership rule. When every
  // run has its cgroup, its members are what the cgroup lists: only their stat lines are read, not all
  // of /proc (`spmi top` measures at every refresh).
  std::map<pid_t, detail::ProcInfo> procs;
  if (std::all_of(roots.begin(), roots.end(), [](const TreeRoot& r) { return r.pid <= 0 || !r.cgroup.empty(); })) {
    for (const auto& root : roots) {
      for (pid_t pid : root.pid > 0 ? cgroup::procs(root.cgroup) : std::vector<pid_t>{}) {
        if (auto info = detail::read_proc(pid, base)) {
          procs.emplace(pid, *info);
        }
      }
    }
  } else {
    procs = detail::scan_proc(base);
  }
  const auto children = detail::children_of(procs);
  for (const auto& root : roots) {
    auto& usage = result[root.pid];
    if (root.pid <= 0) {
      continue;
    }
    const std::string prefix = task_marker("");
    const std::string token = root.marker_env.rfind(prefix, 0) == 0 ? root.marker_env.substr(prefix.size()) : "";
    const detail::GroupSpec spec{root.cgroup, token, root.pid, root.watchdog, root.main_pid, false};
    for (pid_t pid : detail::group_members(spec, procs, children, base)) {
      const auto& stat = procs.at(pid);
      ++usage.processes;
      const double cpu = static_cast<double>(stat.cpu_ticks) / ticks_per_second;
      usage.cpu_seconds += cpu;
      const double age = uptime - static_cast<double>(stat.start_ticks) / ticks_per_second;
      if (age > 0) {
        usage.cpu_percent += 100.0 * std::min(cpu / age, max_share);
      }
      usage.rss_bytes += static_cast<std::uint64_t>(std::max(0L, stat.rss_pages)) * page_size;
    }
    // A cgroup counts the CPU time of processes that already ended too, and its memory includes the
    // page cache the task caused (memory.current exists only where the memory controller is enabled).
    if (!root.cgroup.empty()) {
      if (const auto cpu = cgroup::cpu_seconds(root.cgroup)) {
        usage.cpu_seconds = *cpu;
      }
      if (const auto memory = cgroup::memory_bytes(root.cgroup)) {
        usage.rss_bytes = *memory;
      }
    }
  }
  return result;
}

bool
has_env(pid_t pid, const std::string& entry)
{
  return detail::has_environ_entry(pid, entry);  // false when gone, or not ours
}

std::vector<pid_t>
processes_with_env(const std::string& entry)
{
  std::vector<pid_t> result;
  const pid_t self = ::getpid();
  for (pid_t pid : detail::list_pids()) {
    if (pid != self && has_env(pid, entry)) {
      result.push_back(pid);
    }
  }
  return result;
}

std::string
boot_id()
{
  const char* override_path = std::getenv("SPMI_BOOT_ID_FILE");
  std::string data;
  if (!detail::read_small_file(override_path && *override_path ? override_path : "/proc/sys/kernel/random/boot_id", data)) {
    return "";
  }
  while (!data.empty() && (data.back() == '\n' || data.back() == ' ')) {
    data.pop_back();
  }
  return data;
}

std::string
host_name()
{
  utsname names{};
  return ::uname(&names) == 0 ? std::string(names.nodename) : std::string();
}

} // namespace spmi::process

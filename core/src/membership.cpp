// SPDX-License-Identifier: MIT
// TaskGroup: a run's processes, by cgroup where there is one, else by the wrapper's process tree.
#include <spmi/membership.hpp>
#include <spmi/process.hpp>

#include "cgroup.hpp"
#include "proc_scan.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <set>
#include <utility>

namespace spmi::process {

namespace fs = std::filesystem;

std::string
task_marker(const std::string& token)
{
  return std::string(k_task_marker_name) + "=" + token;
}

std::string
wrapper_marker(const std::string& token)
{
  return std::string(k_wrapper_marker_name) + "=" + token;
}

CgroupProbe
probe_cgroup()
{
  auto probe = cgroup::probe();
  return CgroupProbe{probe.base, probe.note};
}

namespace detail {

namespace {

// True when `pid` carries another run's marker: the subtree it heads is another task's, or another
// wrapper's (a task that runs `spmi start` hands the new wrapper over to us when it exits).
bool
foreign(pid_t pid, const std::string& token, const std::string& proc_root)
{
  for (const char* marker : {k_task_marker_name, k_wrapper_marker_name}) {
    const auto value = environ_value(pid, std::string(marker) + "=", proc_root);
    if (value && *value != token) {
      return true;
    }
  }
  return false;
}

} // namespace

std::vector<pid_t>
group_members(const GroupSpec& spec, const std::map<pid_t, ProcInfo>& procs,
              const std::multimap<pid_t, pid_t>& children, const std::string& proc_root)
{
  const pid_t self = ::getpid();
  std::set<pid_t> members;
  if (!spec.cgroup.empty()) {
    for (pid_t pid : cgroup::procs(spec.cgroup)) {
      if (procs.count(pid)) {
        members.insert(pid);
      }
    }
  } else {
    // Below the wrapper: orphans come back to it (a subreaper). The task's own session is checked
    // for markers only where it could hold another run (processes outside that session).
    std::vector<pid_t> queue;
    if (spec.supervisor > 0 && procs.count(spec.supervisor)) {
      queue.push_back(spec.supervisor);
    }
    while (!queue.empty()) {
      const pid_t parent = queue.back();
      queue.pop_back();
      auto [begin, end] = children.equal_range(parent);
      for (auto it = begin; it != end; ++it) {
        const pid_t pid = it->second;
        const auto& info = procs.at(pid);
        if (pid == spec.watchdog ||
            ((spec.main_pid <= 0 || info.session != spec.main_pid) && !spec.token.empty() &&
             foreign(pid, spec.token, proc_root))) {
          continue;
        }
        members.insert(pid);
        queue.push_back(pid);
      }
    }
    for (const auto& [pid, info] : procs) {
      if (spec.main_pid > 1 && (info.session == spec.main_pid || info.pgrp == spec.main_pid)) {
        members.insert(pid);
      } else if (spec.include_marked && !spec.token.empty() &&
                 environ_value(pid, task_marker(""), proc_root) == spec.token) {
        members.insert(pid);
      }
    }
  }
  for (pid_t never : {self, spec.supervisor, spec.watchdog}) {
    members.erase(never);
  }
  return {members.begin(), members.end()};
}

} // namespace detail

TaskGroup::TaskGroup(fs::path cgroup, std::string token, pid_t supervisor, pid_t watchdog, pid_t main_pid,
                     fs::path origin)
  : m_cgroup(std::move(cgroup)), m_origin(std::move(origin)), m_token(std::move(token)), m_supervisor(supervisor),
    m_watchdog(watchdog), m_main(main_pid)
{
  if (!m_cgroup.empty()) {
    m_base = m_cgroup.parent_path().parent_path();  // <base>/<name>/task
  }
}

namespace {

// Removes the empty directories earlier runs of the same manageable left (all of a run's processes were
// SIGKILLed at once: a wrapper and its watchdog killed together, or a simulated reboot), as systemd's
// cg_trim does; a populated one stays (rmdir says EBUSY). Only runs of this ID are looked at (another
// store may have a manageable of the same ID: its live runs have a wrapper in supervisor/).
void
trim_stale(const fs::path& base, const std::string& name, const std::string& prefix)
{
  std::error_code ec;
  for (fs::directory_iterator it(base, ec), end; !ec && it != end; it.increment(ec)) {
    const auto entry = it->path().filename().string();
    // "<prefix><digits>-<digits>" (a token) only: "web-2-<token>" is another manageable's.
    const auto rest = entry.size() > prefix.size() ? entry.substr(prefix.size()) : std::string();
    const auto dash = rest.find('-');
    const auto digits = [](const std::string& t) {
      return !t.empty() && t.find_first_not_of("0123456789") == std::string::npos;
    };
    if (entry.rfind(prefix, 0) != 0 || entry == cgroup::escape(name) || dash == std::string::npos ||
        !digits(rest.substr(0, dash)) || !digits(rest.substr(dash + 1))) {
      continue;
    }
    // Not one made in the last minute (the token starts with its time in ns): its wrapper may be moving
    // in. Then supervisor/ first: while a wrapper or watchdog is in it, the run lives and stays whole.
    const auto made = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::nanoseconds(std::strtoll(rest.substr(0, dash).c_str(), nullptr, 10))));
    if (std::chrono::system_clock::now() - made < std::chrono::minutes(1) ||
        (::rmdir((it->path() / "supervisor").c_str()) != 0 && errno != ENOENT)) {
      continue;
    }
    ::rmdir((it->path() / "task").c_str());
    ::rmdir(it->path().c_str());
  }
}

} // namespace

TaskGroup
TaskGroup::create(const std::string& name, const std::string& token)
{
  TaskGroup group;
  group.m_token = token;
  group.m_supervisor = ::getpid();
  const auto probe = cgroup::probe();
  if (probe.base.empty()) {
    group.m_note = probe.note;
    return group;
  }
  const fs::path unit = probe.base / cgroup::escape(name);
  trim_stale(probe.base, name, cgroup::escape(name.substr(0, name.size() - token.size())));
  std::string error;
  const auto origin = cgroup::own_path(0);
  const fs::path origin_dir = probe.mount.empty() || origin.empty() ? fs::path() : probe.mount / fs::path(origin).relative_path();
  if (cgroup::make_dir(probe.base, error) && cgroup::make_dir(unit, error) && cgroup::make_dir(unit / "supervisor", error) &&
      cgroup::make_dir(unit / "task", error)) {
    group.m_procs_fd.reset(::open((unit / "task" / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
    group.m_task_dir.reset(::open((unit / "task").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (origin_dir != unit / "supervisor") {  // else already there: a wrapper its watchdog started
      group.m_supervisor_dir.reset(::open((unit / "supervisor").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    }
    if (group.m_procs_fd && group.m_task_dir && (group.m_supervisor_dir || origin_dir == unit / "supervisor")) {
      group.m_cgroup = unit / "task";
      // Where to go back before removing the run's directories: where we came from, or the base when
      // we came from our own supervisor/ (a wrapper that replaced a killed one).
      group.m_origin = origin_dir.empty() || origin_dir == unit / "supervisor" ? probe.base : origin_dir;
      group.m_base = probe.base;
      group.m_note = probe.note;
      // Started by another run's task (which ran `spmi start`): out of that run's cgroups before its
      // start is recorded, so that run's end never counts this wrapper among its leftovers.
      const auto inside = origin_dir.lexically_normal().lexically_relative(probe.base.lexically_normal());
      const bool below_base = !origin_dir.empty() && !inside.empty() && inside != "." && *inside.begin() != "..";
      if (!below_base || (error = group.join()).empty()) {
        return group;
      }
      group.m_cgroup.clear();
      errno = 0;
    }
    error = error.empty() ? fmt::format("cannot open {}: {}", unit.string(), std::strerror(errno)) : error;
    group.m_procs_fd.reset();
    group.m_task_dir.reset();
    group.m_supervisor_dir.reset();
  }
  for (const auto& dir : {unit / "task", unit / "supervisor", unit}) {
    ::rmdir(dir.c_str());
  }
  group.m_note = error;
  return group;
}

std::string
TaskGroup::join()
{
  if (!m_supervisor_dir) {
    return {};
  }
  const auto procs = m_cgroup.parent_path() / "supervisor" / "cgroup.procs";
  m_supervisor_dir.reset();
  std::string error;
  return cgroup::write_text(procs, std::to_string(::getpid()), &error) ? std::string() : error;
}

namespace {

// What group_members() needs of /proc: in a cgroup, its processes only (a whole scan of a busy host's
// thousands of processes costs milliseconds, each time an ending looks); else every process.
std::map<pid_t, detail::ProcInfo>
procs_to_look_at(const fs::path& cgroup)
{
  if (cgroup.empty()) {
    return detail::scan_proc();
  }
  std::map<pid_t, detail::ProcInfo> procs;
  for (pid_t pid : cgroup::procs(cgroup)) {
    if (auto info = detail::read_proc(pid)) {
      procs.emplace(pid, *info);
    }
  }
  return procs;
}

} // namespace

std::vector<pid_t>
TaskGroup::members() const
{
  const auto procs = procs_to_look_at(m_cgroup);
  const detail::GroupSpec spec{m_cgroup.string(), m_token, m_supervisor, m_watchdog, m_main, m_include_marked};
  return detail::group_members(spec, procs, detail::children_of(procs), "/proc");
}

std::uint64_t
TaskGroup::memory_bytes() const
{
  if (!m_cgroup.empty()) {
    if (const auto used = cgroup::unreclaimable_memory_bytes(m_cgroup)) {
      return *used;
    }
  }
  const auto procs = procs_to_look_at(m_cgroup);
  const detail::GroupSpec spec{m_cgroup.string(), m_token, m_supervisor, m_watchdog, m_main, m_include_marked};
  const auto page_size = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  std::uint64_t total = 0;
  for (pid_t pid : detail::group_members(spec, procs, detail::children_of(procs), "/proc")) {
    total += static_cast<std::uint64_t>(std::max(0L, procs.at(pid).rss_pages)) * page_size;
  }
  return total;
}

bool
TaskGroup::empty() const
{
  if (!m_cgroup.empty()) {
    return !cgroup::populated(m_cgroup);
  }
  return members().empty();
}

std::size_t
TaskGroup::signal(int signo) const
{
  const auto pids = members();
  for (pid_t pid : pids) {
    ::kill(pid, signo);
  }
  // A stopped process would not see an ending signal until continued (systemd does the same).
  if (signo == SIGTERM || signo == SIGINT || signo == SIGHUP || signo == SIGQUIT) {
    for (pid_t pid : pids) {
      ::kill(pid, SIGCONT);
    }
  }
  return pids.size();
}

bool
TaskGroup::kill(std::chrono::milliseconds timeout) const
{
  // cgroup.kill deals with concurrent forks itself; the loop is for kernels before 5.14 and the fallback.
  // Without a cgroup, a process SIGKILLed is done only once it is gone or a zombie: while it exits, its
  // environment (the marker) can no longer be read, so a scan alone would miss it (pid -> start time).
  std::map<pid_t, unsigned long long> killed;
  auto round = [&] {
    if (m_cgroup.empty() || !cgroup::kill_all(m_cgroup)) {
      for (pid_t pid : members()) {
        ::kill(pid, SIGKILL);
        if (const auto info = detail::read_proc(pid)) {
          killed.emplace(pid, info->start_ticks);
        }
      }
    }
  };
  auto all_exited = [&] {
    for (auto it = killed.begin(); it != killed.end();) {
      const auto info = detail::read_proc(it->first);
      it = !info || info->start_ticks != it->second ? killed.erase(it) : std::next(it);
    }
    return killed.empty();
  };
  round();
  return wait_until(
    [&] {
      if (empty() && all_exited()) {
        return true;
      }
      round();
      return false;
    },
    timeout, std::chrono::microseconds(20000));
}

void
TaskGroup::remove() const
{
  if (m_cgroup.empty()) {
    return;
  }
  const fs::path unit = m_cgroup.parent_path();
  // Back where we came from (gone, when that was another task's cgroup: then the base), so that
  // supervisor/ can be removed.
  if (cgroup::own_path(0).find(unit.filename().string()) != std::string::npos &&
      !cgroup::write_text(m_origin / "cgroup.procs", std::to_string(::getpid())) && !m_base.empty()) {
    cgroup::write_text(m_base / "cgroup.procs", std::to_string(::getpid()));
  }
  for (const auto& dir : {m_cgroup, unit / "supervisor", unit}) {
    ::rmdir(dir.c_str());  // EBUSY (still populated) or ENOENT: left for later, as systemd's cg_trim
  }
}

TaskGroup::TaskGroup(TaskGroup&& other) noexcept = default;
TaskGroup& TaskGroup::operator=(TaskGroup&& other) noexcept = default;
TaskGroup::~TaskGroup() = default;

std::vector<ProcessInfo>
describe_processes(const std::vector<pid_t>& pids)
{
  std::vector<ProcessInfo> result;
  for (pid_t pid : pids) {
    auto command = detail::read_proc(pid) ? detail::read_cmdline(pid) : std::nullopt;
    if (!command) {
      continue;
    }
    std::string data = std::move(*command);
    if (data.size() > 80) {
      data = data.substr(0, 77) + "...";
    }
    result.push_back({pid, data.empty() ? "?" : data});
  }
  return result;
}

std::string
processes_text(const std::vector<ProcessInfo>& processes)
{
  std::string text;
  for (const auto& p : processes) {
    text += fmt::format("{}{} ({})", text.empty() ? "" : ", ", p.pid, p.command);
  }
  return text;
}

} // namespace spmi::process

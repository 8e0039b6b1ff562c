// SPDX-License-Identifier: MIT
// cgroup v2: finding a writable hierarchy, making a run's directories, reading and ending members.
#include "cgroup.hpp"

#include <spmi/unique_fd.hpp>

#include "proc_scan.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

namespace spmi::process::cgroup {

namespace fs = std::filesystem;

namespace {

// The lines of a small /proc or cgroup file, without their newlines. Not std::istringstream: a stream
// sets up the C++ locale, a page of written static data in every lean supervisor.
std::vector<std::string_view>
lines_of(std::string_view data)
{
  std::vector<std::string_view> lines;
  while (!data.empty()) {
    const auto end = data.find('\n');
    lines.push_back(data.substr(0, end));
    data.remove_prefix(end == std::string_view::npos ? data.size() : end + 1);
  }
  return lines;
}

// The `index`th (from 0) of the space-separated fields of `line`; empty when there are fewer.
std::string_view
field(std::string_view line, std::size_t index)
{
  std::size_t at = 0;
  for (std::size_t i = 0; i < index; ++i) {
    at = line.find(' ', at);
    if (at == std::string_view::npos) {
      return {};
    }
    ++at;
  }
  return line.substr(at, line.find(' ', at) - at);
}

} // namespace

bool
is_cgroup2(const fs::path& path)
{
  struct statfs st {};
  return ::statfs(path.c_str(), &st) == 0 && static_cast<unsigned long>(st.f_type) == CGROUP2_SUPER_MAGIC;
}

fs::path
find_mount()
{
  // Unified hosts mount it at /sys/fs/cgroup; hybrid ones (v1 controllers) at /sys/fs/cgroup/unified.
  for (const char* candidate : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    if (is_cgroup2(candidate)) {
      return candidate;
    }
  }
  // Elsewhere: the first cgroup2 mount in mountinfo ("... - cgroup2 source options").
  std::string data;
  if (!detail::read_small_file("/proc/self/mountinfo", data)) {
    return {};
  }
  for (const auto line : lines_of(data)) {
    if (line.find(" - cgroup2 ") == std::string_view::npos) {
      continue;
    }
    const auto mount_point = std::string(field(line, 4));  // id parent devno root mount-point ...
    if (!mount_point.empty() && is_cgroup2(mount_point)) {
      return mount_point;
    }
  }
  return {};
}

std::string
own_path(pid_t pid)
{
  std::string data;
  if (!detail::read_small_file(pid > 0 ? fmt::format("/proc/{}/cgroup", pid) : "/proc/self/cgroup", data)) {
    return {};
  }
  for (const auto line : lines_of(data)) {
    if (line.rfind("0::", 0) == 0) {
      auto path = std::string(line.substr(3));
      if (const auto deleted = path.find(" (deleted)"); deleted != std::string::npos) {
        path.erase(deleted);
      }
      return path;
    }
  }
  return {};
}

Probe
probe(bool honour_forced)
{
  Probe result;
  const char* forced = std::getenv("SPMI_MEMBERSHIP");
  if (honour_forced && forced && std::string_view(forced) == "fallback") {
    result.note = "SPMI_MEMBERSHIP=fallback is set";
    return result;
  }
  const fs::path mount = find_mount();
  if (const char* base = std::getenv("SPMI_CGROUP_BASE"); base && *base) {
    const fs::path path(base);
    if (!path.is_absolute()) {
      result.note = fmt::format("SPMI_CGROUP_BASE={} is not an absolute path", base);
    } else if (!is_cgroup2(path.parent_path()) && !is_cgroup2(path)) {
      result.note = fmt::format("SPMI_CGROUP_BASE={} is not in a cgroup v2 hierarchy", base);
    } else {
      result.base = path;
      result.mount = mount;
      result.note = fmt::format("cgroup v2, base {} (SPMI_CGROUP_BASE)", base);
    }
    return result;
  }
  if (mount.empty()) {
    result.note = "no cgroup v2 hierarchy is mounted";
    return result;
  }
  result.mount = mount;
  if (::geteuid() == 0) {
    if (::access(mount.c_str(), W_OK) != 0) {
      result.note = fmt::format("{} is not writable ({})", mount.string(), std::strerror(errno));
      return result;
    }
    result.base = mount / "spmi";
    result.note = fmt::format("cgroup v2, base {}", result.base.string());
    return result;
  }
  // A user: only inside a subtree delegated to us (systemd's Delegate=, `systemd-run --user --scope`).
  const auto own = own_path(0);
  const fs::path dir = mount / fs::path(own).relative_path();
  if (own.empty() || ::access(dir.c_str(), W_OK) != 0 || ::access((dir / "cgroup.procs").c_str(), W_OK) != 0) {
    result.note = fmt::format("this user can't write its cgroup {} (not delegated; run spmi under "
                              "`systemd-run --user --scope -p Delegate=yes` to use cgroups)",
                              own.empty() ? "(unknown)" : own);
    return result;
  }
  result.base = dir;
  result.note = fmt::format("cgroup v2, delegated base {}", dir.string());
  return result;
}

std::string
escape(const std::string& name)
{
  // Names share their directory with the interface files: never one that looks like them.
  if (name.empty() || name[0] == '.' || name[0] == '_' || name.rfind("cgroup.", 0) == 0 ||
      name.find('.') != std::string::npos) {
    std::string safe = "_" + name;
    for (auto& c : safe) {
      if (c == '.') {
        c = '_';
      }
    }
    return safe;
  }
  return name;
}

bool
make_dir(const fs::path& path, std::string& error)
{
  if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) {
    return true;
  }
  error = fmt::format("cannot create {}: {}", path.string(), std::strerror(errno));
  return false;
}

bool
write_text(const fs::path& path, const std::string& text, std::string* error)
{
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  const bool ok = fd && ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int saved = errno;
  if (!ok && error) {
    *error = fmt::format("cannot write {}: {}", path.string(), std::strerror(saved));
  }
  return ok;
}

std::vector<pid_t>
procs(const fs::path& cgroup)
{
  std::vector<pid_t> result;
  std::string data;
  if (!detail::read_small_file((cgroup / "cgroup.procs").string(), data)) {
    return result;
  }
  for (const auto line : lines_of(data)) {
    const long pid = std::strtol(std::string(line).c_str(), nullptr, 10);
    if (pid > 0) {  // 0: a pid not visible in our namespace
      result.push_back(static_cast<pid_t>(pid));
    }
  }
  return result;
}

bool
populated(const fs::path& cgroup)
{
  std::string data;
  if (!detail::read_small_file((cgroup / "cgroup.events").string(), data)) {
    return false;  // removed: nothing can be in it
  }
  return data.find("populated 1") != std::string::npos;
}

bool
kill_all(const fs::path& cgroup)
{
  return write_text(cgroup / "cgroup.kill", "1");
}

std::optional<double>
cpu_seconds(const fs::path& cgroup)
{
  std::string data;
  if (!detail::read_small_file((cgroup / "cpu.stat").string(), data)) {
    return std::nullopt;
  }
  const auto at = data.find("usage_usec ");
  if (at == std::string::npos) {
    return std::nullopt;
  }
  return std::strtod(data.c_str() + at + 11, nullptr) / 1e6;
}

std::optional<std::uint64_t>
memory_bytes(const fs::path& cgroup)
{
  std::string data;
  if (!detail::read_small_file((cgroup / "memory.current").string(), data)) {
    return std::nullopt;  // hybrid hosts: no memory controller in the v2 tree
  }
  return std::strtoull(data.c_str(), nullptr, 10);
}

std::optional<std::uint64_t>
unreclaimable_memory_bytes(const fs::path& cgroup)
{
  const auto current = memory_bytes(cgroup);
  std::string data;
  if (!current || !detail::read_small_file((cgroup / "memory.stat").string(), data)) {
    return current;
  }
  // "file N" is the first line of memory.stat; a line of its own in any case.
  const auto at = data.rfind("file ", 0) == 0 ? 0 : data.find("\nfile ");
  if (at == std::string::npos) {
    return current;
  }
  const auto file = std::strtoull(data.c_str() + at + (at == 0 ? 5 : 6), nullptr, 10);
  return *current > file ? *current - file : 0;
}

} // namespace spmi::process::cgroup

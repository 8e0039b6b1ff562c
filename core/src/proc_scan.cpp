// SPDX-License-Identifier: MIT
// The one reader of /proc (see proc_scan.hpp).
#include "proc_scan.hpp"

#include <spmi/unique_fd.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace spmi::process::detail {

namespace {

// The number `name` spells when it is a whole positive decimal number (a pid or descriptor entry).
std::optional<long>
entry_number(const char* name)
{
  if (name[0] < '0' || name[0] > '9') {
    return std::nullopt;
  }
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(name, &end, 10);
  if (*end != '\0' || errno != 0 || value < 0) {
    return std::nullopt;
  }
  return value;
}

// The numeric entries of the directory `path`; nullopt (errno set) when it can't be listed.
std::optional<std::vector<long>>
numeric_entries(const std::string& path)
{
  DIR* dir = ::opendir(path.c_str());
  if (!dir) {
    return std::nullopt;
  }
  std::vector<long> result;
  while (const dirent* entry = ::readdir(dir)) {
    if (const auto number = entry_number(entry->d_name)) {
      result.push_back(*number);
    }
  }
  ::closedir(dir);
  return result;
}

} // namespace

std::string
proc_path(pid_t pid, const std::string& what, const std::string& proc_root)
{
  return proc_root + "/" + std::to_string(pid) + "/" + what;
}

bool
read_small_file(const std::string& path, std::string& data)
{
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return false;
  }
  data.clear();
  char buffer[4096];
  ssize_t n;
  while (data.size() < 1024 * 1024 && ((n = ::read(fd.get(), buffer, sizeof(buffer))) > 0 || (n < 0 && errno == EINTR))) {
    if (n > 0) {
      data.append(buffer, static_cast<std::size_t>(n));
    }
  }
  return true;
}

std::optional<std::string>
environ_value(const std::string& environ_path, const std::string& name)
{
  std::string data;
  if (!read_small_file(environ_path, data)) {
    return std::nullopt;
  }
  for (std::size_t start = 0; start < data.size();) {
    const auto end = data.find('\0', start);
    const auto length = (end == std::string::npos ? data.size() : end) - start;
    if (length >= name.size() && data.compare(start, name.size(), name) == 0) {
      return data.substr(start + name.size(), length - name.size());
    }
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
  }
  return std::nullopt;
}

std::optional<std::string>
environ_value(pid_t pid, const std::string& name, const std::string& proc_root)
{
  if (pid <= 0) {
    return std::nullopt;
  }
  return environ_value(proc_path(pid, "environ", proc_root), name);
}

bool
has_environ_entry(pid_t pid, const std::string& entry, const std::string& proc_root)
{
  const auto eq = entry.find('=');
  if (eq == std::string::npos) {
    return false;
  }
  return environ_value(pid, entry.substr(0, eq + 1), proc_root) == entry.substr(eq + 1);
}

std::optional<std::string>
read_cmdline(pid_t pid, const std::string& proc_root)
{
  std::string data;
  if (pid <= 0 || !read_small_file(proc_path(pid, "cmdline", proc_root), data)) {
    return std::nullopt;
  }
  for (char& c : data) {
    if (c == '\0') {
      c = ' ';
    }
  }
  while (!data.empty() && data.back() == ' ') {
    data.pop_back();
  }
  return data;
}

std::optional<std::vector<int>>
list_fds(pid_t pid, const std::string& proc_root)
{
  const auto entries = numeric_entries(proc_path(pid, "fd", proc_root));
  if (!entries) {
    return std::nullopt;
  }
  return std::vector<int>(entries->begin(), entries->end());
}

// "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime
// cstime priority nice threads itrealvalue starttime vsize rss ...": comm may hold spaces and
// parentheses, so the fields are read after the last ')'.
std::optional<ProcInfo>
parse_stat(pid_t pid, std::string_view line)
{
  const auto paren = line.rfind(')');
  if (paren == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string fields(line.substr(paren + 1));
  ProcInfo info;
  info.pid = pid;
  int ppid = 0;
  int pgrp = 0;
  int session = 0;
  unsigned long utime = 0;
  unsigned long stime = 0;
  if (std::sscanf(fields.c_str(), " %c %d %d %d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d %llu %*u %ld",
                  &info.state, &ppid, &pgrp, &session, &utime, &stime, &info.start_ticks, &info.rss_pages) != 8) {
    return std::nullopt;
  }
  info.ppid = ppid;
  info.pgrp = pgrp;
  info.session = session;
  info.cpu_ticks = static_cast<unsigned long long>(utime) + stime;
  return info;
}

std::optional<ProcInfo>
read_stat(pid_t pid, const std::string& proc_root)
{
  std::string data;
  if (pid <= 0 || !read_small_file(proc_path(pid, "stat", proc_root), data)) {
    return std::nullopt;
  }
  return parse_stat(pid, data);
}

std::optional<ProcInfo>
read_proc(pid_t pid, const std::string& proc_root)
{
  auto info = read_stat(pid, proc_root);
  if (info && info->ended()) {
    return std::nullopt;
  }
  return info;
}

std::vector<pid_t>
list_pids(const std::string& proc_root)
{
  std::vector<pid_t> result;
  for (long number : numeric_entries(proc_root).value_or(std::vector<long>{})) {
    if (number > 0) {
      result.push_back(static_cast<pid_t>(number));
    }
  }
  return result;
}

std::map<pid_t, ProcInfo>
scan_proc(const std::string& proc_root)
{
  std::map<pid_t, ProcInfo> result;
  for (pid_t pid : list_pids(proc_root)) {
    if (auto info = read_proc(pid, proc_root)) {
      result.emplace(pid, *info);
    }
  }
  return result;
}

std::multimap<pid_t, pid_t>
children_of(const std::map<pid_t, ProcInfo>& procs)
{
  std::multimap<pid_t, pid_t> children;
  for (const auto& [pid, info] : procs) {
    children.emplace(info.ppid, pid);
  }
  return children;
}

} // namespace spmi::process::detail

// SPDX-License-Identifier: MIT
#include "proc_scan.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace spmi::process::detail {

bool
read_small_file(const std::string& path, std::string& data)
{
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  data.clear();
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0 && data.size() < 1024 * 1024) {
    data.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
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

namespace {

// Parses "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses, so the fields
// are read after the last ')'.
std::optional<ProcInfo>
parse_stat(pid_t pid, const std::string& data)
{
  const auto paren = data.rfind(')');
  if (paren == std::string::npos) {
    return std::nullopt;
  }
  ProcInfo info;
  info.pid = pid;
  char state = 0;
  int ppid = 0;
  int pgrp = 0;
  int session = 0;
  unsigned long utime = 0;
  unsigned long stime = 0;
  if (std::sscanf(data.c_str() + paren + 1,
                  " %c %d %d %d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d %llu %*u %ld", &state,
                  &ppid, &pgrp, &session, &utime, &stime, &info.start_ticks, &info.rss_pages) != 8 ||
      state == 'Z' || state == 'X') {
    return std::nullopt;
  }
  info.ppid = ppid;
  info.pgrp = pgrp;
  info.session = session;
  info.cpu_ticks = static_cast<unsigned long long>(utime) + stime;
  return info;
}

} // namespace

std::optional<ProcInfo>
read_proc(pid_t pid, const std::string& proc_root)
{
  std::string data;
  if (pid <= 0 || !read_small_file(proc_root + "/" + std::to_string(pid) + "/stat", data)) {
    return std::nullopt;
  }
  return parse_stat(pid, data);
}

std::map<pid_t, ProcInfo>
scan_proc(const std::string& proc_root)
{
  std::map<pid_t, ProcInfo> result;
  DIR* proc = ::opendir(proc_root.c_str());
  if (!proc) {
    return result;
  }
  std::string data;
  while (const dirent* entry = ::readdir(proc)) {
    const char* name = entry->d_name;
    if (name[0] < '1' || name[0] > '9') {
      continue;
    }
    if (!read_small_file(proc_root + "/" + name + "/stat", data)) {
      continue;  // gone meanwhile
    }
    const auto pid = static_cast<pid_t>(std::atoi(name));
    if (auto info = parse_stat(pid, data)) {
      result.emplace(pid, *info);
    }
  }
  ::closedir(proc);
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

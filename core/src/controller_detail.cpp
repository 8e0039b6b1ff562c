// SPDX-License-Identifier: MIT
// The helpers the Controller's files share (controller_detail.hpp).
#include "controller_detail.hpp"

#include <spmi/membership.hpp>
#include <spmi/recorded.hpp>

#include <fmt/format.h>

#include <spmi/unique_fd.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>

namespace spmi::detail {

namespace fs = std::filesystem;

std::string
seconds_text(std::chrono::milliseconds duration)
{
  return fmt::format("{:g} s", static_cast<double>(duration.count()) / 1000.0);
}

// Which backend made `launch`: its type and recorded settings, as a key of Controller::m_backends.
std::string
launch_backend_key(const LaunchRecord& launch)
{
  return launch.backend_type + '\n' + (launch.backend_settings.is_object() ? launch.backend_settings.dump() : "");
}

// How many manageables a batch of start_all/end_all may hold: k_batch, or fewer when the limit of open
// files is low (each pending one holds its lock open; half the room left is kept for everything else).
std::size_t
batch_size(std::size_t most)
{
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return most;
  }
  const auto room = limit.rlim_cur > 64 ? (limit.rlim_cur - 64) / 2 : 1;
  return std::max<std::size_t>(1, std::min<std::size_t>(most, room));
}

bool
sync_file_systems(const std::vector<fs::path>& dirs)
{
  std::set<dev_t> synced;
  for (const auto& dir : dirs) {
    struct ::stat st {};
    const UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0) {
      return false;
    }
    if (synced.insert(st.st_dev).second && ::syncfs(fd.get()) != 0) {
      return false;
    }
  }
  return true;
}

std::vector<process::ProcessInfo>
leftover_processes(const std::string& id, const RunRecord& run, std::string& distrust)
{
  if (run.membership.empty() ||
      (run.cgroup.empty() && run.finished_at && run.error.find("survived") == std::string::npos)) {
    return {};
  }
  const auto cgroup = process::trusted_cgroup(id, run, &distrust);
  if (!distrust.empty()) {
    return {};
  }
  // The wrapper and its watchdog are gone: their pids may belong to others now, so they name nothing.
  process::TaskGroup group(cgroup, run.token, 0, 0, static_cast<pid_t>(run.pid));
  group.set_include_marked(true);
  if (!run.cgroup.empty() && group.empty()) {
    return {};
  }
  return process::describe_processes(group.members());
}

std::string
disk_full_text(const fs::path& dir, std::uint64_t free)
{
  const auto room = free >= k_full_disk_bytes ? std::string("no free inode") : fmt::format("{} bytes free", free);
  return fmt::format("the file system holding {} is full ({})", dir.string(), room);
}

} // namespace spmi::detail

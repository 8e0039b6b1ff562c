// SPDX-License-Identifier: MIT
// OutputFollower: a task's output file followed by its name, across rotation and truncation (see
// follow.hpp).
#include <spmi/errors.hpp>
#include <spmi/follow.hpp>
#include <spmi/text.hpp>

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <utility>

namespace spmi {

OutputFollower::OutputFollower(ManageableDir dir, std::string name) : m_dir(std::move(dir)), m_name(std::move(name)) {}

UniqueFd
OutputFollower::open_named() const
{
  return UniqueFd(m_dir.open_file(m_name, O_RDONLY));
}

void
OutputFollower::adopt(UniqueFd fd, off_t offset)
{
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    throw_errno("cannot stat " + (m_dir.path() / m_name).string());
  }
  m_fd = std::move(fd);
  m_dev = st.st_dev;
  m_ino = st.st_ino;
  m_offset = offset;
}

bool
OutputFollower::start_at_tail_bytes(off_t backlog)
{
  UniqueFd fd = open_named();
  if (!fd) {
    if (errno == ENOENT) {
      return false;
    }
    throw_errno("cannot open " + (m_dir.path() / m_name).string());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    throw_errno("cannot stat " + (m_dir.path() / m_name).string());
  }
  adopt(std::move(fd), st.st_size > backlog ? st.st_size - backlog : 0);
  return true;
}

bool
OutputFollower::start_at_tail_lines(std::size_t lines)
{
  if (!start_at_tail_bytes(0)) {
    return false;
  }
  m_offset = tail_offset(m_fd.get(), m_offset, lines);
  return true;
}

std::size_t
OutputFollower::drain(const Sink& sink, std::size_t limit)
{
  struct stat st {};
  if (::fstat(m_fd.get(), &st) == 0 && st.st_size < m_offset) {
    m_offset = 0;  // truncated: what is there now was written after, so all of it is new
  }
  std::size_t total = 0;
  char buffer[65536];
  while (total < limit) {
    const ssize_t n = ::pread(m_fd.get(), buffer, std::min(sizeof(buffer), limit - total), m_offset);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("cannot read " + (m_dir.path() / m_name).string());
    }
    if (n == 0) {
      return total;
    }
    m_offset += n;
    total += static_cast<std::size_t>(n);
    sink(buffer, static_cast<std::size_t>(n));
  }
  return total;
}

std::size_t
OutputFollower::pump(const Sink& sink)
{
  return pump(sink, std::numeric_limits<std::size_t>::max());
}

std::size_t
OutputFollower::pump(const Sink& sink, std::size_t limit)
{
  std::size_t total = 0;
  if (!m_fd) {
    UniqueFd fd = open_named();
    if (!fd) {
      return 0;  // not there yet (or between a rotation's rename and the new file)
    }
    adopt(std::move(fd), 0);  // it appeared after we started: all of it is new
  }
  total += drain(sink, limit);
  if (total >= limit) {
    return total;  // more to read: the next call goes on (and then looks for a rotation)
  }
  // The name now belongs to another file (rotated, or made anew by a restart): the rest of the old one
  // first, since the writer may have added to it between our read and its rename, then the new one.
  struct stat named {};
  if (m_dir.stat_file(m_name, named) && (named.st_ino != m_ino || named.st_dev != m_dev)) {
    if (UniqueFd next = open_named()) {
      total += drain(sink, limit - total);
      if (total >= limit) {
        return total;  // the old file may have more: switch at a later call
      }
      adopt(std::move(next), 0);
      total += drain(sink, limit - total);
    }
  }
  return total;
}

std::uint64_t
OutputFollower::lag() const
{
  struct stat st {};
  if (!m_fd || ::fstat(m_fd.get(), &st) != 0 || st.st_size <= m_offset) {
    return 0;
  }
  return static_cast<std::uint64_t>(st.st_size - m_offset);
}

std::uint64_t
OutputFollower::skip_to_end()
{
  const auto skipped = lag();
  m_offset += static_cast<off_t>(skipped);
  return skipped;
}

int
OutputFollower::change_fd()
{
  if (!m_watch_tried) {
    m_watch_tried = true;
    m_watch.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (m_watch && ::inotify_add_watch(m_watch.get(), m_dir.path().c_str(),
                                       IN_MODIFY | IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE |
                                         IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
      m_watch.reset();
    }
  }
  return m_watch.get();
}

void
OutputFollower::clear_changes()
{
  char events[4096];
  while (m_watch && ::read(m_watch.get(), events, sizeof(events)) > 0) {
  }
}

} // namespace spmi

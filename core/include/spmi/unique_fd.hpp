// SPDX-License-Identifier: MIT
/// \file
/// UniqueFd: the one owner of a file descriptor in spmi, for the core, the CLI and plugins alike. A
/// descriptor that is opened is put into one at once, so it is closed on every path, an exception's
/// included; code that hands a descriptor on (to a child, to a caller) says so with release().
#pragma once

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace spmi {

/// A file descriptor closed when its owner goes: move-only, like std::unique_ptr. -1 means none.
/// Closing ignores errors (the descriptor is gone either way); code that must know whether buffered
/// data reached the file (a write then close) calls close() and checks it.
class UniqueFd
{
public:
  /// Owns nothing.
  UniqueFd() noexcept = default;
  /// Takes over `fd` (-1 or any negative value: nothing).
  explicit UniqueFd(int fd) noexcept : m_fd(fd < 0 ? -1 : fd) {}
  /// Closes the descriptor owned, if any.
  ~UniqueFd() { reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  /// Takes over what `other` owned; `other` owns nothing afterwards.
  UniqueFd(UniqueFd&& other) noexcept : m_fd(other.release()) {}
  /// Closes what this owned, then takes over what `other` owned.
  UniqueFd& operator=(UniqueFd&& other) noexcept
  {
    if (this != &other) {
      reset(other.release());
    }
    return *this;
  }

  /// The descriptor (-1 when none); still owned by this.
  int get() const noexcept { return m_fd; }
  /// True when a descriptor is owned.
  explicit operator bool() const noexcept { return m_fd >= 0; }
  /// Gives the descriptor up without closing it (the caller owns it now); -1 when none.
  int release() noexcept { return std::exchange(m_fd, -1); }
  /// Closes the descriptor owned, if any, then owns `fd`. errno is kept as it was, so a caller can
  /// drop a descriptor on an error path and still report the error.
  void reset(int fd = -1) noexcept
  {
    const int old = std::exchange(m_fd, fd < 0 ? -1 : fd);
    if (old >= 0) {
      const int saved = errno;
      ::close(old);
      errno = saved;
    }
  }
  /// Closes the descriptor now and says whether close() succeeded (errno set when not); true when
  /// none was owned. For a file written to, where a failed close can mean lost data.
  bool close() noexcept
  {
    const int old = release();
    return old < 0 || ::close(old) == 0;
  }

private:
  int m_fd = -1;
};

} // namespace spmi

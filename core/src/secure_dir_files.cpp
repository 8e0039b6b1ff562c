// SPDX-License-Identifier: MIT
// SecureDir's files: each opened relative to its verified directory and checked on its descriptor,
// read, replaced atomically, appended to, removed (see secure_dir.hpp for the rules); and the store's
// small file helpers (listing a directory, reading to the end, unique names).
#include "secure_dir.hpp"
#include "prefault.hpp"

#include <spmi/errors.hpp>

#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <random>

namespace spmi {

namespace fs = std::filesystem;
using strict::unique_suffix;

void
SecureDir::refuse_entry(const std::string& name, FileKind kind) const
{
  struct stat st {};
  if (::fstatat(m_fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    throw StateError(strict::file_problem(m_path / name, st, m_euid, kind));
  }
  throw_errno("cannot open " + (m_path / name).string());
}

int
SecureDir::open_file(const std::string& name, int flags, mode_t mode, FileKind kind) const
{
  // Not blocking on a FIFO (or device) where a regular file belongs: it is refused below instead.
  // O_NONBLOCK means nothing to a regular file, so it is taken off again only from a descriptor that
  // may be handed on (one for writing: a task's output).
  const bool nonblock_added = kind == FileKind::regular && (flags & O_NONBLOCK) == 0;
  const bool writable = (flags & O_ACCMODE) != O_RDONLY;
  const int fd = ::openat(m_fd.get(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | (nonblock_added ? O_NONBLOCK : 0),
                          mode);
  if (fd < 0) {
    const int error = errno;
    const auto path = m_path / name;
    if (const auto problem = strict::entry_problem(m_fd.get(), name, path, error, false, kind, m_euid); !problem.empty()) {
      throw StateError(problem);
    }
    errno = error;
    return -1;
  }
  UniqueFd owned(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw_errno("cannot stat " + (m_path / name).string());
  }
  if (const auto problem = strict::file_problem(m_path / name, st, m_euid, kind); !problem.empty()) {
    throw StateError(problem);
  }
  if (nonblock_added && writable) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  }
  return owned.release();
}

std::optional<std::string>
SecureDir::read(const std::string& name) const
{
  const auto path = m_path / name;
  UniqueFd fd(open_file(name, O_RDONLY, 0, FileKind::regular));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      return std::nullopt;
    }
    throw_errno("cannot read " + path.string());
  }
  return strict::read_all(fd.get(), path);
}

namespace {

// Writes all of `data` to `fd`; false with errno set when it can't.
bool
write_all(int fd, const std::string& data)
{
  std::size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    written += static_cast<std::size_t>(n);
  }
  return true;
}

} // namespace

void
SecureDir::write_atomic(const std::string& name, const std::string& data, bool sync) const
{
  const auto temp = "." + name + ".tmp-" + unique_suffix();
  const auto temp_path = m_path / temp;
  UniqueFd fd(::openat(m_fd.get(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    throw_errno("cannot write " + temp_path.string());
  }
  if (!write_all(fd.get(), data) || (sync && ::fsync(fd.get()) != 0) || !fd.close()) {
    const int saved = errno;
    ::unlinkat(m_fd.get(), temp.c_str(), 0);
    errno = saved;
    throw_errno("cannot write " + temp_path.string());
  }
  if (::renameat(m_fd.get(), temp.c_str(), m_fd.get(), name.c_str()) != 0) {
    const int saved = errno;
    ::unlinkat(m_fd.get(), temp.c_str(), 0);
    errno = saved;
    throw_errno("cannot replace " + (m_path / name).string());
  }
}

void
SecureDir::append(const std::string& name, const std::string& data) const
{
  UniqueFd fd(open_file(name, O_WRONLY | O_CREAT | O_APPEND, 0600, FileKind::regular));
  if (fd.get() < 0 || !write_all(fd.get(), data)) {
    throw_errno("cannot append to " + (m_path / name).string());
  }
}

namespace {

// Removes everything in the directory `fd` (never following a symlink); false with errno on failure.
bool
empty_directory(int fd)
{
  DIR* dir = strict::list_dir(fd);
  if (!dir) {
    return false;
  }
  bool ok = true;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") {
      continue;
    }
    if (::unlinkat(fd, name.c_str(), 0) == 0 || errno == ENOENT) {
      continue;
    }
    if (errno != EISDIR && errno != EPERM) {
      ok = false;
      continue;
    }
    UniqueFd sub(::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (sub.get() < 0 || !empty_directory(sub.get()) || ::unlinkat(fd, name.c_str(), AT_REMOVEDIR) != 0) {
      ok = false;
    }
  }
  const int saved = errno;
  ::closedir(dir);
  errno = saved;
  return ok;
}

} // namespace

void
SecureDir::remove_tree(const std::string& name) const
{
  const auto path = m_path / name;
  if (::unlinkat(m_fd.get(), name.c_str(), 0) == 0 || errno == ENOENT) {
    return;  // a file or a symlink: the entry itself goes, never what it points to
  }
  UniqueFd fd(::openat(m_fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  // A command that opened the directory before it was renamed away may still create a file in it (its
  // lock) while it is emptied: empty it again, a few times, before saying it can't be deleted.
  for (int attempt = 1;; ++attempt) {
    if (fd.get() < 0 || !empty_directory(fd.get())) {
      throw_errno("cannot delete " + path.string());
    }
    if (::unlinkat(m_fd.get(), name.c_str(), AT_REMOVEDIR) == 0) {
      return;
    }
    if (errno != ENOTEMPTY || attempt == 5) {
      throw_errno("cannot delete " + path.string());
    }
  }
}

void
SecureDir::check_entries() const
{
  DIR* dir = strict::list_dir(m_fd.get());
  if (!dir) {
    throw_errno("cannot read " + m_path.string());
  }
  const uid_t euid = m_euid;
  std::string problem;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    struct stat st {};
    if (name == "." || name == ".." || ::fstatat(m_fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      continue;
    }
    if (S_ISLNK(st.st_mode) || st.st_uid != euid) {
      problem = strict::file_problem(m_path / name, st, euid, S_ISFIFO(st.st_mode) ? FileKind::fifo : FileKind::regular);
      break;
    }
  }
  ::closedir(dir);
  if (!problem.empty()) {
    throw StateError(problem);
  }
}

DIR*
strict::list_dir(int fd)
{
  UniqueFd dup_fd(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  DIR* dir = dup_fd ? ::fdopendir(dup_fd.get()) : nullptr;
  if (!dir) {
    return nullptr;  // errno kept by the reset
  }
  dup_fd.release();  // the listing owns it now
  ::rewinddir(dir);  // a dup shares the offset of the verified descriptor: start over
  return dir;
}

std::string
strict::read_all(int fd, const fs::path& path)
{
  std::string result;
  // A regular file is read into a string of its size (a list cache of 10,000 manageables is a megabyte:
  // no copies as it grows, its pages made present at once).
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size < (1LL << 30)) {
    result.reserve(static_cast<std::size_t>(st.st_size) + 1);
    detail::prefault(result.data(), result.capacity());
  }
  char buffer[16384];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("cannot read " + path.string());
    }
    if (n == 0) {
      return result;
    }
    result.append(buffer, static_cast<std::size_t>(n));
  }
}

std::string
strict::unique_suffix()
{
  static std::atomic<unsigned> counter{0};
  static const unsigned seed = std::random_device{}();
  return fmt::format("{}-{}-{}", ::getpid(), seed, counter++);
}

} // namespace spmi

// SPDX-License-Identifier: MIT
// SecureDir: the store's directories opened once, verified on their descriptors, and every file opened
// relative to them (see secure_dir.hpp for the rules).
#include "secure_dir.hpp"

#include <spmi/errors.hpp>

#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <random>

namespace spmi {

namespace fs = std::filesystem;
using strict::OwnedFd;
using strict::unique_suffix;

namespace {

// Walks from "/" down to `parent` (a resolved, absolute path), checking each directory on its
// descriptor; returns the descriptor of `parent` (O_PATH). The first problem found goes to `problem`
// (`root` is named in it).
int
open_checked_ancestors(const fs::path& parent, const fs::path& root, std::string& problem)
{
  const uid_t euid = ::geteuid();
  OwnedFd fd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  fs::path walked = "/";
  for (auto it = parent.begin();; ++it) {
    if (fd.get() < 0) {
      throw_errno("cannot open " + walked.string() + " (a parent directory of the state directory " + root.string() + ")");
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
      throw_errno("cannot stat " + walked.string());
    }
    if (problem.empty()) {
      problem = strict::ancestor_problem(walked, root, st, euid);
    }
    while (it != parent.end() && (it->empty() || *it == "/")) {
      ++it;
    }
    if (it == parent.end()) {
      return fd.release();
    }
    walked /= *it;
    fd.reset(::openat(fd.get(), it->c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  }
}

// The problem of the entry `name` of `dir_fd` that open() refused with `error` (ELOOP, ENOTDIR...), or
// "" when that error is not about what the entry is.
std::string
entry_problem(int dir_fd, const std::string& name, const fs::path& path, int error, bool directory, FileKind kind,
              uid_t euid)
{
  if (error != ELOOP && error != ENOTDIR && error != ENXIO && error != EISDIR) {
    return "";
  }
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return "";
  }
  return directory ? strict::dir_problem(path, st, euid, false) : strict::file_problem(path, st, euid, kind);
}

} // namespace

std::shared_ptr<const SecureDir>
SecureDir::open_root(const fs::path& given)
{
  fs::path path = given.lexically_normal();
  if (!path.has_filename() && path.has_parent_path() && path != path.root_path()) {
    path = path.parent_path();  // "state/" is "state"
  }
  fs::path parent = path.has_parent_path() && path.filename() != ".." ? path.parent_path() : fs::path(".");
  std::string name = path.filename().string();
  if (name.empty() || name == "." || name == "..") {
    // "/", "." or "..": the directory itself, resolved (it has no name of its own to check without following).
    char* resolved = ::realpath(path.c_str(), nullptr);
    if (!resolved) {
      if (errno == ENOENT) {
        return nullptr;
      }
      throw_errno("cannot resolve the state directory " + path.string());
    }
    const fs::path real(resolved);
    std::free(resolved);
    parent = real.has_parent_path() && real != real.root_path() ? real.parent_path() : real;
    name = real == real.root_path() ? "." : real.filename().string();
  }
  char* resolved = ::realpath(parent.c_str(), nullptr);
  if (!resolved) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return nullptr;  // no parent, so no store yet
    }
    throw_errno("cannot resolve " + parent.string() + " (the parent of the state directory " + path.string() + ")");
  }
  const fs::path real_parent(resolved);
  std::free(resolved);
  const uid_t euid = ::geteuid();
  std::string ancestor;
  OwnedFd parent_fd(open_checked_ancestors(real_parent, path, ancestor));
  // The state directory's own problem first (its fix is what the user looks for), then a parent's.
  auto refuse = [&](const std::string& own) {
    throw StateError(own.empty() ? ancestor : ancestor.empty() ? own : own + "; also, " + ancestor);
  };
  OwnedFd fd(::openat(parent_fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (fd.get() < 0) {
    const int error = errno;
    if (error == ENOENT && ancestor.empty()) {
      return nullptr;
    }
    if (::fstatat(parent_fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
      refuse(strict::dir_problem(path, st, euid, true));
    }
    if (!ancestor.empty()) {
      refuse("");
    }
    errno = error;
    throw_errno("cannot open the state directory " + path.string());
  }
  if (::fstat(fd.get(), &st) != 0) {
    throw_errno("cannot stat the state directory " + path.string());
  }
  if (const auto problem = strict::dir_problem(path, st, euid, true); !problem.empty() || !ancestor.empty()) {
    refuse(problem);
  }
  return std::make_shared<const SecureDir>(fd.release(), path, euid);
}

std::shared_ptr<const SecureDir>
SecureDir::open_child(const std::string& name) const
{
  const auto path = m_path / name;
  OwnedFd fd(::openat(m_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    const int error = errno;
    if (error == ENOENT) {
      return nullptr;
    }
    if (const auto problem = entry_problem(m_fd, name, path, error, true, FileKind::regular, m_euid); !problem.empty()) {
      throw StateError(problem);
    }
    errno = error;
    throw_errno("cannot open " + path.string());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    throw_errno("cannot stat " + path.string());
  }
  if (const auto problem = strict::dir_problem(path, st, m_euid, false); !problem.empty()) {
    throw StateError(problem);
  }
  return std::make_shared<const SecureDir>(fd.release(), path, m_euid);
}

SecureDir::~SecureDir()
{
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

void
SecureDir::refuse_entry(const std::string& name, FileKind kind) const
{
  struct stat st {};
  if (::fstatat(m_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
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
  const int fd = ::openat(m_fd, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | (nonblock_added ? O_NONBLOCK : 0),
                          mode);
  if (fd < 0) {
    const int error = errno;
    const auto path = m_path / name;
    if (const auto problem = entry_problem(m_fd, name, path, error, false, kind, m_euid); !problem.empty()) {
      throw StateError(problem);
    }
    errno = error;
    return -1;
  }
  OwnedFd owned(fd);
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
  OwnedFd fd(open_file(name, O_RDONLY, 0, FileKind::regular));
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
  OwnedFd fd(::openat(m_fd, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    throw_errno("cannot write " + temp_path.string());
  }
  if (!write_all(fd.get(), data) || (sync && ::fsync(fd.get()) != 0) || ::close(fd.release()) != 0) {
    const int saved = errno;
    ::unlinkat(m_fd, temp.c_str(), 0);
    errno = saved;
    throw_errno("cannot write " + temp_path.string());
  }
  if (::renameat(m_fd, temp.c_str(), m_fd, name.c_str()) != 0) {
    const int saved = errno;
    ::unlinkat(m_fd, temp.c_str(), 0);
    errno = saved;
    throw_errno("cannot replace " + (m_path / name).string());
  }
}

void
SecureDir::append(const std::string& name, const std::string& data) const
{
  OwnedFd fd(open_file(name, O_WRONLY | O_CREAT | O_APPEND, 0600, FileKind::regular));
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
    OwnedFd sub(::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
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
  if (::unlinkat(m_fd, name.c_str(), 0) == 0 || errno == ENOENT) {
    return;  // a file or a symlink: the entry itself goes, never what it points to
  }
  OwnedFd fd(::openat(m_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0 || !empty_directory(fd.get()) || ::unlinkat(m_fd, name.c_str(), AT_REMOVEDIR) != 0) {
    throw_errno("cannot delete " + path.string());
  }
}

void
SecureDir::check_entries() const
{
  DIR* dir = strict::list_dir(m_fd);
  if (!dir) {
    throw_errno("cannot read " + m_path.string());
  }
  const uid_t euid = m_euid;
  std::string problem;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    struct stat st {};
    if (name == "." || name == ".." || ::fstatat(m_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
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

namespace detail {

std::shared_ptr<const SecureDir>
DirSlot::get()
{
  if (m_ready.load(std::memory_order_acquire)) {
    return m_dir;  // set once, before m_ready, and never changed again
  }
  const std::lock_guard lock(m_mutex);
  if (m_ready.load(std::memory_order_relaxed)) {
    return m_dir;
  }
  std::shared_ptr<const SecureDir> dir;
  if (parent) {
    const auto base = parent->get();
    dir = base ? base->open_child(path.filename().string()) : nullptr;
  } else {
    dir = SecureDir::open_root(path);
  }
  if (dir) {
    m_dir = std::move(dir);
    m_ready.store(true, std::memory_order_release);
  }
  return m_dir;
}

} // namespace detail

DIR*
strict::list_dir(int fd)
{
  const int dup_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  DIR* dir = dup_fd < 0 ? nullptr : ::fdopendir(dup_fd);
  if (!dir) {
    if (dup_fd >= 0) {
      const int saved = errno;
      ::close(dup_fd);
      errno = saved;
    }
    return nullptr;
  }
  ::rewinddir(dir);  // a dup shares the offset of the verified descriptor: start over
  return dir;
}

std::string
strict::read_all(int fd, const fs::path& path)
{
  std::string result;
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

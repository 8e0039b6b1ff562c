// SPDX-License-Identifier: MIT
// ManageableDir: one manageable's directory, its files, its command lock and its alive lock, and the
// last lines of its output; DirLock, the lock held.
#include <spmi/descriptor.hpp>
#include <spmi/errors.hpp>
#include <spmi/process.hpp>
#include <spmi/state.hpp>

#include "secure_dir.hpp"
#include "state_detail.hpp"

#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <random>

namespace spmi {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace state_detail;

namespace {

// The command lock of the manageable at `dir` (see lock_open_file()).
DirLock
lock_file(const ManageableDir& dir, bool wait)
{
  const auto path = dir.path() / "lock";
  UniqueFd fd(dir.open_file("lock", O_RDWR | O_CREAT));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      throw StateError(fmt::format("manageable '{}' is not loaded (it was cleaned meanwhile)", dir.id()));
    }
    throw_errno("cannot open " + path.string());
  }
  auto lock = lock_open_file(fd, path, wait);
  // Cleaned (renamed away) while we waited: the verified directory is no longer the manageable's.
  struct stat held {};
  if (lock.fd() >= 0 && (::fstat(lock.fd(), &held) != 0 || held.st_nlink == 0)) {
    throw StateError(fmt::format("manageable '{}' is not loaded (it was cleaned meanwhile)", dir.id()));
  }
  return lock;
}

} // namespace

DirLock::DirLock(DirLock&& other) noexcept = default;

DirLock&
DirLock::operator=(DirLock&& other) noexcept = default;

DirLock::~DirLock() = default;

ManageableDir::ManageableDir(fs::path path)
  : m_path(std::move(path)),
    m_slot(std::make_shared<detail::DirSlot>(
      std::make_shared<detail::DirSlot>(nullptr, m_path.has_parent_path() ? m_path.parent_path() : fs::path(".")),
      m_path))
{
}

ManageableDir::ManageableDir(std::shared_ptr<detail::DirSlot> root, const std::string& id)
  : m_path(root->path / id), m_slot(std::make_shared<detail::DirSlot>(std::move(root), m_path))
{
}

void
ManageableDir::verify() const
{
  dir_fd();
}

int
ManageableDir::dir_fd() const
{
  const auto dir = m_slot->get();
  if (!dir) {
    throw StateError(fmt::format("manageable '{}' is not loaded ({} does not exist)", id(), m_path.string()));
  }
  return dir->fd();
}

int
ManageableDir::open_file(const std::string& name, int flags, unsigned mode, FileKind kind) const
{
  dir_fd();
  return m_slot->get()->open_file(name, flags, static_cast<mode_t>(mode), kind);
}

bool
ManageableDir::stat_file(const std::string& name, struct ::stat& st) const
{
  return ::fstatat(dir_fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

void
ManageableDir::append(const std::string& name, const std::string& data) const
{
  dir_fd();
  m_slot->get()->append(name, data);
}

void
ManageableDir::write_file(const std::string& name, const std::string& data, bool sync) const
{
  dir_fd();
  m_slot->get()->write_atomic(name, data, sync);
}

bool
ManageableDir::rename_file(const std::string& from, const std::string& to) const
{
  const int fd = dir_fd();
  return ::renameat(fd, from.c_str(), fd, to.c_str()) == 0;
}

bool
ManageableDir::remove_file(const std::string& name) const
{
  return ::unlinkat(dir_fd(), name.c_str(), 0) == 0;
}

void
ManageableDir::check_entries() const
{
  dir_fd();
  m_slot->get()->check_entries();
}

DirLock
ManageableDir::lock() const
{
  return lock_file(*this, true);
}

DirLock
ManageableDir::try_lock() const
{
  return lock_file(*this, false);
}

void
ManageableDir::make_stdin() const
{
  const auto path = stdin_path();
  const int fd = dir_fd();
  if (::mkfifoat(fd, "stdin", 0600) == 0) {
    return;
  }
  if (errno != EEXIST) {
    throw_errno("cannot create the stdin FIFO " + path.string());
  }
  struct stat st {};
  if (::fstatat(fd, "stdin", &st, AT_SYMLINK_NOFOLLOW) != 0) {
    throw_errno("cannot stat " + path.string());
  }
  if (const auto problem = strict::file_problem(path, st, ::geteuid(), FileKind::fifo); !problem.empty()) {
    throw StateError(problem);
  }
}

bool
ManageableDir::is_active() const
{
  const auto path = m_path / "alive";
  UniqueFd fd(open_file("alive", O_RDONLY));
  if (fd.get() < 0) {
    return false;
  }
  struct flock query {};
  query.l_type = F_WRLCK;
  query.l_whence = SEEK_SET;
  if (::fcntl(fd.get(), F_OFD_GETLK, &query) != 0) {
    throw_errno("cannot test the lock on " + path.string());
  }
  return query.l_type != F_UNLCK;
}

bool
ManageableDir::hold_alive_lock(int* held_fd) const
{
  const auto path = m_path / "alive";
  UniqueFd fd(open_file("alive", O_RDWR | O_CREAT));
  if (fd.get() < 0) {
    throw_errno("cannot open " + path.string());
  }
  struct flock request {};
  request.l_type = F_WRLCK;
  request.l_whence = SEEK_SET;
  if (::fcntl(fd.get(), F_OFD_SETLK, &request) != 0) {
    if (errno == EAGAIN || errno == EACCES) {
      return false;
    }
    throw_errno("cannot lock " + path.string());
  }
  const int held = fd.release();  // held until this process exits
  if (held_fd) {
    *held_fd = held;
  }
  return true;
}

bool
ManageableDir::adopt_alive_lock(int fd) const
{
  struct stat held {};
  struct stat named {};
  if (fd < 0 || ::fstat(fd, &held) != 0 || !stat_file("alive", named) || !S_ISREG(named.st_mode) ||
      held.st_dev != named.st_dev ||
      held.st_ino != named.st_ino) {
    return false;
  }
  // Taking a lock this open file description already holds succeeds at once; one another description
  // holds fails, so a stale descriptor can't steal the manageable from a live wrapper.
  struct flock request {};
  request.l_type = F_WRLCK;
  request.l_whence = SEEK_SET;
  if (::fcntl(fd, F_OFD_SETLK, &request) != 0) {
    return false;
  }
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return true;
}

std::vector<std::string>
ManageableDir::tail(const std::string& name, std::size_t lines) const
{
  std::vector<std::string> result;
  UniqueFd fd(open_file(name, O_RDONLY));
  if (fd.get() < 0 || lines == 0) {
    return result;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return result;
  }
  constexpr off_t k_window = 64 * 1024;
  const off_t start = std::max<off_t>(0, st.st_size - k_window);
  std::string data(static_cast<std::size_t>(st.st_size - start), '\0');
  const ssize_t n = ::pread(fd.get(), data.data(), data.size(), start);
  if (n <= 0) {
    return result;
  }
  data.resize(static_cast<std::size_t>(n));
  if (!data.empty() && data.back() == '\n') {
    data.pop_back();
  }
  std::size_t end = data.size();
  while (result.size() < lines) {
    const auto newline = end == 0 ? std::string::npos : data.rfind('\n', end - 1);
    const std::size_t begin = newline == std::string::npos ? 0 : newline + 1;
    if (begin == 0 && start > 0 && newline == std::string::npos) {
      break;  // a partial first line of the window
    }
    result.push_back(data.substr(begin, end - begin));
    if (newline == std::string::npos) {
      break;
    }
    end = newline;
  }
  std::reverse(result.begin(), result.end());
  return result;
}
} // namespace spmi

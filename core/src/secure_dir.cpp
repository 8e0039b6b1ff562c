// SPDX-License-Identifier: MIT
// SecureDir: the store's directories opened once and verified on their descriptors (see secure_dir.hpp
// for the rules); what is done with the files in them is in secure_dir_files.cpp.
#include "secure_dir.hpp"

#include <spmi/errors.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

namespace spmi {

namespace fs = std::filesystem;

namespace {

// Walks from "/" down to `parent` (a resolved, absolute path), checking each directory on its
// descriptor; returns the descriptor of `parent` (O_PATH). The first problem found goes to `problem`
// (`root` is named in it).
UniqueFd
open_checked_ancestors(const fs::path& parent, const fs::path& root, std::string& problem)
{
  const uid_t euid = ::geteuid();
  UniqueFd fd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
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
      return fd;
    }
    walked /= *it;
    fd.reset(::openat(fd.get(), it->c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  }
}

} // namespace

std::string
strict::entry_problem(int dir_fd, const std::string& name, const fs::path& path, int error, bool directory,
                      FileKind kind, uid_t euid)
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
  const UniqueFd parent_fd = open_checked_ancestors(real_parent, path, ancestor);
  // The state directory's own problem first (its fix is what the user looks for), then a parent's.
  auto refuse = [&](const std::string& own) {
    throw StateError(own.empty() ? ancestor : ancestor.empty() ? own : own + "; also, " + ancestor);
  };
  UniqueFd fd(::openat(parent_fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
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
  return std::make_shared<const SecureDir>(std::move(fd), path, euid);
}

std::shared_ptr<const SecureDir>
SecureDir::open_child(const std::string& name) const
{
  const auto path = m_path / name;
  UniqueFd fd(::openat(m_fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    const int error = errno;
    if (error == ENOENT) {
      return nullptr;
    }
    if (const auto problem = strict::entry_problem(m_fd.get(), name, path, error, true, FileKind::regular, m_euid); !problem.empty()) {
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
  return std::make_shared<const SecureDir>(std::move(fd), path, m_euid);
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

} // namespace spmi

// SPDX-License-Identifier: MIT
// The state store: its root, its IDs, its locks, removal, and the files written atomically. A
// manageable's directory is manageable_dir.cpp, its records records.cpp, `load` store_load.cpp.
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
using strict::unique_suffix;

namespace state_detail {

json
parse_state_file(const fs::path& path, const std::string& text)
{
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw StateError(fmt::format("{}: corrupt state file ({}); `spmi clean` the manageable and load it again",
                                 path.string(), e.what()));
  }
}

// Writes all of `data` to `fd` and closes it (after an fsync when `sync`). False, with errno set, when
// any of that fails (then `fd` is left for its destructor to close).
bool
write_and_close(UniqueFd& fd, const std::string& data, bool sync)
{
  std::size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd.get(), data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    written += static_cast<std::size_t>(n);
  }
  return !(sync && ::fsync(fd.get()) != 0) && fd.close();
}

// Creates the file `name` (which must not exist) in the directory `dir_fd` (named `dir`) with `data`;
// no fsync.
void
write_new_file(int dir_fd, const fs::path& dir, const std::string& name, const std::string& data)
{
  UniqueFd fd(::openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0 || !write_and_close(fd, data, false)) {
    throw_errno("cannot write " + (dir / name).string());
  }
}


// Takes an exclusive flock on `fd` (an open `path`): waits for other holders, or with `wait` false
// returns an empty DirLock when another process holds it.
DirLock
lock_open_file(UniqueFd& fd, const fs::path& path, bool wait)
{
  while (::flock(fd.get(), wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0) {
    if (!wait && errno == EWOULDBLOCK) {
      return DirLock();
    }
    if (errno != EINTR) {
      throw_errno("cannot lock " + path.string());
    }
  }
  return DirLock(fd.release());
}

} // namespace state_detail

double
to_epoch(TimePoint t)
{
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  return static_cast<double>(ms) / 1000.0;
}

TimePoint
from_epoch(double seconds)
{
  return TimePoint(std::chrono::milliseconds(static_cast<long long>(std::llround(seconds * 1000.0))));
}

DirLock
StateStore::lock_resurrect() const
{
  ensure_root();
  const auto path = m_root / ".resurrect.lock";
  root_fd();
  UniqueFd fd(m_slot->get()->open_file(".resurrect.lock", O_RDWR | O_CREAT, 0600, FileKind::regular));
  if (fd.get() < 0) {
    throw_errno("cannot open " + path.string());
  }
  return lock_open_file(fd, path);
}

namespace {

// Entries of the root that a `load` (staging directories), a `clean` (directories renamed away) or a
// `list` (its cache's temporary file) make for a moment; left behind only when that command was killed.
bool
is_leftover(const char* name)
{
  const std::string_view entry(name);
  return entry.rfind(".load-", 0) == 0 || entry.rfind(".clean-", 0) == 0 || entry.rfind("..list.cache.tmp-", 0) == 0;
}

} // namespace

DirLock
StateStore::lock_store() const
{
  ensure_root();
  const auto path = m_root / ".store.lock";
  root_fd();
  UniqueFd fd(m_slot->get()->open_file(".store.lock", O_RDWR | O_CREAT, 0600, FileKind::regular));
  if (fd.get() < 0) {
    throw_errno("cannot open " + path.string());
  }
  // Exclusive only when no load or clean runs: then every staging or trash directory there is was left
  // by one that was killed.
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
    remove_leftovers();
  }
  while (::flock(fd.get(), LOCK_SH) != 0) {
    if (errno != EINTR) {
      throw_errno("cannot lock " + path.string());
    }
  }
  return DirLock(fd.release());
}

void
StateStore::remove_leftovers() const
{
  const auto root = m_slot->get();
  DIR* dir = root ? strict::list_dir(root->fd()) : nullptr;
  if (!dir) {
    return;
  }
  std::vector<std::string> leftovers;
  while (const dirent* entry = ::readdir(dir)) {
    if (is_leftover(entry->d_name)) {
      leftovers.emplace_back(entry->d_name);
    }
  }
  ::closedir(dir);
  for (const auto& name : leftovers) {
    try {
      root->remove_tree(name);  // never following a link; best effort: the next command tries again
    } catch (const Error&) {
    }
  }
}

void
append_file(const fs::path& path, const std::string& data)
{
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (fd.get() < 0 || !write_and_close(fd, data, false)) {
    throw_errno("cannot append to " + path.string());
  }
}

fs::path
StateStore::default_root()
{
  if (const char* env = std::getenv("SPMI_PATH"); env && *env) {
    return env;
  }
  const char* home = std::getenv("HOME");
  if (!home || !*home) {
    const passwd* pw = ::getpwuid(::getuid());
    home = pw ? pw->pw_dir : "/";
  }
  return fs::path(home) / ".spmi";
}

StateStore::StateStore(fs::path root)
  : m_root(std::move(root)), m_slot(std::make_shared<detail::DirSlot>(nullptr, m_root))
{
}

int
StateStore::root_fd() const
{
  const auto root = m_slot->get();
  if (!root) {
    throw StateError(fmt::format("the state directory {} does not exist", m_root.string()));
  }
  return root->fd();
}

void
StateStore::ensure_root() const
{
  if (::mkdir(m_root.c_str(), 0700) != 0 && errno != EEXIST) {
    bool made = false;
    if (errno == ENOENT) {
      std::error_code ec;
      fs::create_directories(m_root.parent_path(), ec);
      made = ::mkdir(m_root.c_str(), 0700) == 0 || errno == EEXIST;
    }
    if (!made) {
      throw_errno("cannot create the state directory " + m_root.string() + " (set SPMI_PATH to another place?)");
    }
  }
  root_fd();  // verified before anything is put in it
}

std::vector<std::string>
StateStore::ids() const
{
  std::vector<std::string> result;
  const auto root = m_slot->get();
  if (!root) {
    return result;
  }
  DIR* dir = strict::list_dir(root->fd());
  if (!dir) {
    throw_errno("cannot read the state directory " + m_root.string());
  }
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.' || !is_valid_id(entry->d_name)) {
      continue;
    }
    // A symlink is listed too: it is refused, with its fix, where it is used.
    if (entry->d_type != DT_DIR && entry->d_type != DT_LNK && entry->d_type != DT_UNKNOWN) {
      continue;
    }
    result.emplace_back(entry->d_name);
  }
  ::closedir(dir);
  std::sort(result.begin(), result.end());
  return result;
}

bool
StateStore::contains(const std::string& id) const
{
  if (!is_valid_id(id)) {
    return false;
  }
  const auto root = m_slot->get();
  struct stat st {};
  if (!root || ::fstatat(root->fd(), id.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return false;
  }
  if (S_ISLNK(st.st_mode)) {
    return true;  // refused, naming the link and its fix, when it is used
  }
  return S_ISDIR(st.st_mode) &&
         ::fstatat(root->fd(), (id + "/manageable.json").c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

ManageableDir
StateStore::dir(const std::string& id) const
{
  return ManageableDir(m_slot, id);
}

void
StateStore::append(const std::string& name, const std::string& data) const
{
  root_fd();
  m_slot->get()->append(name, data);
}

std::filesystem::path
StateStore::write_private(const std::string& name, const std::string& data) const
{
  ensure_root();
  root_fd();
  m_slot->get()->write_atomic(name, data);
  return m_root / name;
}

void
StateStore::remove(const std::string& id) const
{
  const auto store_lock = lock_store();
  const auto source = m_root / id;
  const auto trash = ".clean-" + id + "-" + unique_suffix();
  const int fd = root_fd();
  if (::renameat(fd, id.c_str(), fd, trash.c_str()) != 0) {
    throw_errno("cannot remove " + source.string());
  }
  try {
    m_slot->get()->remove_tree(trash);  // never following a link out of the store
  } catch (const Error& e) {
    throw SystemError(fmt::format("removed '{}', but could not delete it: {}", id, e.what()));
  }
  // The last one gone, and no load running (which stores its environment under the lock, shared):
  // no manageable names a captured environment any more, and `list` has nothing to cache.
  if (::flock(store_lock.fd(), LOCK_EX | LOCK_NB) == 0 && ids().empty()) {
    try {
      m_slot->get()->remove_tree(".environments");
      m_slot->get()->remove_tree(".list.cache");
    } catch (const Error&) {
      // best effort: the next clean of the last one tries again
    }
  }
}

void
write_file_atomic(const fs::path& path, const std::string& data, bool sync)
{
  const auto temp = path.parent_path() / ("." + path.filename().string() + ".tmp-" + unique_suffix());
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    throw_errno("cannot write " + temp.string());
  }
  if (!write_and_close(fd, data, sync)) {
    const int saved = errno;
    ::unlink(temp.c_str());
    errno = saved;
    throw_errno("cannot write " + temp.string());
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    errno = saved;
    throw_errno("cannot replace " + path.string());
  }
}

std::optional<std::string>
read_file(const fs::path& path)
{
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return std::nullopt;
    }
    throw_errno("cannot read " + path.string());
  }
  return strict::read_all(fd.get(), path);
}

std::optional<std::uint64_t>
full_disk_bytes_free(const fs::path& path)
{
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) {
    return std::nullopt;
  }
  const std::uint64_t free = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
  // f_files == 0: a file system without an inode count (btrfs), whose f_favail means nothing.
  const bool no_inode = st.f_files > 0 && st.f_favail == 0;
  if (free >= k_full_disk_bytes && !no_inode) {
    return std::nullopt;
  }
  return free;
}
} // namespace spmi

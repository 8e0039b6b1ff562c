// SPDX-License-Identifier: MIT
#include <spmi/descriptor.hpp>
#include <spmi/errors.hpp>
#include <spmi/process.hpp>
#include <spmi/state.hpp>

#include "secure_dir.hpp"

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

namespace {

using Fd = strict::OwnedFd;
using strict::unique_suffix;

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

template<typename T>
T
field(const json& j, const char* key, T fallback)
{
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return fallback;
  }
  return it->get<T>();
}

// Writes all of `data` to `fd` and closes it (after an fsync when `sync`). False, with errno set, when
// any of that fails (then `fd` is left for its destructor to close).
bool
write_and_close(Fd& fd, const std::string& data, bool sync)
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
  return !(sync && ::fsync(fd.get()) != 0) && ::close(fd.release()) == 0;
}

// Creates the file `name` (which must not exist) in the directory `dir_fd` (named `dir`) with `data`;
// no fsync.
void
write_new_file(int dir_fd, const fs::path& dir, const std::string& name, const std::string& data)
{
  Fd fd(::openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0 || !write_and_close(fd, data, false)) {
    throw_errno("cannot write " + (dir / name).string());
  }
}

// Before `load` makes anything visible: throws Interrupted when the user interrupted it (the caller
// removes what it staged).
void
throw_if_interrupted(std::size_t staged, std::size_t total)
{
  if (const int signo = process::interrupt_pending()) {
    throw Interrupted(fmt::format("interrupted by {} while {} of {} manageable{} were being prepared: nothing was loaded",
                                  process::signal_name(signo), staged, total, total == 1 ? "" : "s"),
                      signo);
  }
}

} // namespace

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

DirLock::DirLock(DirLock&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}

DirLock&
DirLock::operator=(DirLock&& other) noexcept
{
  if (this != &other) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = std::exchange(other.m_fd, -1);
  }
  return *this;
}

DirLock::~DirLock()
{
  if (m_fd >= 0) {
    ::close(m_fd);  // releases the flock
  }
}

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
ManageableDir::write_file(const std::string& name, const std::string& data) const
{
  dir_fd();
  m_slot->get()->write_atomic(name, data);
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

namespace {

// Takes an exclusive flock on `fd` (an open `path`): waits for other holders, or with `wait` false
// returns an empty DirLock when another process holds it.
DirLock
lock_open_file(Fd& fd, const fs::path& path, bool wait = true)
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

// The command lock of the manageable at `dir` (see lock_open_file()).
DirLock
lock_file(const ManageableDir& dir, bool wait)
{
  const auto path = dir.path() / "lock";
  Fd fd(dir.open_file("lock", O_RDWR | O_CREAT));
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

DirLock
StateStore::lock_resurrect() const
{
  ensure_root();
  const auto path = m_root / ".resurrect.lock";
  root_fd();
  Fd fd(m_slot->get()->open_file(".resurrect.lock", O_RDWR | O_CREAT, 0600, FileKind::regular));
  if (fd.get() < 0) {
    throw_errno("cannot open " + path.string());
  }
  return lock_open_file(fd, path);
}

namespace {

// Entries of the root that a `load` (staging directories) or a `clean` (directories renamed away) make
// for a moment; left behind only when that command was killed.
bool
is_leftover(const char* name)
{
  const std::string_view entry(name);
  return entry.rfind(".load-", 0) == 0 || entry.rfind(".clean-", 0) == 0;
}

} // namespace

DirLock
StateStore::lock_store() const
{
  ensure_root();
  const auto path = m_root / ".store.lock";
  root_fd();
  Fd fd(m_slot->get()->open_file(".store.lock", O_RDWR | O_CREAT, 0600, FileKind::regular));
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
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (fd.get() < 0 || !write_and_close(fd, data, false)) {
    throw_errno("cannot append to " + path.string());
  }
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
  Fd fd(open_file("alive", O_RDONLY));
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
  Fd fd(open_file("alive", O_RDWR | O_CREAT));
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

json
ManageableDir::read_meta() const
{
  auto text = m_slot->get() ? m_slot->get()->read("manageable.json") : std::nullopt;
  if (!text) {
    throw StateError(fmt::format("manageable '{}' is not loaded", id()));
  }
  return parse_state_file(meta_path(), *text);
}

std::optional<LaunchRecord>
ManageableDir::read_launch() const
{
  dir_fd();
  auto text = m_slot->get()->read("launch.json");
  if (!text) {
    return std::nullopt;
  }
  const auto j = parse_state_file(launch_path(), *text);
  try {
    LaunchRecord record;
    record.token = field<std::string>(j, "token", "");
    record.backend_type = field<std::string>(j, "backend_type", "");
    record.backend_id = field<std::string>(j, "backend_id", "");
    if (j.contains("backend_settings") && !j["backend_settings"].is_null()) {
      if (!j["backend_settings"].is_object()) {
        throw StateError(fmt::format("{}: corrupt state file (backend_settings is not an object)",
                                     launch_path().string()));
      }
      record.backend_settings = j["backend_settings"];
    }
    record.queued = field<bool>(j, "queued", false);
    record.launched_at = from_epoch(field<double>(j, "launched_at", 0));
    record.cwd = field<std::string>(j, "cwd", "");
    record.wanted = field<std::string>(j, "wanted", "up");
    record.ended_by = field<std::string>(j, "ended_by", "");
    return record;
  } catch (const json::exception& e) {
    throw StateError(fmt::format("{}: corrupt state file ({})", launch_path().string(), e.what()));
  }
}

std::optional<RunRecord>
ManageableDir::read_run() const
{
  dir_fd();
  auto text = m_slot->get()->read("run.json");
  if (!text) {
    return std::nullopt;
  }
  const auto j = parse_state_file(run_path(), *text);
  try {
    RunRecord record;
    record.token = field<std::string>(j, "token", "");
    record.wrapper_pid = field<long>(j, "wrapper_pid", 0);
    record.wrapper_start_time = field<std::uint64_t>(j, "wrapper_start_time", 0);
    record.pid = field<long>(j, "pid", 0);
    record.started_at = from_epoch(field<double>(j, "started_at", 0));
    if (j.contains("finished_at") && !j["finished_at"].is_null()) {
      record.finished_at = from_epoch(j["finished_at"].get<double>());
    }
    if (j.contains("exit_code") && !j["exit_code"].is_null()) {
      record.exit_code = j["exit_code"].get<int>();
    }
    if (j.contains("exit_signal") && !j["exit_signal"].is_null()) {
      record.exit_signal = j["exit_signal"].get<int>();
    }
    record.error = field<std::string>(j, "error", "");
    record.restarts = field<int>(j, "restarts", 0);
    if (j.contains("next_attempt") && !j["next_attempt"].is_null()) {
      record.next_attempt = from_epoch(j["next_attempt"].get<double>());
    }
    record.failed = field<bool>(j, "failed", false);
    if (j.contains("restart_times") && j["restart_times"].is_array()) {
      for (const auto& t : j["restart_times"]) {
        record.restart_times.push_back(from_epoch(t.get<double>()));
      }
    }
    record.watchdog_pid = field<long>(j, "watchdog_pid", 0);
    record.membership = field<std::string>(j, "membership", "");
    record.membership_note = field<std::string>(j, "membership_note", "");
    record.cgroup = field<std::string>(j, "cgroup", "");
    record.boot_id = field<std::string>(j, "boot_id", "");
    record.recoveries = field<int>(j, "recoveries", 0);
    if (j.contains("facts") && j["facts"].is_object()) {
      record.facts = j["facts"];
    }
    return record;
  } catch (const json::exception& e) {
    throw StateError(fmt::format("{}: corrupt state file ({})", run_path().string(), e.what()));
  }
}

void
ManageableDir::write_launch(const LaunchRecord& record) const
{
  json j{{"token", record.token},
         {"backend_type", record.backend_type},
         {"backend_id", record.backend_id},
         {"backend_settings", record.backend_settings},
         {"queued", record.queued},
         {"launched_at", to_epoch(record.launched_at)},
         {"cwd", record.cwd},
         {"wanted", record.wanted},
         {"ended_by", record.ended_by}};
  write_file("launch.json", j.dump() + "\n");
}

void
ManageableDir::write_run(const RunRecord& record) const
{
  json j{{"token", record.token},
         {"wrapper_pid", record.wrapper_pid},
         {"wrapper_start_time", record.wrapper_start_time},
         {"pid", record.pid},
         {"started_at", to_epoch(record.started_at)},
         {"finished_at", record.finished_at ? json(to_epoch(*record.finished_at)) : json(nullptr)},
         {"exit_code", record.exit_code ? json(*record.exit_code) : json(nullptr)},
         {"exit_signal", record.exit_signal ? json(*record.exit_signal) : json(nullptr)},
         {"error", record.error},
         {"restarts", record.restarts},
         {"next_attempt", record.next_attempt ? json(to_epoch(*record.next_attempt)) : json(nullptr)},
         {"failed", record.failed},
         {"watchdog_pid", record.watchdog_pid},
         {"membership", record.membership},
         {"membership_note", record.membership_note},
         {"cgroup", record.cgroup},
         {"boot_id", record.boot_id},
         {"recoveries", record.recoveries}};
  json times = json::array();
  for (const auto& t : record.restart_times) {
    times.push_back(to_epoch(t));
  }
  j["restart_times"] = std::move(times);
  j["facts"] = record.facts.is_object() ? record.facts : json::object();
  write_file("run.json", j.dump() + "\n");
}

std::vector<std::string>
ManageableDir::tail(const std::string& name, std::size_t lines) const
{
  std::vector<std::string> result;
  Fd fd(open_file(name, O_RDONLY));
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

void
StateStore::register_all(const std::vector<Descriptor>& descriptors) const
{
  for (const auto& descriptor : descriptors) {
    if (contains(descriptor.id)) {
      auto meta = dir(descriptor.id).read_meta();
      throw StateError(fmt::format("{}: manageable '{}' is already loaded (from {}); `spmi clean {}` first or use another id",
                                   descriptor.source.string(), descriptor.id, field<std::string>(meta, "source", "?"),
                                   descriptor.id));
    }
  }
  const auto store_lock = lock_store();  // verifies the root (ensure_root)
  const auto root = m_slot->get();
  const int root_fd = root->fd();
  std::vector<fs::path> placed;
  std::vector<fs::path> staged;
  auto roll_back = [&] {
    for (const auto& list : {&placed, &staged}) {
      for (const auto& path : *list) {
        try {
          if (!path.empty()) {
            root->remove_tree(path.filename().string());
          }
        } catch (const Error&) {
        }
      }
    }
  };
  try {
    const auto now = to_epoch(Clock::now());
    std::error_code cwd_error;
    const auto cwd = fs::current_path(cwd_error);  // once, not once per descriptor
    const auto suffix = unique_suffix();
    for (const auto& descriptor : descriptors) {
      throw_if_interrupted(staged.size(), descriptors.size());
      const auto temp_name = fmt::format(".load-{}-{}-{}", descriptor.id, suffix, staged.size());
      const auto temp = m_root / temp_name;
      if (::mkdirat(root_fd, temp_name.c_str(), 0700) != 0) {
        throw_errno("cannot create " + temp.string());
      }
      staged.push_back(temp);
      Fd temp_fd(::openat(root_fd, temp_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (temp_fd.get() < 0) {
        throw_errno("cannot open " + temp.string());
      }
      const auto& source = descriptor.source;
      json meta{{"type", descriptor.type},
                {"id", descriptor.id},
                {"comment", descriptor.comment},
                {"source", (source.is_absolute() || cwd_error ? source : cwd / source).string()},
                {"format", descriptor.format},
                {"loaded_at", now},
                {"body", descriptor.body}};
      // The staging directory is private until it is renamed into place, so its files are written in
      // place: no temporary name and rename per file (the syncfs below makes them durable).
      write_new_file(temp_fd.get(), temp, "descriptor." + descriptor.format, descriptor.text);
      // No lock file and no stdin FIFO yet: lock() and start create them when first needed. Each inode
      // counts here: ext4's inode allocator is most of what a large load costs.
      // Written last: a directory without manageable.json is not a manageable.
      write_new_file(temp_fd.get(), temp, "manageable.json", meta.dump() + "\n");
    }
    // One sync of the file system for the whole batch, before any of it becomes visible.
    if (::syncfs(root_fd) != 0) {
      throw_errno("cannot sync " + m_root.string());
    }
    // The last moment to give up: from here on every directory is put in place (an interrupt is only
    // recorded while interrupts are deferred, see process::DeferredInterrupts).
    throw_if_interrupted(staged.size(), descriptors.size());
    for (std::size_t i = 0; i < descriptors.size(); ++i) {
      const auto target = m_root / descriptors[i].id;
      if (::renameat2(root_fd, staged[i].filename().c_str(), root_fd, descriptors[i].id.c_str(), RENAME_NOREPLACE) != 0) {
        if (errno == EEXIST || errno == ENOTEMPTY) {
          throw StateError(fmt::format("{}: manageable '{}' is already loaded; `spmi clean {}` first or use another id",
                                       descriptors[i].source.string(), descriptors[i].id, descriptors[i].id));
        }
        throw_errno("cannot create " + target.string());
      }
      placed.push_back(target);
      staged[i].clear();
    }
  } catch (...) {
    roll_back();
    throw;
  }
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
}

void
write_file_atomic(const fs::path& path, const std::string& data, bool sync)
{
  const auto temp = path.parent_path() / ("." + path.filename().string() + ".tmp-" + unique_suffix());
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
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
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
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

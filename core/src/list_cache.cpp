// SPDX-License-Identifier: MIT
// ListCache: `list`'s cache of the never-started manageables (see list_cache.hpp for when an entry is
// trusted). The file: a header line, then one line per manageable:
//   <id> <dev> <ino> <ctime ns> <mtime ns> <loaded_at or -> <n>:<type><n>:<comment><n>:<source>
// (fields separated by a tab, strings prefixed by their length in bytes, so they may hold anything).
#include "list_cache.hpp"

#include "secure_dir.hpp"

#include <spmi/errors.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>

namespace spmi {

namespace {

constexpr const char* k_file = ".list.cache";
constexpr const char* k_header = "spmi-list-cache 1\n";

long long
nanoseconds(const struct timespec& t)
{
  return static_cast<long long>(t.tv_sec) * 1000000000LL + t.tv_nsec;
}

// A cursor over the cache's text; any malformed field throws (the whole cache is then ignored).
struct Reader
{
  const std::string& text;
  std::size_t pos = 0;

  std::string word(char end)
  {
    const auto stop = text.find(end, pos);
    if (stop == std::string::npos) {
      throw std::runtime_error("truncated");
    }
    auto result = text.substr(pos, stop - pos);
    pos = stop + 1;
    return result;
  }
  long long number(char end)
  {
    const auto w = word(end);
    char* stop = nullptr;
    errno = 0;
    const long long value = std::strtoll(w.c_str(), &stop, 10);
    if (w.empty() || *stop != '\0' || errno != 0) {
      throw std::runtime_error("not a number");
    }
    return value;
  }
  std::string string()
  {
    const auto size = static_cast<std::size_t>(number(':'));
    if (size > text.size() - pos) {
      throw std::runtime_error("truncated");
    }
    auto result = text.substr(pos, size);
    pos += size;
    return result;
  }
};

void
append_string(std::string& out, const std::string& s)
{
  out += std::to_string(s.size());
  out += ':';
  out += s;
}

} // namespace

ListCache::ListCache(const StateStore& store) : m_store(store), m_euid(::geteuid())
{
  const auto root = store.m_slot->get();
  if (!root) {
    return;
  }
  m_root_fd = root->fd();
  struct timespec now {};
  ::clock_gettime(CLOCK_REALTIME, &now);
  m_fresh_ns = nanoseconds(now) - 1000000000LL;
  try {
    if (const auto text = root->read(k_file)) {
      parse(*text);
    }
  } catch (const std::exception&) {
    m_entries.clear();  // corrupt or refused (StrictModes): ignored, and replaced by save()
    m_changed = true;
  }
}

void
ListCache::parse(const std::string& text)
{
  if (text.rfind(k_header, 0) != 0) {
    throw std::runtime_error("not a list cache");
  }
  Reader in{text, std::char_traits<char>::length(k_header)};
  while (in.pos < text.size()) {
    auto id = in.word('\t');
    Cached cached;
    cached.key.dev = static_cast<dev_t>(in.number('\t'));
    cached.key.ino = static_cast<ino_t>(in.number('\t'));
    cached.key.ctime_ns = in.number('\t');
    cached.key.mtime_ns = in.number('\t');
    const auto loaded = in.word('\t');
    if (loaded != "-") {
      char* stop = nullptr;
      cached.entry.loaded_at = std::strtod(loaded.c_str(), &stop);
      if (loaded.empty() || *stop != '\0') {
        throw std::runtime_error("not a time");
      }
    }
    cached.entry.type = in.string();
    cached.entry.comment = in.string();
    cached.entry.source = in.string();
    if (in.word('\n') != "") {
      throw std::runtime_error("trailing field");
    }
    m_entries[std::move(id)] = std::move(cached);
  }
}

std::optional<ListCache::Entry>
ListCache::find(const std::string& id)
{
  struct stat st {};
  if (m_root_fd < 0 || ::fstatat(m_root_fd, id.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
      !strict::sound(st, m_euid, true)) {
    return std::nullopt;  // read as usual, which says what is wrong
  }
  const Key key{st.st_dev, st.st_ino, nanoseconds(st.st_ctim), nanoseconds(st.st_mtim)};
  const auto it = m_entries.find(id);
  if (it != m_entries.end()) {
    if (it->second.key == key) {
      it->second.seen = true;
      return it->second.entry;
    }
    m_entries.erase(it);
    m_changed = true;
  }
  if (key.ctime_ns < m_fresh_ns && key.mtime_ns < m_fresh_ns) {
    m_candidates[id] = key;
  }
  return std::nullopt;
}

void
ListCache::remember(const std::string& id, Entry entry)
{
  const auto it = m_candidates.find(id);
  if (it == m_candidates.end()) {
    return;
  }
  const auto key = it->second;
  m_candidates.erase(it);
  // Records or a lock file mean a state to decide from them each time.
  for (const char* name : {"alive", "launch.json", "run.json"}) {
    struct stat st {};
    if (::fstatat(m_root_fd, (id + "/" + name).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) {
      return;
    }
  }
  m_entries[id] = Cached{key, std::move(entry), true};
  m_changed = true;
}

std::string
ListCache::text() const
{
  std::string out = k_header;
  for (const auto& [id, cached] : m_entries) {
    out += fmt::format("{}\t{}\t{}\t{}\t{}\t", id, cached.key.dev, cached.key.ino, cached.key.ctime_ns,
                       cached.key.mtime_ns);
    out += cached.entry.loaded_at ? fmt::format("{:.17g}", *cached.entry.loaded_at) : "-";
    out += '\t';
    append_string(out, cached.entry.type);
    append_string(out, cached.entry.comment);
    append_string(out, cached.entry.source);
    out += '\n';
  }
  return out;
}

void
ListCache::save()
{
  if (!m_changed || m_root_fd < 0) {
    return;
  }
  for (auto it = m_entries.begin(); it != m_entries.end();) {
    struct stat st {};
    if (!it->second.seen && ::fstatat(m_root_fd, it->first.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) {
      it = m_entries.erase(it);  // cleaned
    } else {
      ++it;
    }
  }
  try {
    // No fsync: a cache lost in a crash is rebuilt by the next list.
    m_store.m_slot->get()->write_atomic(k_file, text(), false);
  } catch (const std::exception&) {
    // A full disk or a read-only store: list still works, reading every directory.
  }
}

} // namespace spmi

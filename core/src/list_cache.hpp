// SPDX-License-Identifier: MIT
// ListCache: what `list` shows of the manageables that were never started, kept in one file of the
// store's root (`.list.cache`), so that `list` of many reads one file and stats one directory per
// manageable instead of opening four files in each (internal to the core; list_cache.cpp).
//
// Never stale: an entry is used only while the manageable's directory is exactly as it was when the
// entry was made (device, inode, ctime and mtime to the nanosecond: creating, renaming or removing any
// file in it, as load, reload, start, the wrapper and clean all do, changes them) and still passes
// StrictModes (a directory of the user, not writable by others); an entry is made only of a directory
// that holds no `alive`, `launch.json` or `run.json` (its state is `inactive` without a lock to test)
// and whose ctime is over a second older than the moment it was looked at, so that a change within the
// file system's timestamp granularity can't leave the same times. The file is the user's, in the
// verified root, read as every state file (O_NOFOLLOW, StrictModes) and replaced atomically; a missing,
// corrupt or refused one is ignored and rewritten. Liveness is never cached: a directory with an
// `alive` file is always read and its lock tested.
#pragma once

#include <spmi/state.hpp>

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spmi {

class ListCache
{
public:
  // What `list` shows of a manageable that was never started (manageable.json's keys).
  struct Entry
  {
    std::string type;
    std::string comment;
    std::string source;
    std::optional<double> loaded_at;  // epoch seconds
  };

  // Reads the cache of `store` (none when the root does not exist).
  explicit ListCache(const StateStore& store);

  // The cached entry of `id` while it is valid; nullopt otherwise (then the caller reads the files and
  // may remember() what it read).
  std::optional<Entry> find(const std::string& id);
  // Keeps `entry`, read from the files of `id` after find(id), when that directory is cacheable (see
  // the top of this file): no alive, launch.json or run.json in it.
  void remember(const std::string& id, Entry entry);
  // Writes the cache when it changed, without the entries of directories that are gone (cleaned).
  // Best effort: a cache that can't be written is not an error.
  void save();

private:
  struct Key
  {
    dev_t dev = 0;
    ino_t ino = 0;
    long long ctime_ns = 0;
    long long mtime_ns = 0;
    bool operator==(const Key& other) const
    {
      return dev == other.dev && ino == other.ino && ctime_ns == other.ctime_ns && mtime_ns == other.mtime_ns;
    }
  };
  struct Cached
  {
    Key key;
    Entry entry;
    bool seen = false;  // found valid by this process
  };

  void parse(const std::string& text);
  std::string text() const;

  const StateStore& m_store;
  int m_root_fd = -1;
  uid_t m_euid;
  long long m_fresh_ns = 0;          // directories changed after this are not cached
  std::map<std::string, Cached> m_entries;
  std::map<std::string, Key> m_candidates;  // looked up, valid directory, old enough, not cached yet
  bool m_changed = false;
};

} // namespace spmi

// SPDX-License-Identifier: MIT
// StateStore::register_all, what `load` does: every directory staged under a temporary name, then
// renamed into place, all or nothing, undone when interrupted before the first rename.
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

namespace {

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

// Writes `descriptor`'s directory under `temp_name` in the root `root_fd` (named `root`): the descriptor
// as loaded and manageable.json, loaded at `now` (epoch seconds), a relative source resolved against
// `cwd` (empty: left as given).
void
stage(int root_fd, const fs::path& root, const std::string& temp_name, const Descriptor& descriptor, double now,
      const fs::path& cwd, const json& recorded)
{
  const auto temp = root / temp_name;
  if (::mkdirat(root_fd, temp_name.c_str(), 0700) != 0) {
    throw_errno("cannot create " + temp.string());
  }
  UniqueFd temp_fd(::openat(root_fd, temp_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (temp_fd.get() < 0) {
    throw_errno("cannot open " + temp.string());
  }
  const auto& source = descriptor.source;
  json meta{{"type", descriptor.type},
            {"id", descriptor.id},
            {"comment", descriptor.comment},
            {"source", (source.empty() || source.is_absolute() || cwd.empty() ? source : cwd / source).string()},
            {"format", descriptor.format},
            {"loaded_at", now},
            {"revision", 1},
            {"body", descriptor.body}};
  if (!descriptor.matrix.is_null()) {
    meta["matrix"] = descriptor.matrix;  // its task gets them as SPMI_MATRIX_<NAME>
  }
  for (const auto& [key, value] : recorded.items()) {
    meta[key] = value;
  }
  // The staging directory is private until it is renamed into place, so its files are written in
  // place: no temporary name and rename per file (the syncfs of register_all makes them durable).
  write_new_file(temp_fd.get(), temp, "descriptor." + descriptor.format, descriptor.text);
  // No lock file and no stdin FIFO yet: lock() and start create them when first needed. Each inode
  // counts here: ext4's inode allocator is most of what a large load costs.
  // Written last: a directory without manageable.json is not a manageable.
  write_new_file(temp_fd.get(), temp, "manageable.json", meta.dump() + "\n");
}

} // namespace

void
StateStore::register_all(const std::vector<Descriptor>& descriptors, const json& recorded) const
{
  for (const auto& descriptor : descriptors) {
    if (contains(descriptor.id)) {
      auto meta = dir(descriptor.id).read_meta();
      throw StateError(fmt::format("{}: manageable '{}' is already loaded (from {}); `spmi load --replace {}` replaces "
                                   "it (keeping its output and history), `spmi reload {}` reads its file again, or "
                                   "`spmi clean {}` first, or use another id",
                                   descriptor.source.string(), descriptor.id, field<std::string>(meta, "source", "?"),
                                   descriptor.source.string(), descriptor.id, descriptor.id));
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
      staged.push_back(m_root / temp_name);
      stage(root_fd, m_root, temp_name, descriptor, now, cwd_error ? fs::path() : cwd, recorded);
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
} // namespace spmi

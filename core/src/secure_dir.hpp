// SPDX-License-Identifier: MIT
// StrictModes for the state under $SPMI_PATH (internal to the core; state.cpp is its one user).
// secure_dir.cpp opens and verifies the directories, secure_dir_files.cpp works on the files in them,
// secure_dir_checks.cpp says what is wrong with an entry.
//
// Every directory of the store is opened once, checked on its descriptor (fstat) and then used only
// through that descriptor: files are opened with openat(O_NOFOLLOW) relative to it and checked in turn,
// so no path is resolved twice and nothing another user could change is ever trusted. The checks are
// OpenSSH's StrictModes applied to state:
// - the root and each manageable's directory: a real directory (no symlink), owned by the effective
//   user, not writable by group or others;
// - the root's existing ancestors (after resolving the parent's path): owned by root or by the effective
//   user, not writable by group or others unless sticky (so /tmp is fine), since whoever can write a
//   parent can swap the state directory under it;
// - files: regular files (the stdin FIFO a FIFO), owned by the effective user, not writable by others.
// A problem is a StateError whose text names the path, what is wrong and the command that fixes it.
#pragma once

#include <spmi/export.hpp>
#include <spmi/state.hpp>
#include <spmi/unique_fd.hpp>

#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace spmi {

namespace strict {


// What is wrong with the entry `name` of the directory `dir_fd` (named `path`) that openat() refused
// with `error` (ELOOP, ENOTDIR, ENXIO, EISDIR), as a directory of the store (`directory`) or a file of
// `kind`; "" when that error is not about what the entry is.
std::string entry_problem(int dir_fd, const std::string& name, const std::filesystem::path& path, int error,
                          bool directory, FileKind kind, uid_t euid);

// A listing of the directory `fd` from its first entry, on a descriptor of its own (close it with
// closedir); nullptr with errno set when it can't be made. `fd` itself is left open and unmoved.
DIR* list_dir(int fd);

// The rest of the open file `fd` (read to its end); `path` names it in the error.
// @throws SystemError when a read fails.
std::string read_all(int fd, const std::filesystem::path& path);

// A name part unique among the processes and calls of this machine ("<pid>-<seed>-<counter>"), for
// temporary, staging and trash entries.
std::string unique_suffix();

// True when the state's directory or file whose lstat()/fstat() is `st` is of the kind wanted (a
// directory; a regular file or a FIFO for `kind`), the user's and writable by no one else: what
// dir_problem()/file_problem() check first, without making a message (`list` of thousands asks it of each).
inline bool
sound(const struct stat& st, uid_t euid, bool directory, FileKind kind = FileKind::regular)
{
  const bool kind_ok = directory ? S_ISDIR(st.st_mode) : kind == FileKind::fifo ? S_ISFIFO(st.st_mode) : S_ISREG(st.st_mode);
  return kind_ok && st.st_uid == euid && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

// What is wrong with the directory `path` of the state whose lstat()/fstat() is `st`, for the effective
// user `euid`; "" when nothing. `root` says whether it is the store's root (its fix may be another
// SPMI_PATH) rather than a manageable's directory.
SPMI_API std::string dir_problem(const std::filesystem::path& path, const struct stat& st, uid_t euid, bool root);
// What is wrong with `path`, an existing ancestor of the state directory `root`; "" when nothing.
SPMI_API std::string ancestor_problem(const std::filesystem::path& path, const std::filesystem::path& root,
                                      const struct stat& st, uid_t euid);
// What is wrong with the file `path` of the state whose lstat()/fstat() is `st`; "" when nothing.
SPMI_API std::string file_problem(const std::filesystem::path& path, const struct stat& st, uid_t euid, FileKind kind);

} // namespace strict

// A directory of the store, verified and held open (O_DIRECTORY, close-on-exec).
class SPMI_API SecureDir
{
public:
  // Opens and verifies `path` as a store's root, its ancestors included. nullptr when it does not exist.
  // Throws StateError when it (or an ancestor) is insecure, SystemError when it can't be opened.
  static std::shared_ptr<const SecureDir> open_root(const std::filesystem::path& path);
  // Opens and verifies the subdirectory `name` (no symlink). nullptr when it does not exist.
  // Throws StateError when it is insecure, SystemError when it can't be opened.
  std::shared_ptr<const SecureDir> open_child(const std::string& name) const;

  // Takes over `fd`, the verified directory `path`, whose files must belong to `euid`.
  SecureDir(UniqueFd fd, std::filesystem::path path, uid_t euid)
    : m_fd(std::move(fd)), m_path(std::move(path)), m_euid(euid)
  {
  }

  int fd() const { return m_fd.get(); }
  const std::filesystem::path& path() const { return m_path; }

  // See ManageableDir::open_file().
  int open_file(const std::string& name, int flags, mode_t mode, FileKind kind) const;
  // The whole file `name`; nullopt when it does not exist. Throws StateError/SystemError.
  std::optional<std::string> read(const std::string& name) const;
  // Replaces `name` atomically: a temporary file made with O_EXCL|O_NOFOLLOW, fsync (with `sync`),
  // renameat() within this directory. Throws SystemError.
  void write_atomic(const std::string& name, const std::string& data, bool sync = true) const;
  // Appends `data` in one write, creating the file (0600) when missing. Throws StateError/SystemError.
  void append(const std::string& name, const std::string& data) const;
  // Removes the entry `name` and, when it is a directory, everything below it, never following a
  // symlink. Throws SystemError.
  void remove_tree(const std::string& name) const;
  // Refuses (StateError, naming the file) any entry that is a symlink or owned by another user.
  void check_entries() const;

private:
  [[noreturn]] void refuse_entry(const std::string& name, FileKind kind) const;

  UniqueFd m_fd;
  std::filesystem::path m_path;
  uid_t m_euid;  // the effective user when the root was opened (asked once per store, not per file)
};

namespace detail {

// A directory of the store opened lazily, once, and shared by the copies of a ManageableDir (and by
// every ManageableDir of a StateStore, for the root). Thread-safe; once opened it is never reopened, so
// the copies keep using the directory they verified.
struct DirSlot
{
  DirSlot(std::shared_ptr<DirSlot> parent_slot, std::filesystem::path dir_path)
    : parent(std::move(parent_slot)), path(std::move(dir_path))
  {
  }
  // The verified directory; nullptr when it does not exist (not remembered: it may be made later).
  std::shared_ptr<const SecureDir> get();

  std::shared_ptr<DirSlot> parent;  // null: this is a store's root
  std::filesystem::path path;

private:
  std::mutex m_mutex;
  std::atomic<bool> m_ready{false};
  std::shared_ptr<const SecureDir> m_dir;
};

} // namespace detail

} // namespace spmi

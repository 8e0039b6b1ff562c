// SPDX-License-Identifier: MIT
/// \file
/// OutputFollower: the one way spmi follows a task's output file (`spmi logs -f`, `spmi connect`), as
/// `tail -F` does: by its name in the manageable's directory, across rotation and truncation.
#pragma once

#include <spmi/export.hpp>
#include <spmi/state.hpp>
#include <spmi/unique_fd.hpp>

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace spmi {

/// Follows one file of a manageable's directory (`stdout`, `stderr`) by its name. Every file is opened
/// through ManageableDir::open_file(), relative to the verified directory, so StrictModes hold: a
/// planted symlink or another user's file is refused with a StateError.
///
/// What it handles, the same for every caller:
/// - rotation: the default wrapper renames `stdout` to `stdout.1` and makes a new `stdout`, and a
///   restart may make the file anew. When the name belongs to another file, the rest of the old one is
///   read first, then the new one from its start;
/// - truncation: a file that became shorter than what was read is read again from its start;
/// - a file that does not exist yet is followed from its start once it appears.
/// Output written to a file that is rotated away twice between two pump() calls is not seen.
class SPMI_API OutputFollower
{
public:
  /// Receives each piece of output read, in order.
  using Sink = std::function<void(const char* data, std::size_t size)>;

  /// Follows the file `name` of `dir`; opens nothing yet.
  OutputFollower(ManageableDir dir, std::string name);

  /// Opens the file when it exists and starts `backlog` bytes before its end (or at its start when it
  /// is shorter). @return false when it does not exist yet.
  /// @throws StateError when the file is insecure (see ManageableDir::open_file()), SystemError when it
  /// can't be opened.
  bool start_at_tail_bytes(off_t backlog);
  /// Opens the file when it exists and starts where its last `lines` lines begin (as `tail -n`, see
  /// tail_offset()). @return false when it does not exist yet. @throws as start_at_tail_bytes().
  bool start_at_tail_lines(std::size_t lines);

  /// Hands `sink` what is new since the last call (see the class comment for rotation and truncation).
  /// @return the number of bytes handed over. @throws what `sink` throws; StateError as
  /// start_at_tail_bytes(); SystemError when a read fails.
  std::size_t pump(const Sink& sink);
  /// As pump(), but hands over at most `limit` bytes (a bounded step, for a caller that sends them on
  /// and reads more only once they went, as `spmi web` does); the rest waits for the next call.
  std::size_t pump(const Sink& sink, std::size_t limit);
  /// Bytes written to the file being read that were not handed over yet (0 when none is open).
  std::uint64_t lag() const;
  /// Skips to the end of the file being read (a reader too slow to keep up). @return the bytes skipped.
  std::uint64_t skip_to_end();

  /// A descriptor that becomes readable when an entry of the directory changes (inotify), for a caller
  /// to poll beside its own; made on the first call. -1 when inotify is not available: poll with a
  /// timeout then (a caller should keep a timeout anyway, as a safety net).
  int change_fd();
  /// Empties change_fd() once poll said it is readable.
  void clear_changes();

private:
  // Opens the file by its name; an empty UniqueFd (errno set) when it can't, ENOENT when it is missing.
  UniqueFd open_named() const;
  // Starts following `fd` (the file by its name now) from `offset`.
  void adopt(UniqueFd fd, off_t offset);
  // Hands `sink` the open file from the offset reached to its end; returns the bytes handed over.
  std::size_t drain(const Sink& sink, std::size_t limit);

  ManageableDir m_dir;
  std::string m_name;
  UniqueFd m_fd;
  off_t m_offset = 0;
  dev_t m_dev = 0;
  ino_t m_ino = 0;
  UniqueFd m_watch;
  bool m_watch_tried = false;
};

} // namespace spmi

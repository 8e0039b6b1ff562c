// SPDX-License-Identifier: MIT
// `spmi logs`: the last lines of a task's output, then (with -f) what it writes, following the PATH of
// the file across restarts, truncation and rotation.
#include "commands.hpp"

#include <spmi/errors.hpp>
#include <spmi/log.hpp>
#include <spmi/text.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <string>

namespace spmi::cli {

namespace {

void
write_all(const char* data, std::size_t size)
{
  while (size > 0) {
    const ssize_t n = ::write(STDOUT_FILENO, data, size);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("write (standard output)");
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

// Copies `fd` from `offset` to `end` (nullopt: to its current end) onto stdout, 64 KiB at a time;
// returns the offset reached.
off_t
drain(int fd, off_t offset, std::optional<off_t> end = std::nullopt)
{
  char buffer[65536];
  while (!end || offset < *end) {
    const auto want = end ? std::min<off_t>(sizeof(buffer), *end - offset) : static_cast<off_t>(sizeof(buffer));
    const ssize_t n = ::pread(fd, buffer, static_cast<std::size_t>(want), offset);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("read (task output)");
    }
    if (n == 0) {
      return offset;
    }
    write_all(buffer, static_cast<std::size_t>(n));
    offset += n;
  }
  return offset;
}

// Prints the last `lines` lines of `fd` (which is `size` bytes long) as `tail -n` does, whole however
// long they are (a progress bar redrawn with '\r' and never a newline is one line): the start is found
// reading backwards in blocks, then the rest is copied in blocks, so time is linear in what is printed
// and memory constant.
void
print_tail(int fd, off_t size, std::size_t lines)
{
  drain(fd, tail_offset(fd, size, lines), size);
}

} // namespace

int
cmd_logs(Controller& controller, const std::string& id, std::size_t lines, bool follow, bool use_stderr)
{
  const auto& store = controller.store();
  if (!store.contains(id)) {
    throw StateError(fmt::format("no manageable '{}' is loaded (see `spmi list`)", id));
  }
  const auto dir = store.dir(id);
  const auto path = use_stderr ? dir.stderr_path() : dir.stdout_path();
  const std::string name = use_stderr ? "stderr" : "stdout";
  dir.verify();

  // Signals first, so a SIGINT between here and the loop still ends us cleanly.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  int signal_fd = -1;
  if (follow) {
    ::sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
    signal_fd = ::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signal_fd < 0) {
      throw_errno("signalfd");
    }
  }

  int fd = dir.open_file(name, O_RDONLY);  // relative to the verified directory, never a link
  struct stat st{};
  off_t offset = 0;
  ino_t inode = 0;
  if (fd >= 0) {
    if (::fstat(fd, &st) != 0) {
      throw_errno("fstat " + path.string());
    }
    inode = st.st_ino;
    print_tail(fd, st.st_size, lines);
    offset = st.st_size;
  } else if (errno != ENOENT) {
    throw_errno("open " + path.string());
  } else if (!follow) {
    logger()->info("Manageable \"{}\" has no {} yet", id, path.filename().string());
  }
  if (!follow) {
    if (fd >= 0) {
      ::close(fd);
    }
    return exit_status::k_ok;
  }

  // Wake on any change in the manageable's directory; a 250 ms poll is the safety net.
  const int watch_fd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (watch_fd >= 0) {
    ::inotify_add_watch(watch_fd, dir.path().c_str(),
                        IN_MODIFY | IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_CLOSE_WRITE);
  }
  while (true) {
    if (fd >= 0) {
      if (::fstat(fd, &st) == 0 && st.st_size < offset) {
        offset = 0;  // truncated: start again from its beginning
      }
      offset = drain(fd, offset);
    }
    // The path now names another file (rotated, or recreated by a restart): finish the old one, switch.
    struct stat now{};
    if (dir.stat_file(name, now) && (fd < 0 || now.st_ino != inode)) {
      const int next = dir.open_file(name, O_RDONLY);
      if (next >= 0) {
        if (fd >= 0) {
          drain(fd, offset);
          ::close(fd);
        }
        fd = next;
        ::fstat(fd, &st);
        inode = st.st_ino;
        offset = drain(fd, 0);
      }
    }
    if (!std::filesystem::exists(dir.path())) {
      logger()->info("Manageable \"{}\" was cleaned", id);
      break;
    }
    pollfd fds[2] = {{signal_fd, POLLIN, 0}, {watch_fd, POLLIN, 0}};
    const int ready = ::poll(fds, watch_fd >= 0 ? 2 : 1, 250);
    if (ready < 0 && errno != EINTR) {
      throw_errno("poll");
    }
    if (fds[0].revents & POLLIN) {
      break;  // SIGINT or SIGTERM: a normal end of `logs -f`
    }
    if (watch_fd >= 0 && (fds[1].revents & POLLIN)) {
      char events[4096];
      while (::read(watch_fd, events, sizeof(events)) > 0) {
      }
    }
  }
  if (fd >= 0) {
    ::close(fd);
  }
  if (watch_fd >= 0) {
    ::close(watch_fd);
  }
  ::close(signal_fd);
  return exit_status::k_ok;
}

} // namespace spmi::cli

// SPDX-License-Identifier: MIT
// `spmi connect <id>`: shows the task's output live and forwards our stdin to the task's stdin FIFO.
#include "commands.hpp"

#include <spmi/errors.hpp>
#include <spmi/log.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>

namespace spmi::cli {

namespace {

volatile std::sig_atomic_t g_detach = 0;

void
on_detach_signal(int)
{
  g_detach = 1;
}

// Follows one output file from an offset and copies what is new to `out_fd`.
class Follower
{
public:
  // Follows the file `name` of `dir`, opened only relative to the verified directory.
  Follower(const ManageableDir& dir, std::string name, int out_fd) : m_dir(dir), m_name(std::move(name)), m_out(out_fd) {}
  ~Follower()
  {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  Follower(const Follower&) = delete;
  Follower& operator=(const Follower&) = delete;

  // Starts at most `backlog` bytes before the end, so connect first shows recent output.
  void open_at_tail(off_t backlog)
  {
    m_fd = m_dir.open_file(m_name, O_RDONLY);
    if (m_fd < 0) {
      return;
    }
    struct stat st {};
    if (::fstat(m_fd, &st) == 0 && st.st_size > backlog) {
      ::lseek(m_fd, st.st_size - backlog, SEEK_SET);
    }
  }

  // Copies new output; returns true when there was some.
  bool pump()
  {
    if (m_fd < 0) {
      open_at_tail(0);
      if (m_fd < 0) {
        return false;
      }
      ::lseek(m_fd, 0, SEEK_SET);  // the file appeared after we connected: show it whole
    }
    bool any = copy();
    // The wrapper rotates output by renaming the file and creating a new one: read what was left in the
    // old one (above), then follow the new one from its start.
    struct stat now {};
    struct stat ours {};
    if (m_dir.stat_file(m_name, now) && ::fstat(m_fd, &ours) == 0 &&
        (now.st_ino != ours.st_ino || now.st_dev != ours.st_dev)) {
      ::close(m_fd);
      m_fd = m_dir.open_file(m_name, O_RDONLY);
      if (m_fd >= 0) {
        any = copy() || any;
      }
    }
    return any;
  }

private:
  // Copies what is new in the open file; returns true when there was some.
  bool copy()
  {
    bool any = false;
    char buffer[16384];
    while (true) {
      const ssize_t n = ::read(m_fd, buffer, sizeof(buffer));
      if (n <= 0) {
        break;
      }
      any = true;
      for (ssize_t done = 0; done < n;) {
        const ssize_t w = ::write(m_out, buffer + done, static_cast<std::size_t>(n - done));
        if (w < 0) {
          if (errno == EINTR) {
            continue;
          }
          return any;  // our own output is gone (closed pipe); keep going quietly
        }
        done += w;
      }
    }
    return any;
  }

  ManageableDir m_dir;
  std::string m_name;
  int m_out;
  int m_fd = -1;
};

} // namespace

int
cmd_connect(Controller& controller, const std::string& id)
{
  using namespace std::chrono;
  if (!controller.store().contains(id)) {
    throw StateError(fmt::format("no manageable '{}' is loaded (see `spmi list`)", id));
  }
  const auto dir = controller.store().dir(id);
  if (!dir.is_active()) {
    throw StateError(fmt::format("manageable '{}' is inactive; start it first (its last output: `spmi status {}`)", id, id));
  }
  const int fifo = dir.open_file("stdin", O_WRONLY | O_NONBLOCK, 0, FileKind::fifo);
  if (fifo < 0) {
    throw_errno(fmt::format("manageable '{}': cannot open its stdin {}", id, dir.stdin_path().string()));
  }

  struct sigaction action {};
  action.sa_handler = on_detach_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGHUP, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  const bool interactive = ::isatty(STDIN_FILENO);
  if (interactive) {
    logger()->info("Connected to \"{}\": what you type goes to its stdin; Ctrl-D or Ctrl-C detaches", id);
  }
  Follower out(dir, "stdout", STDOUT_FILENO);
  Follower err(dir, "stderr", STDERR_FILENO);
  out.open_at_tail(64 * 1024);
  err.open_at_tail(64 * 1024);

  std::string pending;        // read from stdin, not yet written to the FIFO
  bool stdin_open = true;
  bool task_alive = true;
  auto last_output = steady_clock::now();
  auto stdin_closed_at = steady_clock::time_point{};
  auto last_liveness_check = steady_clock::now();
  // After stdin ends, keep following until the output is quiet for this long (bounded).
  constexpr auto k_quiet = milliseconds(300);
  constexpr auto k_linger_max = seconds(3);

  while (!g_detach) {
    pollfd fds[2];
    nfds_t count = 0;
    if (stdin_open && pending.size() < 65536) {
      fds[count++] = {STDIN_FILENO, POLLIN, 0};
    }
    if (!pending.empty()) {
      fds[count++] = {fifo, POLLOUT, 0};
    }
    const int ready = ::poll(fds, count, 50);
    if (ready < 0 && errno != EINTR) {
      break;
    }
    for (nfds_t i = 0; ready > 0 && i < count; ++i) {
      if (fds[i].fd == STDIN_FILENO && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        char buffer[4096];
        const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof(buffer));
        if (n > 0) {
          pending.append(buffer, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
          stdin_open = false;
          stdin_closed_at = steady_clock::now();
        }
      } else if (fds[i].fd == fifo && (fds[i].revents & POLLOUT)) {
        const ssize_t n = ::write(fifo, pending.data(), pending.size());
        if (n > 0) {
          pending.erase(0, static_cast<std::size_t>(n));
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
          logger()->warn("manageable '{}': its stdin is closed; input dropped", id);
          pending.clear();
        }
      }
    }
    const bool new_output = out.pump() | err.pump();
    const auto now = steady_clock::now();
    if (new_output) {
      last_output = now;
    }
    if (now - last_liveness_check > milliseconds(200)) {
      last_liveness_check = now;
      if (!dir.is_active()) {
        task_alive = false;
        out.pump();
        err.pump();
        break;
      }
    }
    if (!stdin_open && pending.empty() &&
        (now - last_output > k_quiet || now - stdin_closed_at > k_linger_max) && now - stdin_closed_at > k_quiet) {
      break;
    }
  }
  ::close(fifo);
  if (!task_alive) {
    logger()->info("Manageable \"{}\" ended", id);
  } else if (interactive || g_detach) {
    logger()->info("Detached from \"{}\"", id);
  }
  return exit_status::k_ok;
}

} // namespace spmi::cli

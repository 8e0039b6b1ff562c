// SPDX-License-Identifier: MIT
// `spmi connect <id>`: shows the task's output live and forwards our stdin to the task's stdin FIFO.
#include "commands.hpp"

#include <spmi/errors.hpp>
#include <spmi/follow.hpp>
#include <spmi/log.hpp>
#include <spmi/unique_fd.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <string>
#include <utility>

namespace spmi::cli {

namespace {

volatile std::sig_atomic_t g_detach = 0;

void
on_detach_signal(int)
{
  g_detach = 1;
}

// An OutputFollower's sink that copies to `out_fd`, quietly dropping what it refuses (our own output
// is gone: a closed pipe), so the task's input keeps flowing.
OutputFollower::Sink
copy_to(int out_fd)
{
  return [out_fd](const char* data, std::size_t size) {
    for (std::size_t done = 0; done < size;) {
      const ssize_t n = ::write(out_fd, data + done, size - done);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return;
      }
      done += static_cast<std::size_t>(n);
    }
  };
}

// SIGINT, SIGTERM and SIGHUP detach (g_detach); a closed output pipe is not fatal.
void
catch_detach_signals()
{
  struct sigaction action {};
  action.sa_handler = on_detach_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGHUP, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

// What the user types, on its way from our stdin to the task's stdin FIFO.
class Input
{
public:
  Input(int fifo, std::string id) : m_fifo(fifo), m_id(std::move(id)) {}

  // Puts into `fds` what to wait for; returns how many.
  nfds_t want(pollfd* fds) const
  {
    nfds_t count = 0;
    if (m_open && m_pending.size() < 65536) {
      fds[count++] = {STDIN_FILENO, POLLIN, 0};
    }
    if (!m_pending.empty()) {
      fds[count++] = {m_fifo, POLLOUT, 0};
    }
    return count;
  }

  // Reads or writes what poll() found ready among `fds`.
  void move(const pollfd* fds, nfds_t count)
  {
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].fd == STDIN_FILENO && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        char buffer[4096];
        const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof(buffer));
        if (n > 0) {
          m_pending.append(buffer, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
          m_open = false;
          m_closed_at = std::chrono::steady_clock::now();
        }
      } else if (fds[i].fd == m_fifo && (fds[i].revents & POLLOUT)) {
        const ssize_t n = ::write(m_fifo, m_pending.data(), m_pending.size());
        if (n > 0) {
          m_pending.erase(0, static_cast<std::size_t>(n));
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
          logger()->warn("manageable '{}': its stdin is closed; input dropped", m_id);
          m_pending.clear();
        }
      }
    }
  }

  // True once our stdin ended and everything read from it was passed on.
  bool done() const { return !m_open && m_pending.empty(); }
  // When our stdin ended.
  std::chrono::steady_clock::time_point closed_at() const { return m_closed_at; }

private:
  int m_fifo;
  std::string m_id;
  std::string m_pending;  // read from stdin, not yet written to the FIFO
  bool m_open = true;
  std::chrono::steady_clock::time_point m_closed_at{};
};

} // namespace

int
cmd_connect(Controller& controller, const std::string& id)
{
  using namespace std::chrono;
  controller.require_loaded(id, "connect");
  const UniqueFd fifo = controller.open_stdin(id);

  catch_detach_signals();
  const bool interactive = ::isatty(STDIN_FILENO);
  if (interactive) {
    logger()->info("Connected to \"{}\": what you type goes to its stdin; Ctrl-D or Ctrl-C detaches", id);
  }
  // Recent output first (at most 64 KiB of each), then what the task writes (see OutputFollower).
  OutputFollower out = controller.follow_output(id, "stdout");
  OutputFollower err = controller.follow_output(id, "stderr");
  out.start_at_tail_bytes(64 * 1024);
  err.start_at_tail_bytes(64 * 1024);
  const auto to_stdout = copy_to(STDOUT_FILENO);
  const auto to_stderr = copy_to(STDERR_FILENO);

  Input input(fifo.get(), id);
  bool task_alive = true;
  auto last_output = steady_clock::now();
  auto last_liveness_check = steady_clock::now();
  // After stdin ends, keep following until the output is quiet for this long (bounded).
  constexpr auto k_quiet = milliseconds(300);
  constexpr auto k_linger_max = seconds(3);

  while (!g_detach) {
    pollfd fds[2];
    const nfds_t count = input.want(fds);
    const int ready = ::poll(fds, count, 50);
    if (ready < 0 && errno != EINTR) {
      break;
    }
    if (ready > 0) {
      input.move(fds, count);
    }
    const bool new_output = (out.pump(to_stdout) + err.pump(to_stderr)) > 0;
    const auto now = steady_clock::now();
    if (new_output) {
      last_output = now;
    }
    if (now - last_liveness_check > milliseconds(200)) {
      last_liveness_check = now;
      if (!controller.running(id)) {
        task_alive = false;
        out.pump(to_stdout);
        err.pump(to_stderr);
        break;
      }
    }
    const auto since_closed = now - input.closed_at();
    if (input.done() && (now - last_output > k_quiet || since_closed > k_linger_max) && since_closed > k_quiet) {
      break;
    }
  }
  if (!task_alive) {
    logger()->info("Manageable \"{}\" ended", id);
  } else if (interactive || g_detach) {
    logger()->info("Detached from \"{}\"", id);
  }
  return exit_status::k_ok;
}

} // namespace spmi::cli

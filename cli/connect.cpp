// SPDX-License-Identifier: MIT
// `spmi connect <id>`: shows the task's output live and forwards our stdin to the task's stdin FIFO;
// for scripts, --no-history, --timeout and --until, each outcome with its exit status.
#include "commands.hpp"

#include <spmi/errors.hpp>
#include <spmi/follow.hpp>
#include <spmi/log.hpp>
#include <spmi/text.hpp>
#include <spmi/unique_fd.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <re2/re2.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <utility>

namespace spmi::cli {

namespace {

volatile std::sig_atomic_t g_detach = 0;

// How a connection ended; connect_end() says so and gives its exit status.
enum class ConnectOutcome { detached, quiet, matched, ended, timed_out };

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

// Output that arrived after the input was sent, the last 64 KiB of each stream, where --until looks.
class Answer
{
public:
  explicit Answer(std::unique_ptr<re2::RE2> until) : m_until(std::move(until)) {}

  bool wanted() const { return m_until != nullptr; }
  // From now on, output counts as the answer.
  void arm() { m_armed = true; }
  // A sink that shows what it gets through `show` and keeps it (once armed) in `buffer` (0 or 1).
  OutputFollower::Sink keep(OutputFollower::Sink show, int buffer)
  {
    return [this, show = std::move(show), buffer](const char* data, std::size_t size) {
      show(data, size);
      if (m_armed && m_until) {
        auto& text = m_text[buffer];
        text.append(data, size);
        if (text.size() > k_kept) {
          text.erase(0, text.size() - k_kept);
        }
        m_matched = m_matched || re2::RE2::PartialMatch(text, *m_until);
      }
    };
  }
  bool matched() const { return m_matched; }

private:
  static constexpr std::size_t k_kept = 64 * 1024;
  std::unique_ptr<re2::RE2> m_until;
  std::string m_text[2];
  bool m_armed = false;
  bool m_matched = false;
};

// The expression of --until, compiled; a UsageError (exit status 2) names what is wrong with it, or
// with `timeout`.
std::unique_ptr<re2::RE2>
compile_until(const std::optional<std::string>& until, std::optional<double> timeout)
{
  if (timeout && !(*timeout > 0)) {
    throw UsageError("--timeout must be a positive number of seconds");
  }
  if (!until) {
    return nullptr;
  }
  re2::RE2::Options options;
  options.set_log_errors(false);
  // Multi-line, as grep users expect: ^ and $ match at the start and end of every line.
  auto regex = std::make_unique<re2::RE2>("(?m)" + *until, options);
  if (!regex->ok()) {
    throw UsageError(fmt::format("--until '{}' is not a valid regular expression (RE2 syntax): {}",
                                 escape_control(*until), regex->error()));
  }
  return regex;
}

// When --timeout `seconds` from `start` is over; never without one.
std::chrono::steady_clock::time_point
deadline_after(std::chrono::steady_clock::time_point start, std::optional<double> seconds)
{
  using namespace std::chrono;
  return seconds ? start + duration_cast<steady_clock::duration>(duration<double>(*seconds)) : steady_clock::time_point::max();
}

// Says how `connect` ended (as a log line, when a person is there to read it or when it is an error)
// and returns its exit status (see ConnectOptions).
int
connect_end(const std::string& id, ConnectOutcome outcome, const ConnectOptions& options, bool interactive)
{
  switch (outcome) {
  case ConnectOutcome::matched:
    if (interactive) {
      logger()->info("Output of \"{}\" matched --until; detached", id);
    }
    return exit_status::k_ok;
  case ConnectOutcome::ended:
    logger()->info("Manageable \"{}\" ended", id);
    return options.until ? k_connect_ended : exit_status::k_ok;
  case ConnectOutcome::timed_out:
    logger()->error("manageable '{}': --timeout {} s passed{}; detached", id, *options.timeout,
                    options.until ? " before its output matched --until" : "");
    return k_connect_timeout;
  case ConnectOutcome::quiet:  // after Ctrl-D on a terminal, said as before
  case ConnectOutcome::detached:
    break;
  }
  if (interactive || g_detach) {
    logger()->info("Detached from \"{}\"", id);
  }
  return options.until && g_detach ? k_connect_interrupted : exit_status::k_ok;
}

} // namespace

int
cmd_connect(Controller& controller, const std::string& id, const ConnectOptions& options)
{
  using namespace std::chrono;
  controller.require_loaded(id, "connect");
  Answer answer(compile_until(options.until, options.timeout));
  const UniqueFd fifo = controller.open_stdin(id);
  catch_detach_signals();
  const bool interactive = ::isatty(STDIN_FILENO);
  if (interactive) {
    logger()->info("Connected to \"{}\": what you type goes to its stdin; Ctrl-D or Ctrl-C detaches", id);
  }
  // Recent output first (at most 64 KiB of each; none with --no-history), then what the task writes
  // (see OutputFollower).
  OutputFollower out = controller.follow_output(id, "stdout");
  OutputFollower err = controller.follow_output(id, "stderr");
  const off_t history = options.no_history ? 0 : 64 * 1024;
  out.start_at_tail_bytes(history);
  err.start_at_tail_bytes(history);
  const auto to_stdout = answer.keep(copy_to(STDOUT_FILENO), 0);
  const auto to_stderr = answer.keep(copy_to(STDERR_FILENO), 1);

  Input input(fifo.get(), id);
  ConnectOutcome outcome = ConnectOutcome::detached;
  const auto started = steady_clock::now();
  const auto deadline = deadline_after(started, options.timeout);
  auto last_output = started;
  auto last_liveness_check = started;
  // After stdin ends, keep following until the output is quiet for this long (bounded); not with
  // --until, which waits for its answer.
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
      if (!input.done()) {
        out.pump(to_stdout);  // what the task wrote before this input reached it is no answer to it
        err.pump(to_stderr);
      }
      input.move(fds, count);
    }
    if (input.done()) {
      answer.arm();
    }
    const bool new_output = (out.pump(to_stdout) + err.pump(to_stderr)) > 0;
    const auto now = steady_clock::now();
    if (new_output) {
      last_output = now;
    }
    if (answer.matched()) {
      outcome = ConnectOutcome::matched;
      break;
    }
    if (now - last_liveness_check > milliseconds(200)) {
      last_liveness_check = now;
      if (!controller.running(id)) {
        out.pump(to_stdout);
        err.pump(to_stderr);
        outcome = answer.matched() ? ConnectOutcome::matched : ConnectOutcome::ended;
        break;
      }
    }
    if (now >= deadline) {
      outcome = ConnectOutcome::timed_out;
      break;
    }
    const auto since_closed = now - input.closed_at();
    if (!answer.wanted() && input.done() && (now - last_output > k_quiet || since_closed > k_linger_max) &&
        since_closed > k_quiet) {
      outcome = ConnectOutcome::quiet;
      break;
    }
  }
  return connect_end(id, outcome, options, interactive);
}

} // namespace spmi::cli

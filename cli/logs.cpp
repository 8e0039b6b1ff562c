// SPDX-License-Identifier: MIT
// `spmi logs`: the last lines of a task's output, then (with -f) what it writes, following the file by
// its name across restarts, truncation and rotation (OutputFollower, core/include/spmi/follow.hpp).
#include "commands.hpp"

#include <spmi/errors.hpp>
#include <spmi/follow.hpp>
#include <spmi/log.hpp>
#include <spmi/unique_fd.hpp>

#include <fmt/format.h>

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
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

// SIGINT and SIGTERM, blocked and readable from the descriptor returned: the normal end of `logs -f`.
UniqueFd
stop_signal_fd()
{
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  UniqueFd fd(::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd) {
    throw_errno("signalfd");
  }
  return fd;
}

} // namespace

int
cmd_logs(Controller& controller, const std::string& id, std::size_t lines, bool follow, bool use_stderr)
{
  controller.require_loaded(id, "logs");
  std::string name = use_stderr ? "stderr" : "stdout";
  if (use_stderr && controller.stderr_in_stdout(id)) {
    // One file holds both: show it (the stderr lines are there), and say so.
    logger()->warn("manageable '{}' writes its stderr into its stdout (mixed_stdout), one file: showing that; "
                   "`spmi logs {}` shows the same, or set mixed_stdout = false for a stderr file of its own",
                   id, id);
    name = "stdout";
  }
  OutputFollower output = controller.follow_output(id, name);

  // Signals first, so a SIGINT between here and the loop still ends us cleanly.
  const UniqueFd signal_fd = follow ? stop_signal_fd() : UniqueFd();
  // The last lines as `tail -n` prints them, whole however long they are (a progress bar redrawn with
  // '\r' and never a newline is one line), then what is written (see OutputFollower).
  const OutputFollower::Sink to_stdout = write_all;
  if (output.start_at_tail_lines(lines)) {
    output.pump(to_stdout);
  } else if (!follow) {
    logger()->info("Manageable \"{}\" has no {} yet", id, name);
  }
  if (!follow) {
    return exit_status::k_ok;
  }
  // Wake on any change in the manageable's directory; a 250 ms poll is the safety net.
  const int watch_fd = output.change_fd();
  while (true) {
    output.pump(to_stdout);
    if (!controller.loaded(id)) {
      logger()->info("Manageable \"{}\" was cleaned", id);
      break;
    }
    pollfd fds[2] = {{signal_fd.get(), POLLIN, 0}, {watch_fd, POLLIN, 0}};
    const int ready = ::poll(fds, watch_fd >= 0 ? 2 : 1, 250);
    if (ready < 0 && errno != EINTR) {
      throw_errno("poll");
    }
    if (fds[0].revents & POLLIN) {
      break;  // SIGINT or SIGTERM: a normal end of `logs -f`
    }
    if (fds[1].revents & POLLIN) {
      output.clear_changes();
    }
  }
  return exit_status::k_ok;
}

} // namespace spmi::cli

// SPDX-License-Identifier: MIT
// process::run_capture: runs a command to its end (or a deadline) and keeps what it printed.
#include <spmi/errors.hpp>
#include <spmi/process.hpp>
#include <spmi/unique_fd.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace spmi::process {

namespace {

// Reads `out` and `err` (pipes) into `result` until both end or `deadline` passes, keeping at most
// 1 MiB of each; false when the deadline passed first.
bool
collect(UniqueFd out, UniqueFd err, Captured& result, std::chrono::steady_clock::time_point deadline)
{
  constexpr std::size_t k_limit = 1024 * 1024;
  UniqueFd* owners[2] = {&out, &err};
  std::string* sinks[2] = {&result.out, &result.err};
  while (out || err) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd fds[2] = {{out.get(), POLLIN, 0}, {err.get(), POLLIN, 0}};  // -1: ignored by poll
    if (::poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) {
      return true;
    }
    for (int i = 0; i < 2; ++i) {
      if (!*owners[i] || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
        continue;
      }
      char buffer[8192];
      const ssize_t n = ::read(owners[i]->get(), buffer, sizeof(buffer));
      if (n > 0) {
        if (sinks[i]->size() < k_limit) {
          sinks[i]->append(buffer, std::min<std::size_t>(static_cast<std::size_t>(n), k_limit - sinks[i]->size()));
        }
      } else if (n == 0 || errno != EINTR) {
        owners[i]->reset();
      }
    }
  }
  return true;
}

} // namespace

Captured
run_capture(const std::vector<std::string>& argv, std::chrono::milliseconds timeout)
{
  UniqueFd out_read, out_write, err_read, err_write;
  for (auto* ends : {&out_read, &err_read}) {
    int pair[2];
    if (::pipe2(pair, O_CLOEXEC) != 0) {
      throw SystemError(fmt::format("cannot run '{}': pipe: {}", argv[0], std::strerror(errno)));
    }
    ends->reset(pair[0]);
    (ends == &out_read ? out_write : err_write).reset(pair[1]);
  }
  SpawnOptions options;
  options.argv = argv;
  options.stdout_fd = out_write.get();
  options.stderr_fd = err_write.get();
  const pid_t pid = spawn(options);
  out_write.reset();
  err_write.reset();
  Captured result;
  if (!collect(std::move(out_read), std::move(err_read), result, std::chrono::steady_clock::now() + timeout)) {
    ::kill(pid, SIGKILL);
    wait(pid);
    throw SystemError(fmt::format("'{}' did not finish within {} ms", argv[0], timeout.count()));
  }
  result.status = wait(pid);
  return result;
}

} // namespace spmi::process

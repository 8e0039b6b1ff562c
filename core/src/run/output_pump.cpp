// SPDX-License-Identifier: MIT
#include "output_pump.hpp"

#include "recovery.hpp"

#include <spmi/errors.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace spmi::wrapper {

int
open_output(const ManageableDir& dir, const std::string& name)
{
  const int fd = dir.open_file(name, O_WRONLY | O_CREAT | O_APPEND);
  if (fd < 0) {
    throw_errno("cannot open " + (dir.path() / name).string());
  }
  return fd;
}

OutputPump::OutputPump(const ManageableDir& dir, bool mixed, std::uint64_t max_size, int kept, bool timestamps)
  : m_log(dir)
{
  m_streams.push_back(std::make_unique<Stream>(dir, "stdout", max_size, kept, timestamps));
  if (!mixed) {
    m_streams.push_back(std::make_unique<Stream>(dir, "stderr", max_size, kept, timestamps));
  }
  // Blocked, the signal waits for the supervisor's loop; unblocked (between attempts), it is dropped.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  if (::sigaction(k_signal, &ignore, nullptr) != 0) {
    throw_errno("cannot set how the wrapper takes SIGIO");
  }
  for (auto& stream : m_streams) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      throw_errno("cannot create a pipe for the task's output");
    }
    stream->read_fd.reset(fds[0]);
    stream->write_fd.reset(fds[1]);
    const int fd = stream->read_fd.get();
    if (::fcntl(fd, F_SETOWN, ::getpid()) != 0 || ::fcntl(fd, F_SETSIG, k_signal) != 0 ||
        ::fcntl(fd, F_SETFL, O_NONBLOCK | O_ASYNC) != 0) {
      throw_errno("cannot have the kernel signal the task's output");
    }
    stream->file.open();
  }
}

OutputPump::~OutputPump()
{
  drain();  // the pipes close with their UniqueFds
}

bool
OutputPump::pump()
{
  // Up to 1 MiB a stream or 10 ms a call: the loop sees its signals between calls.
  constexpr int k_reads = 16;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(10);
  bool more = false;
  for (auto& stream : m_streams) {
    int reads = 0;
    while (reads < k_reads && read_some(*stream)) {
      ++reads;
      if (std::chrono::steady_clock::now() >= until) {
        return true;
      }
    }
    more = more || reads == k_reads;
  }
  return more;
}

void
OutputPump::drain()
{
  for (auto& stream : m_streams) {
    while (read_some(*stream)) {
    }
    guarded(*stream, [&] { stream->file.end_line(); });
  }
}

// One read; false when the pipe had nothing (or is closed).
bool
OutputPump::read_some(Stream& stream)
{
  char buffer[65536];
  const ssize_t n = ::read(stream.read_fd.get(), buffer, sizeof(buffer));
  if (n <= 0) {
    return n < 0 && errno == EINTR;
  }
  guarded(stream, [&] { stream.file.write(std::string_view(buffer, static_cast<std::size_t>(n)), Clock::now()); });
  return true;
}

// Runs `write`, a write to the stream's file. When it fails (a full disk) the output is dropped and
// the task goes on; the wrapper logs once per run of failures.
template<typename Write>
void
OutputPump::guarded(Stream& stream, Write write)
{
  try {
    write();
    stream.failed = false;
  } catch (const Error& e) {
    if (!stream.failed) {
      append_log(m_log, fmt::format("wrapper {}: output dropped: {}", ::getpid(), e.what()));
    }
    stream.failed = true;
  }
}

} // namespace spmi::wrapper

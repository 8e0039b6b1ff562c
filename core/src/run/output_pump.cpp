// SPDX-License-Identifier: MIT
#include "output_pump.hpp"

#include "recovery.hpp"

#include <spmi/errors.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

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
  for (auto& stream : m_streams) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      throw_errno("cannot create a pipe for the task's output");
    }
    stream->read_fd.reset(fds[0]);
    stream->write_fd.reset(fds[1]);
    ::fcntl(stream->read_fd.get(), F_SETFL, O_NONBLOCK);
    stream->file.open();
  }
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw_errno("cannot create a pipe");
  }
  m_wake_read.reset(wake[0]);
  m_wake_write.reset(wake[1]);
  // The caller has blocked every signal we could take: the thread inherits that mask, so signals
  // always reach the wrapper's main thread.
  m_thread = std::thread([this] { loop(); });
}

OutputPump::~OutputPump()
{
  [[maybe_unused]] auto n = ::write(m_wake_write.get(), "x", 1);
  if (m_thread.joinable()) {
    m_thread.join();
  }
  drain();  // the pipes and the wake pipe close with their UniqueFds
}

void
OutputPump::drain()
{
  const std::lock_guard lock(m_mutex);
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

void
OutputPump::loop()
{
  while (true) {
    std::vector<pollfd> fds;
    for (auto& stream : m_streams) {
      fds.push_back({stream->read_fd.get(), POLLIN, 0});
    }
    fds.push_back({m_wake_read.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;
    }
    if (fds.back().revents != 0) {
      return;
    }
    const std::lock_guard lock(m_mutex);
    for (std::size_t i = 0; i < m_streams.size(); ++i) {
      if (fds[i].revents != 0) {
        read_some(*m_streams[i]);
      }
    }
  }
}

} // namespace spmi::wrapper

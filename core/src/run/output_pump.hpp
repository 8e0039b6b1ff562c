// SPDX-License-Identifier: MIT
// The run protocol's output: the task's stdout/stderr, through pipes into size-rotated, optionally
// timestamped files (OutputPump), or straight into the files when nothing needs to come between.
#pragma once

#include "logic.hpp"

#include <spmi/state.hpp>
#include <spmi/unique_fd.hpp>

#include <cstdint>
#include <csignal>
#include <memory>
#include <string>
#include <vector>

namespace spmi::wrapper {

// Opens the file `name` of `dir` for appending (relative to the verified directory); throws
// SystemError, or StateError when it is insecure (a planted symlink).
int open_output(const ManageableDir& dir, const std::string& name);

// Reads the task's output from pipes (one, or two when stdout and stderr are apart) and writes it to
// the output files, rotated and timestamped. No thread of its own: the kernel sends k_signal when a pipe
// has data (O_ASYNC, F_SETSIG), and the supervisor's signal loop, which waits for it with the others,
// calls pump(). The signal is ignored while not blocked (between attempts nothing is lost: the data
// waits in the pipe for the next pump() or drain()); the task gets it back at its default.
// drain() reads what is left once the task's tree is gone, so nothing is lost when an attempt ends.
class OutputPump
{
public:
  static constexpr int k_signal = SIGIO;

  OutputPump(const ManageableDir& dir, bool mixed, std::uint64_t max_size, int kept, bool timestamps);
  ~OutputPump();
  OutputPump(const OutputPump&) = delete;
  OutputPump& operator=(const OutputPump&) = delete;

  int out_fd() const { return m_streams[0]->write_fd.get(); }
  int err_fd() const { return m_streams.back()->write_fd.get(); }

  // Copies what the pipes hold to the files, up to a bound (a task that writes without pause must not
  // keep the supervisor from its signals). @return true when a pipe may hold more: call it again.
  bool pump();
  // Copies everything the pipes hold to the files; an unfinished timestamped line is ended.
  void drain();

private:
  struct Stream
  {
    Stream(const ManageableDir& dir, std::string name, std::uint64_t max_size, int kept, bool timestamps)
      : file(dir, std::move(name), max_size, kept, timestamps)
    {
    }
    OutputFile file;
    UniqueFd read_fd;
    UniqueFd write_fd;
    bool failed = false;
  };

  bool read_some(Stream& stream);
  template<typename Write>
  void guarded(Stream& stream, Write write);

  const ManageableDir& m_log;
  std::vector<std::unique_ptr<Stream>> m_streams;
};

} // namespace spmi::wrapper

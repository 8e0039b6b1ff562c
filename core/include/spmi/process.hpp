// SPDX-License-Identifier: MIT
// The one module that starts processes, waits for them and sends signals. Nothing else in spmi calls
// fork, exec, posix_spawn, waitpid or kill. No shell command line is ever built here: argv vectors only.
#pragma once

#include <spmi/export.hpp>

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace spmi::process {

struct SPMI_API SpawnOptions
{
  std::vector<std::string> argv;             // argv[0] is looked up in PATH when it has no '/'
  std::optional<std::filesystem::path> cwd;  // working directory of the child
  int stdin_fd = -1;                         // -1: /dev/null
  int stdout_fd = -1;                        // -1: /dev/null
  int stderr_fd = -1;                        // -1: /dev/null
  bool new_session = false;                  // setsid(): no controlling terminal, own process group
};

// Starts a child with default signal dispositions, an empty signal mask and no inherited descriptors
// beyond 0-2. Returns its pid. Throws SystemError (naming argv[0]) when it can't be started.
SPMI_API pid_t spawn(const SpawnOptions& options);

// How a process ended.
struct SPMI_API ExitStatus
{
  int code = 0;    // exit code when signal == 0
  int signal = 0;  // terminating signal, 0 when it exited
  // Exit code as a shell reports it: code, or 128 + signal.
  int shell_code() const { return signal != 0 ? 128 + signal : code; }
};

SPMI_API ExitStatus decode_wait_status(int status);

// Waits for `pid` (retrying on EINTR). Throws SystemError.
SPMI_API ExitStatus wait(pid_t pid);
// Non-blocking wait: nullopt while the child runs. Throws SystemError.
SPMI_API std::optional<ExitStatus> try_wait(pid_t pid);

// Sends `signo` to the process group `pgid`. False when no such group exists.
SPMI_API bool signal_group(pid_t pgid, int signo);
// True when a process `pid` exists and is not a zombie.
SPMI_API bool is_running(pid_t pid);

// "SIGINT" for 2; "signal 77" for unknown numbers.
SPMI_API std::string signal_name(int signo);
// Accepts "SIGINT", "INT", "int" or "2"; nullopt when unknown.
SPMI_API std::optional<int> parse_signal(std::string_view name);

// Absolute path of an executable named `name` in $PATH, nullopt when absent.
SPMI_API std::optional<std::filesystem::path> find_in_path(const std::string& name);
// Path of the running executable (/proc/self/exe).
SPMI_API std::filesystem::path self_exe();

// Sleeps with growing steps (from 1 ms up to 20 ms) until `done()` is true or `timeout` passes.
// Returns the last value of `done()`.
template<typename Predicate>
bool
wait_until(Predicate done, std::chrono::milliseconds timeout);

SPMI_API void sleep_for(std::chrono::microseconds duration);

// --- Inline implementations ---

template<typename Predicate>
bool
wait_until(Predicate done, std::chrono::milliseconds timeout)
{
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto step = std::chrono::microseconds(500);
  while (true) {
    if (done()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return done();
    }
    sleep_for(step);
    step = std::min(step * 2, std::chrono::microseconds(20000));
  }
}

} // namespace spmi::process

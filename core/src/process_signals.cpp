// SPDX-License-Identifier: MIT
// The process module's signals: names and numbers, sending them to one process or a group, and whether a
// process still runs (see process.hpp).
#include <spmi/errors.hpp>
#include <spmi/plugin.hpp>
#include <spmi/process.hpp>

#include "proc_scan.hpp"

#include <fmt/format.h>

#include <signal.h>
#include <sys/prctl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>

namespace spmi::process {

namespace {

struct SignalEntry
{
  int number;
  const char* name;
};

constexpr std::array<SignalEntry, 20> k_signals{{
  {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
  {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
  {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
  {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"}, {SIGCHLD, "SIGCHLD"},
  {SIGCONT, "SIGCONT"}, {SIGSTOP, "SIGSTOP"}, {SIGTSTP, "SIGTSTP"}, {SIGXCPU, "SIGXCPU"},
}};

} // namespace

void
become_subreaper()
{
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    throw_errno("prctl(PR_SET_CHILD_SUBREAPER)");
  }
}

bool
signal_process(pid_t pid, int signo)
{
  return pid > 1 && ::kill(pid, signo) == 0;
}

bool
signal_group(pid_t pgid, int signo)
{
  if (pgid <= 1) {
    return false;  // never signal "every process" or init
  }
  return ::kill(-pgid, signo) == 0;
}

bool
is_running(pid_t pid)
{
  if (pid <= 0) {
    return false;
  }
  if (::kill(pid, 0) != 0) {
    return errno == EPERM;
  }
  // A zombie still answers kill(pid, 0); its state in /proc tells. Unreadable: it was there a moment ago.
  const auto info = detail::read_stat(pid);
  return !info || !info->ended();
}

std::string
signal_name(int signo)
{
  for (const auto& entry : k_signals) {
    if (entry.number == signo) {
      return entry.name;
    }
  }
  return fmt::format("signal {}", signo);
}

std::optional<int>
parse_signal(std::string_view name)
{
  std::string upper;
  for (char c : name) {
    upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (!upper.empty() && std::all_of(upper.begin(), upper.end(), ::isdigit)) {
    if (upper.size() > 3) {
      return std::nullopt;
    }
    const int number = std::stoi(upper);
    if (number > 0 && number < NSIG) {
      return number;
    }
    return std::nullopt;
  }
  if (upper.rfind("SIG", 0) != 0) {
    upper = "SIG" + upper;
  }
  for (const auto& entry : k_signals) {
    if (upper == entry.name) {
      return entry.number;
    }
  }
  return std::nullopt;
}

} // namespace spmi::process

namespace spmi {

int
kill_request_signal()
{
  return SIGRTMIN + 1;
}

} // namespace spmi

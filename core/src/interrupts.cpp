// SPDX-License-Identifier: MIT
// Deferred interrupts: while a command does something that must be all or nothing (registering a
// batch of manageables), SIGINT, SIGTERM and SIGHUP are recorded instead of ending the process.
#include <spmi/errors.hpp>
#include <spmi/process.hpp>

#include <atomic>
#include <csignal>

#include <unistd.h>

namespace spmi::process {

namespace {

constexpr int k_deferred[] = {SIGINT, SIGTERM, SIGHUP};

volatile std::sig_atomic_t g_received = 0;
std::atomic<bool> g_active{false};
struct sigaction g_previous[std::size(k_deferred)];

extern "C" void
record_interrupt(int signo)
{
  if (g_received == 0) {
    g_received = signo;
  }
}

} // namespace

DeferredInterrupts::DeferredInterrupts()
{
  if (g_active.exchange(true)) {
    throw SystemError("internal error: interrupts are already deferred");
  }
  g_received = 0;
  struct sigaction action {};
  action.sa_handler = record_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // system calls go on: the work finishes or is undone, never torn
  for (std::size_t i = 0; i < std::size(k_deferred); ++i) {
    if (::sigaction(k_deferred[i], &action, &g_previous[i]) != 0) {
      for (std::size_t j = 0; j < i; ++j) {
        ::sigaction(k_deferred[j], &g_previous[j], nullptr);
      }
      g_active = false;
      throw_errno("cannot install a signal handler");
    }
  }
}

DeferredInterrupts::~DeferredInterrupts()
{
  for (std::size_t i = 0; i < std::size(k_deferred); ++i) {
    ::sigaction(k_deferred[i], &g_previous[i], nullptr);
  }
  g_active = false;
}

int
interrupt_pending()
{
  return g_active ? static_cast<int>(g_received) : 0;
}

void
die_by_signal(int signo)
{
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(signo, &dfl, nullptr);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, signo);
  ::sigprocmask(SIG_UNBLOCK, &only, nullptr);
  ::raise(signo);
  ::_exit(128 + signo);  // a signal whose default action is not to end the process
}

} // namespace spmi::process

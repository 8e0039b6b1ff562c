// SPDX-License-Identifier: MIT
// `spmi wait`: renders what Controller::wait decided, one line per manageable, and returns its exit status.
#include "commands.hpp"

#include <spmi/errors.hpp>
#include <spmi/log.hpp>
#include <spmi/process.hpp>
#include <spmi/text.hpp>

#include <fmt/format.h>

#include <cmath>

namespace spmi::cli {

namespace {

// "exited with 0", "was killed by SIGKILL (137)", "never ran (it was never started; counted as 1)".
std::string
how_it_ended(const WaitEnd& end)
{
  std::string text;
  if (!end.exit) {
    text = fmt::format("has no exit: {} (counted as 1)", escape_control(end.note));
  } else if (end.exit->signal) {
    text = fmt::format("was ended by {} ({})", process::signal_name(*end.exit->signal), end.exit->code);
  } else {
    text = fmt::format("exited with {}", end.exit->code);
  }
  return end.state == State::failed ? text + "; its restart policy gave up (failed)" : text;
}

} // namespace

int
cmd_wait(Controller& controller, const std::vector<std::string>& patterns, std::optional<double> timeout_seconds)
{
  if (timeout_seconds && !(std::isfinite(*timeout_seconds) && *timeout_seconds >= 0 && *timeout_seconds <= 1e9)) {
    throw UsageError(fmt::format("--timeout {}: give a number of seconds from 0 to 1000000000, e.g. --timeout 30 "
                                 "or --timeout 0.5", *timeout_seconds));
  }
  std::vector<std::string> ids;
  // A pattern that matches nothing is refused before any wait: a script would otherwise wait for less
  // than it meant to.
  if (!select_or_report(controller, patterns, ids) || ids.empty()) {
    return exit_status::k_failed;
  }
  std::optional<std::chrono::milliseconds> timeout;
  if (timeout_seconds) {
    timeout = std::chrono::milliseconds(std::llround(*timeout_seconds * 1000));
  }
  const auto outcome = controller.wait(ids, timeout);
  for (const auto& end : outcome.ended) {
    logger()->info("Manageable \"{}\" {}", escape_control(end.id), how_it_ended(end));
  }
  if (outcome.timed_out()) {
    std::string running;
    for (const auto& id : outcome.running) {
      running += (running.empty() ? "" : " ") + escape_control(id);
    }
    const bool one = outcome.running.size() == 1;
    logger()->error("timed out after {} s; still running: {} (left running; `spmi stop {}` stops {})",
                    *timeout_seconds, running, running, one ? "it" : "them");
  }
  return outcome.exit_status();
}

} // namespace spmi::cli

// SPDX-License-Identifier: MIT
/// \file
/// What `spmi wait` decides (Controller::wait): when the selected manageables have ended, and the exit
/// status that tells a script how.
#pragma once

#include <spmi/export.hpp>
#include <spmi/views.hpp>

#include <optional>
#include <string>
#include <vector>

namespace spmi {

/// How one manageable ended, as Controller::wait() saw it when it first found it ended.
struct SPMI_API WaitEnd
{
  /// its ID
  std::string id;
  /// State::inactive or State::failed (the restart policy gave up)
  State state = State::inactive;
  /// how its latest attempt ended (code, or 128 + signal); unset when its latest launch never ran
  /// the task or the end was not recorded (`note` says which)
  std::optional<ExitView> exit;
  /// what it counts as: exit->code, else 1
  int code = 0;
  /// why there is no exit ("it never ran", "the wrapper ended without recording how the task ended"),
  /// else empty
  std::string note;
};

/// What Controller::wait() found.
struct SPMI_API WaitOutcome
{
  /// the ended ones, in ID order (all of them unless it timed out)
  std::vector<WaitEnd> ended;
  /// on timeout, the IDs that had not ended, in ID order; empty otherwise
  std::vector<std::string> running;

  /// True when the timeout came first.
  bool timed_out() const { return !running.empty(); }
  /// `spmi wait`'s exit status: k_timeout when it timed out, else 0 when every one ended with 0, else
  /// the code of the first (in ID order) that did not: its exit code, 128 + the signal that ended it, or 1
  /// when it has no recorded end.
  int exit_status() const;

  /// The exit status of a wait that timed out, as timeout(1) has it.
  static constexpr int k_timeout = 124;
};

} // namespace spmi

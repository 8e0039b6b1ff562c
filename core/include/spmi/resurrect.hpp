// SPDX-License-Identifier: MIT
/// \file
/// What `spmi resurrect` decides for each manageable after a reboot, and what came of it
/// (Controller::resurrect()).
#pragma once

#include <spmi/export.hpp>

#include <exception>
#include <filesystem>
#include <string>
#include <vector>

namespace spmi {

/// Why `spmi resurrect` starts a manageable or leaves it alone.
enum class ResurrectVerdict
{
  start,          ///< wanted up, autostart on, running when the host went down, and that was another boot
  active,         ///< already running (a wrapper holds its alive lock)
  pending,        ///< already queued by its backend
  stopped,        ///< the user stopped or killed it (launch.json: wanted "down")
  autostart_off,  ///< its descriptor's `autostart` is off
  not_running,    ///< it had finished (or never ran) before the host went down
  same_boot,      ///< its wrapper died in this very boot: a crash, not a reboot
  unknown,        ///< its state or plugins can't be read, so nothing can be decided
};

/// One manageable's line in the outcome of `spmi resurrect`.
struct SPMI_API ResurrectOutcome
{
  /// its ID
  std::string id;
  /// what was decided
  ResurrectVerdict verdict = ResurrectVerdict::unknown;
  /// why, in words ("stopped by the user (spmi stop)")
  std::string reason;
  /// verdict start, and the start succeeded (false in a dry run)
  bool started = false;
  /// verdict start and the start failed, or verdict unknown: the error (rethrow it to read it)
  std::exception_ptr error;

  /// One line for people and for resurrect.log: "web: started (wanted up, ...)",
  /// "db: skipped: stopped by the user (spmi stop)", "x: start failed: <error>".
  /// With `dry_run`, "would start" instead of "started".
  std::string summary(bool dry_run) const;
  /// True when this outcome makes `spmi resurrect` fail: a failed start, or state that can't be read.
  bool failed() const { return error != nullptr; }
};

/// Everything one `spmi resurrect` did.
struct SPMI_API ResurrectReport
{
  /// this boot's ID (process::boot_id())
  std::string boot_id;
  /// where the outcome was appended (not in a dry run)
  std::filesystem::path log_path;
  /// one per selected manageable, in ID order
  std::vector<ResurrectOutcome> outcomes;
  /// nothing was started or written
  bool dry_run = false;
};

} // namespace spmi

// SPDX-License-Identifier: MIT
/// \file
/// What `spmi reload` and `spmi load --replace` do to each manageable (Controller::reload(),
/// Controller::load_replace()).
#pragma once

#include <spmi/export.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace spmi {

/// What a reload did (or, as a dry run, would do) to one manageable.
struct SPMI_API ReloadOutcome
{
  /// its ID
  std::string id;
  /// the descriptor file read
  std::filesystem::path source;
  /// it was loaded and is replaced; false: `load --replace` loads it for the first time
  bool replaced = false;
  /// active or pending: its task keeps what it was started with until `spmi restart`
  bool running = false;
  /// the descriptor's keys whose values change, dotted ("task.wrapper.command"); values are never shown
  std::vector<std::string> changed_keys;
  /// the recorded working directory changes (`load --replace` from another directory)
  bool cwd_changed = false;
  /// names of the variables the newly captured environment adds, removes or changes
  std::vector<std::string> environment_changes;
  /// no environment was recorded before (loaded by an older spmi): from now on the captured one
  bool environment_recorded = false;
};

} // namespace spmi

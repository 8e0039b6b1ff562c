// SPDX-License-Identifier: MIT
// One manageable's start in progress, shared by controller_start.cpp (prepare, wait, finish) and
// controller_launch.cpp (the launch, alone or in a group): not installed.
#pragma once

#include <spmi/controller.hpp>
#include <spmi/plugin.hpp>
#include <spmi/process.hpp>
#include <spmi/state.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace spmi {

struct Controller::PendingStart
{
  PendingStart(std::string id_, ManageableDir dir_, DirLock lock_, std::unique_ptr<Manageable> manageable_,
               std::string token_)
    : id(std::move(id_)), dir(std::move(dir_)), lock(std::move(lock_)), manageable(std::move(manageable_)),
      token(std::move(token_))
  {
  }
  std::string id;
  ManageableDir dir;
  DirLock lock;
  std::unique_ptr<Manageable> manageable;
  std::string token;
  LaunchResult launched;
  LaunchRecord launch;
  std::optional<RunRecord> run;
  std::optional<process::ExitStatus> launcher_exit;
  std::uint64_t log_offset = 0;  // wrapper.log's size before the launch: what came after is the launch's
  int revision = 1;              // of the manageable.json this launch runs
  std::optional<LaunchPlan> plan;  // how it launches, when its manageable says (grouped by backend)
  bool unsynced = false;            // launch.json written by finish(), not yet synced
};

} // namespace spmi

// SPDX-License-Identifier: MIT
// What the run protocol does about the user's wishes and about its own death: a task the user ended
// is never restarted; a SIGKILLed wrapper is replaced by its watchdog when a restart policy allows it.
#pragma once

#include "logic.hpp"

#include <spmi/membership.hpp>
#include <spmi/state.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace spmi::wrapper {

/// The environment variable through which a replaced wrapper hands its alive lock to its successor.
inline constexpr const char* k_alive_fd_variable = "SPMI_ALIVE_FD";

/// True when the user asked this run to end: `stop`/`kill` wrote launch.json with this token and
/// wanted "down" before signalling.
bool wanted_down(const ManageableDir& dir, const std::string& token);

/// Drops the restart times older than `window` before `now`; @return how many are left.
int recent_restarts(std::vector<TimePoint>& times, std::chrono::milliseconds window, TimePoint now);

/// The alive lock's descriptor a killed wrapper's watchdog handed over ($SPMI_ALIVE_FD, then unset);
/// -1 when this wrapper is not a replacement.
int inherited_alive_fd();

/// Body of the watchdog once its wrapper is gone: ends every process of the run (`group`, which then
/// also counts processes carrying the run's marker), then either execs a new wrapper for the same run
/// (a restart policy that allows another attempt, the user still wants it up, nothing survived) that
/// takes over `alive_fd` and starts the task after its backoff, or records that the wrapper was killed.
void after_wrapper_killed(const ManageableDir& dir, const std::string& token, process::TaskGroup& group, int alive_fd,
                          const RunSettings& settings);

/// Appends a line to the manageable's wrapper.log (best effort: a full disk drops it).
void append_log(const ManageableDir& dir, const std::string& line);

/// Moves the wrapper into its run's `supervisor/` cgroup (TaskGroup::join()), once its task runs; a
/// failure is logged to wrapper.log (the wrapper then stays where it was; its task is in its cgroup).
void join_supervisor(const ManageableDir& dir, process::TaskGroup& group);

} // namespace spmi::wrapper

// SPDX-License-Identifier: MIT
/// \file
/// Acting on what a run record names (part of the process module). A record is a file: whoever could
/// write it, or a pid reused since, must not turn a `stop` into a signal to another process, nor make a
/// cgroup that is not the run's own count as its task. So a recorded wrapper is signalled only while it
/// is verifiably that wrapper, and a recorded cgroup is used only when it is the one spmi made for the run.
#pragma once

#include <spmi/export.hpp>
#include <spmi/state.hpp>

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace spmi::process {

/// When process `pid` started: field 22 of `/proc/PID/stat`, in clock ticks after boot. Within one boot
/// a pid with its start time names one process for good (a pid is reused, that pair is not). nullopt
/// when the process is gone, a zombie or unreadable.
SPMI_API std::optional<std::uint64_t> start_time(pid_t pid);

/// Why `run.wrapper_pid` is not (or no longer) the wrapper of the manageable in `dir`: "" when it is,
/// that is when run.json records its start time and this boot's ID, a live process with that pid
/// started at that time, `dir` is active and that process has `alive` open with the lock on it.
/// Never throws.
SPMI_API std::string wrapper_problem(const ManageableDir& dir, const RunRecord& run);

/// Sends `signo` to the wrapper `run` names, only when wrapper_problem() finds none. The process is held
/// by a pidfd (pidfd_open) from before the checks to the signal (pidfd_send_signal), so they are about
/// the same process even if its pid is reused meanwhile. Every backend that signals a wrapper by its pid
/// calls this. @return false when no such process exists (the wrapper has ended) or the signal failed.
/// @throws StateError when the process is not the wrapper: naming the pid and why, saying that nothing
/// was signalled and what to do.
SPMI_API bool signal_wrapper(const ManageableDir& dir, const RunRecord& run, int signo);

/// The task cgroup `run` records for manageable `id`, when it is one spmi made for that run: an absolute
/// path without "." or ".." components of the form BASE/ID-TOKEN/task (the name escaped as cgroups need, TOKEN
/// run.json's), where BASE is where runs of this user get their cgroups now (process::probe_cgroup(),
/// also when `SPMI_MEMBERSHIP=fallback` is set); or else BASE/ID-TOKEN is a directory on cgroup v2 owned
/// by this user and writable by no one else (the base of a user moves with the cgroup that ran
/// `spmi start`), or does not exist. An empty path for a fallback run (no cgroup recorded), and when the
/// recorded path is not such a one; then `why` (if given) says why. Never throws.
SPMI_API std::filesystem::path trusted_cgroup(const std::string& id, const RunRecord& run, std::string* why = nullptr);

} // namespace spmi::process

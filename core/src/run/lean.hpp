// SPDX-License-Identifier: MIT
// The lean supervisor `spmi-supervise`, a static program made of the protocol's code only, which runs
// the same protocol with a fraction of the memory: no shared libraries to relocate, no plugin registry,
// no descriptor parsers. A wrapper that adds nothing to the run protocol (no hooks) has the backend
// start it directly (lean_launch_argv(): `start` writes the settings to the manageable's supervise.json);
// `spmi __run` of such a wrapper (a replacement after a killed one) replaces itself with it once it has
// read its settings (a memfd). Same pid, same session, same alive lock: to the backend and to every
// command it is the wrapper process.
#pragma once

#include <spmi/membership.hpp>
#include <spmi/process.hpp>
#include <spmi/run_protocol.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace spmi::wrapper {

/// Where lean_launch_argv() leaves a start's settings (with its token) in the manageable's directory,
/// and the option that tells spmi-supervise to read them there.
inline constexpr const char* k_launched_settings_file = "supervise.json";
inline constexpr const char* k_launched_option = "--launched";

/// RunSettings as JSON and back: what the wrapper hands the lean supervisor.
SPMI_API nlohmann::json settings_to_json(const RunSettings& settings);
/// @throws SystemError for a document settings_to_json() did not make.
SPMI_API RunSettings settings_from_json(const nlohmann::json& json);

/// The lean supervisor's path: `<bindir>/<SPMI_SUPERVISE_FROM_BIN>` beside spmi's executable, or
/// nullopt when it is not there or not trusted (`why` then says why; empty when it is simply absent).
std::optional<std::filesystem::path> lean_supervisor(std::string& why);

/// Replaces this process with the lean supervisor running `settings` for `dir` and `token`, when
/// wanted: not inside the lean supervisor itself, not with $SPMI_SUPERVISE=inprocess. Returns (and the
/// caller supervises in this process) when it is not wanted or exec failed; wrapper.log says why when
/// it was wanted.
void exec_lean_supervisor(const ManageableDir& dir, const std::string& token, const RunSettings& settings);

/// In the lean supervisor: spmi's executable, which a replacement wrapper runs (wrapper_argv()), and
/// the settings' memfd, kept open (close-on-exec) for each watchdog it starts.
void set_wrapper_executable(const std::filesystem::path& spmi, int settings_fd);
/// The executable set by set_wrapper_executable(); empty outside the lean supervisor.
const std::filesystem::path& wrapper_executable();

/// In the lean supervisor, the watchdog as a program of its own, `spmi-supervise --watchdog <spmi> <dir>
/// <token> <settings-fd> <caller> <alive-fd> <origin>` (behind `spmi-watchdog <caller>` where there is
/// a trusted one), with the wrapper's marker in its environment as a forked watchdog has it; outside
/// the lean supervisor, none (nullopt).
std::optional<process::WatchdogProgram> watchdog_program(const ManageableDir& dir, const std::string& token,
                                                         int alive_fd, const process::TaskGroup& group);

} // namespace spmi::wrapper

// SPDX-License-Identifier: MIT
// The wrapper process (`spmi __run`), whose log, spmi's logger, writes to the manageable's wrapper.log.
#pragma once

#include <spdlog/logger.h>

#include <filesystem>
#include <memory>
#include <string>

namespace spmi::cli {

// Makes `logger` (spmi's, which plugins get as PluginContext::logger) append each line to the
// wrapper.log of the manageable directory `dir`, instead of stderr (a backend's terminal, /dev/null, or
// that same file): "wrapper <pid>: [<date> <time>,<ms> - <LEVEL>] <message>", control characters
// escaped. Appends go through ManageableDir (openat on the verified directory, O_NOFOLLOW, O_APPEND,
// mode 0600), one write per line; a line that can't be appended there goes to stderr.
void log_to_wrapper_log(spdlog::logger& logger, const std::filesystem::path& dir);

// The whole of `spmi __run <dir> <token>` (the wrapper process, see run_protocol.hpp), before any other
// command-line work (every `start` pays for this process's start-up): logs to wrapper.log, runs the
// launch through the Controller. @return its exit status.
int run_wrapper_process(const std::filesystem::path& dir, const std::string& token);

} // namespace spmi::cli

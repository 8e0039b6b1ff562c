// SPDX-License-Identifier: MIT
/// \file
/// spmi's logger: the guide's "[YYYY-MM-DD HH:MM:SS,mmm - Spmi - LEVEL]" then the message, on stderr.
#pragma once

#include <spmi/export.hpp>

#include <spdlog/logger.h>

#include <memory>

namespace spmi {

/// The process-wide logger, created on first use at level info.
SPMI_API std::shared_ptr<spdlog::logger> logger();
/// Sets the logger's level (debug for -d).
SPMI_API void set_debug(bool on);
/// Colours the level word (ERROR red, WARNING yellow); the CLI turns it on for a terminal without NO_COLOR.
SPMI_API void set_log_color(bool on);

} // namespace spmi

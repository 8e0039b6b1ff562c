// SPDX-License-Identifier: MIT
// The spmi commands: each prints what the guide shows and returns the process exit status.
#pragma once

#include <spmi/controller.hpp>
#include <spmi/registry.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace spmi::cli {

int cmd_list(Controller& controller);
int cmd_load(Controller& controller, const std::vector<std::filesystem::path>& paths);
// start, stop, kill, clean: `verb` is one of those words.
int cmd_batch(Controller& controller, const std::string& verb, const std::vector<std::string>& patterns);
int cmd_status(Controller& controller, const std::vector<std::string>& patterns);
int cmd_connect(Controller& controller, const std::string& id);
// Every plugin type found, shadowed and conflicting classes, rejected files, and the directories.
int cmd_plugins(PluginRegistry& registry);

// "0:00:49", "2 days, 3:04:05": the guide's form of a time span.
std::string format_delta(std::chrono::seconds delta);

} // namespace spmi::cli

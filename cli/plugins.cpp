// SPDX-License-Identifier: MIT
// `spmi plugins`: what the plugin directories offer, read from the files without running plugin code.
#include "commands.hpp"

#include <spmi/membership.hpp>
#include <spmi/names.hpp>
#include <spmi/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <iostream>

namespace spmi::cli {

namespace {

int
kind_rank(PluginKind kind)
{
  switch (kind) {
    case PluginKind::manageable:
      return 0;
    case PluginKind::backend:
      return 1;
    case PluginKind::wrapper:
      return 2;
  }
  return 3;
}

} // namespace

int
cmd_plugins(PluginRegistry& registry)
{
  auto plugins = registry.plugins();
  std::sort(plugins.begin(), plugins.end(), [](const PluginInfo& a, const PluginInfo& b) {
    return std::make_pair(kind_rank(a.kind), a.type) < std::make_pair(kind_rank(b.kind), b.type);
  });
  std::size_t type_width = 4;
  std::size_t class_width = 5;
  for (const auto& plugin : plugins) {
    type_width = std::max(type_width, plugin.type.size());
    class_width = std::max(class_width, plugin.class_name.size());
  }
  std::string out;
  out += fmt::format("{:<10} {:<{}} {:<{}} {}\n", "KIND", "TYPE", type_width, "CLASS", class_width, "FILE");
  for (const auto& plugin : plugins) {
    out += fmt::format("{:<10} {:<{}} {:<{}} {}{}\n", kind_name(plugin.kind), plugin.type, type_width,
                       plugin.class_name, class_width, escape_control(plugin.file.string()),
                       plugin.conflict ? "  (CONFLICT: see below)" : "");
  }
  if (plugins.empty()) {
    out += "(no plugins found)\n";
  }

  std::string shadowed;
  std::string conflicts;
  for (const auto& plugin : plugins) {
    for (const auto& file : plugin.shadowed) {
      shadowed += fmt::format("  {}: {} {} is shadowed by {}\n", escape_control(file.string()), kind_name(plugin.kind),
                              plugin.class_name, escape_control(plugin.file.string()));
    }
    if (plugin.conflict) {
      conflicts += fmt::format("  {} {} is exported by both {} and {}: neither is used; remove or rename one\n",
                               kind_name(plugin.kind), plugin.class_name, escape_control(plugin.file.string()),
                               escape_control(plugin.conflict->string()));
    }
  }
  if (!shadowed.empty()) {
    out += "\nShadowed (an earlier directory exports the same class):\n" + shadowed;
  }
  if (!conflicts.empty()) {
    out += "\nConflicts (one class exported twice in one directory):\n" + conflicts;
  }
  const auto& rejected = registry.rejected();
  if (!rejected.empty()) {
    out += "\nRejected:\n";
    for (const auto& file : rejected) {
      out += fmt::format("  {}: {}\n", escape_control(file.file.string()), escape_control(file.reason));
    }
  }

  out += "\nPlugin directories, earlier first:\n";
  const auto user = PluginRegistry::user_dir();
  for (const auto& dir : registry.dirs()) {
    std::error_code ec;
    const bool present = std::filesystem::is_directory(dir, ec);
    const bool yours = user && dir == *user;
    out += fmt::format("  {}{}\n", escape_control(dir.string()),
                       yours ? (present ? " (yours)" : " (yours, absent)") : (present ? "" : " (absent)"));
  }
  // Which processes a task started now would count as its own (see membership.hpp).
  const auto probe = process::probe_cgroup();
  out += fmt::format("\nTask membership: {}\n", probe.base.empty() ? "process tree (fallback: " + probe.note + ")"
                                                                    : probe.note);
  std::cout << out << std::flush;
  return 0;
}

} // namespace spmi::cli

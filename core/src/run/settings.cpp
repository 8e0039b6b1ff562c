// SPDX-License-Identifier: MIT
// RunSettings::from_section(): the default wrapper's keys, read from a wrapper table.
#include "logic.hpp"

#include <spmi/errors.hpp>
#include <spmi/process.hpp>
#include <spmi/run_protocol.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace spmi {

namespace {

// While loading, reports keys that are neither the protocol's nor the caller's own.
void
warn_unknown(const PluginContext& context, std::initializer_list<std::string_view> own_keys)
{
  auto known = RunSettings::keys();
  known.insert(known.end(), own_keys.begin(), own_keys.end());
  warn_unknown_keys(context, known);
}

} // namespace

std::vector<std::string_view>
RunSettings::keys()
{
  return {"type", "command", "mixed_stdout", "stop_signal", "stop_timeout", "restart", "restart_delay",
          "restart_delay_max", "max_restarts", "restart_window", "env", "env_file", "cwd", "max_output_size",
          "output_files_kept", "timestamps", "autostart", "max_memory"};
}

// One reader for the whole table, so every wrapper built on the protocol reads it alike.
RunSettings
RunSettings::from_section(const PluginContext& context, std::initializer_list<std::string_view> own_keys)
{
  using namespace std::chrono_literals;
  constexpr std::chrono::milliseconds k_max_delay = 24h;     // stop_timeout, restart_delay(_max)
  constexpr std::chrono::milliseconds k_max_window = 8760h;  // restart_window: a year
  const auto& section = context.section;
  warn_unknown(context, own_keys);
  RunSettings s;
  s.command = section.require_string("command");
  s.mixed_stdout = section.optional_bool("mixed_stdout", false);
  s.stop_signal = section.optional_signal("stop_signal").value_or(s.stop_signal);
  s.stop_timeout = section.optional_duration("stop_timeout", 0ms, k_max_delay).value_or(s.stop_timeout);

  // Restart policy.
  if (auto text = section.optional_string("restart")) {
    auto policy = wrapper::parse_restart_policy(*text);
    if (!policy) {
      throw DescriptorError(fmt::format("{}: '{}' is not a restart policy; use \"no\", \"on-failure\" or \"always\"",
                                        section.where("restart"), *text));
    }
    s.restart = *policy;
  }
  s.restart_delay = section.optional_duration("restart_delay", 0ms, k_max_delay).value_or(s.restart_delay);
  s.restart_delay_max = section.optional_duration("restart_delay_max", 0ms, k_max_delay)
                          .value_or(std::max(s.restart_delay_max, s.restart_delay));
  if (s.restart_delay_max < s.restart_delay) {
    throw DescriptorError(fmt::format("{}: {} s is less than restart_delay ({} s); make it at least that",
                                      section.where("restart_delay_max"), s.restart_delay_max.count() / 1000.0,
                                      s.restart_delay.count() / 1000.0));
  }
  s.max_restarts = static_cast<int>(section.optional_integer("max_restarts", 1, 1000000).value_or(s.max_restarts));
  // Started again by `spmi resurrect` after a reboot: by default exactly when a restart policy is set.
  s.autostart = section.optional_bool("autostart", s.restart != RestartPolicy::no);
  s.restart_window = section.optional_duration("restart_window", 1ms, k_max_window).value_or(s.restart_window);
  s.max_memory = section.optional_size("max_memory", wrapper::k_min_memory, "no limit").value_or(0);

  // Environment and place. Relative paths are relative to the descriptor's directory.
  s.cwd = section.optional_path("cwd");
  s.env_file = section.optional_path("env_file");
  s.cwd_where = section.where("cwd");
  s.env_file_where = section.where("env_file");
  s.env = section.string_table(
    "env", {wrapper::is_env_name, "a valid variable name", "letters, digits and _, not starting with a digit"});

  // Output: bounded by default (wrapper::k_default_max_output_size); 0 for no limit.
  s.max_output_size = section.optional_size("max_output_size", wrapper::k_min_output_size, "no limit")
                        .value_or(wrapper::k_default_max_output_size);
  s.output_files_kept =
    static_cast<int>(section.optional_integer("output_files_kept", 0, 1000).value_or(s.output_files_kept));
  s.timestamps = section.optional_bool("timestamps", false);
  return s;
}

} // namespace spmi

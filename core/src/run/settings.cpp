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

namespace fs = std::filesystem;

std::chrono::milliseconds
to_ms(double seconds)
{
  return std::chrono::milliseconds(static_cast<long long>(std::llround(seconds * 1000)));
}

// While loading, warns about keys that are neither the protocol's nor the caller's own.
void
warn_unknown(const PluginContext& context, std::initializer_list<std::string_view> own_keys)
{
  if (!context.loading || !context.section.node().is_object()) {
    return;
  }
  const auto known = RunSettings::keys();
  for (const auto& item : context.section.node().items()) {
    const std::string_view key = item.key();
    if (std::find(known.begin(), known.end(), key) == known.end() &&
        std::find(own_keys.begin(), own_keys.end(), key) == own_keys.end()) {
      context.logger->warn("{}: ignoring unknown key '{}'", context.section.where(key), key);
    }
  }
}

} // namespace

std::vector<std::string_view>
RunSettings::keys()
{
  return {"type", "command", "mixed_stdout", "stop_signal", "stop_timeout", "restart", "restart_delay",
          "restart_delay_max", "max_restarts", "restart_window", "env", "env_file", "cwd", "max_output_size",
          "output_files_kept", "timestamps", "autostart"};
}

// One reader for the whole table, so every wrapper built on the protocol reads it alike. (About 90
// lines: one step per key, in the guide's order.)
RunSettings
RunSettings::from_section(const PluginContext& context, std::initializer_list<std::string_view> own_keys)
{
  RunSettings s;
  const auto& section = context.section;
  warn_unknown(context, own_keys);
  s.command = section.require_string("command");
  s.mixed_stdout = section.optional_bool("mixed_stdout", false);
  if (auto name = section.optional_string("stop_signal")) {
    auto signo = process::parse_signal(*name);
    if (!signo) {
      throw DescriptorError(fmt::format("{}: unknown signal '{}'; use a name such as SIGINT or SIGTERM",
                                        section.where("stop_signal"), *name));
    }
    s.stop_signal = *signo;
  }
  auto seconds_key = [&](const char* key, double low, double high) -> std::optional<std::chrono::milliseconds> {
    auto value = section.optional_number(key);
    if (!value) {
      return std::nullopt;
    }
    if (!(*value >= low && *value <= high)) {
      throw DescriptorError(fmt::format("{}: {} is out of range; use {} to {} seconds", section.where(key), *value,
                                        low, high));
    }
    return to_ms(*value);
  };
  s.stop_timeout = seconds_key("stop_timeout", 0, 86400).value_or(s.stop_timeout);

  // Restart policy.
  if (auto text = section.optional_string("restart")) {
    auto policy = wrapper::parse_restart_policy(*text);
    if (!policy) {
      throw DescriptorError(fmt::format("{}: '{}' is not a restart policy; use \"no\", \"on-failure\" or \"always\"",
                                        section.where("restart"), *text));
    }
    s.restart = *policy;
  }
  auto count_key = [&](const char* key, double low, double high) -> std::optional<int> {
    auto value = section.optional_number(key);
    if (!value) {
      return std::nullopt;
    }
    if (!(*value >= low && *value <= high) || std::floor(*value) != *value) {
      throw DescriptorError(fmt::format("{}: {} is not allowed; use a whole number from {} to {}",
                                        section.where(key), *value, low, high));
    }
    return static_cast<int>(*value);
  };
  s.restart_delay = seconds_key("restart_delay", 0, 86400).value_or(s.restart_delay);
  s.restart_delay_max = seconds_key("restart_delay_max", 0, 86400).value_or(std::max(s.restart_delay_max, s.restart_delay));
  if (s.restart_delay_max < s.restart_delay) {
    throw DescriptorError(fmt::format("{}: {} s is less than restart_delay ({} s); make it at least that",
                                      section.where("restart_delay_max"), s.restart_delay_max.count() / 1000.0,
                                      s.restart_delay.count() / 1000.0));
  }
  s.max_restarts = count_key("max_restarts", 1, 1000000).value_or(s.max_restarts);
  // Started again by `spmi resurrect` after a reboot: by default exactly when a restart policy is set.
  s.autostart = section.optional_bool("autostart", s.restart != wrapper::RestartPolicy::no);
  s.restart_window = seconds_key("restart_window", 0.001, 31536000).value_or(s.restart_window);

  // Environment and place. Relative paths are relative to the descriptor's directory.
  const fs::path base = fs::path(section.file()).parent_path();
  auto path_key = [&](const char* key) -> std::optional<fs::path> {
    auto text = section.optional_string(key);
    if (!text) {
      return std::nullopt;
    }
    if (text->empty()) {
      throw DescriptorError(fmt::format("{}: empty path; give a path or leave the key out", section.where(key)));
    }
    fs::path path(*text);
    return path.is_absolute() ? path : base / path;
  };
  s.cwd = path_key("cwd");
  s.env_file = path_key("env_file");
  s.cwd_where = section.where("cwd");
  s.env_file_where = section.where("env_file");
  if (section.has("env")) {
    const auto& env = section.node().at("env");
    if (!env.is_object()) {
      throw DescriptorError(fmt::format("{}: must be a table of variables (NAME = \"value\")", section.where("env")));
    }
    for (const auto& [name, value] : env.items()) {
      const auto where = fmt::format("{}.{}", section.where("env"), name);
      if (!wrapper::is_env_name(name)) {
        throw DescriptorError(fmt::format("{}: '{}' is not a valid variable name; use letters, digits and _, "
                                          "not starting with a digit", where, name));
      }
      if (!value.is_string()) {
        throw DescriptorError(fmt::format("{}: must be a string; quote it", where));
      }
      s.env.emplace_back(name, value.get<std::string>());
    }
  }

  // Output: bounded by default (wrapper::k_default_max_output_size); 0 for no limit.
  const auto* size_node = section.has("max_output_size") ? &section.node().at("max_output_size") : nullptr;
  const auto size = wrapper::max_output_size(size_node);
  if (!size) {
    throw DescriptorError(fmt::format("{}: {} is not a size; use bytes (at least {}) or a number with K, M or G "
                                      "(\"10M\"), or 0 for no limit",
                                      section.where("max_output_size"), size_node->dump(), wrapper::k_min_output_size));
  }
  s.max_output_size = *size;
  s.output_files_kept = count_key("output_files_kept", 0, 1000).value_or(s.output_files_kept);
  s.timestamps = section.optional_bool("timestamps", false);
  return s;
}

} // namespace spmi

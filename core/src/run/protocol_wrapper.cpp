// SPDX-License-Identifier: MIT
// ProtocolWrapper: a Wrapper made of the run protocol (its settings from the wrapper's table, its hooks
// the virtual on_start/on_end), the base of DefaultWrapper and of third-party wrappers.
#include "logic.hpp"

#include <spmi/names.hpp>
#include <spmi/run_protocol.hpp>

#include <fmt/format.h>

namespace spmi {

ProtocolWrapper::ProtocolWrapper(const PluginContext& context, std::initializer_list<std::string_view> own_keys)
  : m_settings(RunSettings::from_section(context, own_keys))
{
}

int
ProtocolWrapper::run(const ManageableDir& dir, const std::string& token)
{
  RunHooks hooks;
  hooks.facts_key = class_name_for(type(), PluginKind::wrapper);
  hooks.on_start = [this](Attempt& attempt) { on_start(attempt); };
  hooks.on_end = [this](Attempt& attempt, const process::ExitStatus& status) { on_end(attempt, status); };
  return run_protocol(dir, token, m_settings, hooks);
}

void
ProtocolWrapper::add_status(const StatusQuery&, StatusReport& report) const
{
  using namespace wrapper;
  const auto& s = m_settings;
  report.lines.push_back({"Restart policy", restart_policy_text(s)});
  if (s.max_memory > 0) {
    report.lines.push_back({"Memory limit", fmt::format("{} (max_memory, sampled every {})", size_text(s.max_memory),
                                                        seconds_text(k_memory_interval))});
  }
  const auto seconds = [](std::chrono::milliseconds d) { return static_cast<double>(d.count()) / 1000.0; };
  auto& mine = report.plugins[class_name_for(type(), PluginKind::wrapper)];
  mine["restart"] = s.restart == RestartPolicy::no ? "no" : s.restart == RestartPolicy::always ? "always" : "on-failure";
  mine["max_restarts"] = s.max_restarts;
  mine["restart_window_seconds"] = seconds(s.restart_window);
  mine["restart_delay_seconds"] = seconds(s.restart_delay);
  mine["restart_delay_max_seconds"] = seconds(s.restart_delay_max);
  mine["max_memory_bytes"] = s.max_memory > 0 ? nlohmann::json(s.max_memory) : nlohmann::json(nullptr);
  auto& setup = report.setup;
  setup.known = true;
  setup.cwd = m_settings.cwd;
  setup.env_file = m_settings.env_file;
  for (const auto& variable : m_settings.env) {
    setup.env_names.push_back(variable.first);
  }
}

void
ProtocolWrapper::on_start(Attempt&)
{
}

void
ProtocolWrapper::on_end(Attempt&, const process::ExitStatus&)
{
}

} // namespace spmi

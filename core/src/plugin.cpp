// SPDX-License-Identifier: MIT
// Key functions of the plugin interfaces: their vtables and typeinfo live once, in libspmi_core.so.
#include <spmi/errors.hpp>
#include <spmi/plugin.hpp>
#include <spmi/process.hpp>

#include <fmt/format.h>

#include <csignal>

namespace spmi {

Backend::~Backend() = default;
Wrapper::~Wrapper() = default;
Manageable::~Manageable() = default;

std::map<std::string, QueueState>
Backend::queue_states(const std::vector<std::string>&)
{
  return {};
}

bool
Backend::cancel(const LaunchRecord&)
{
  return false;
}

void
Backend::add_status(const StatusQuery&, StatusReport&) const
{
}

void
Wrapper::add_status(const StatusQuery&, StatusReport&) const
{
}

LaunchResult
launch_detached(const std::vector<std::string>& argv, std::string_view backend)
{
  process::SpawnOptions options;
  options.argv = argv;
  options.new_session = true;
  try {
    LaunchResult result;
    result.launcher_pid = process::spawn(options);
    result.backend_id = std::to_string(result.launcher_pid);
    return result;
  } catch (const Error& e) {
    throw BackendError(fmt::format("backend '{}': {}", backend, e.what()));
  }
}

void
warn_unknown_keys(const PluginContext& context, std::initializer_list<std::string_view> known)
{
  if (!context.loading) {
    return;
  }
  for (const auto& key : context.section.unknown_keys(known)) {
    context.logger->warn("{}: ignoring unknown key '{}'", context.section.where(key), key);
  }
}

int
kill_request_signal()
{
  return SIGRTMIN + 1;
}

} // namespace spmi

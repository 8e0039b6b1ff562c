// SPDX-License-Identifier: MIT
// Key functions of the plugin interfaces: their vtables and typeinfo live once, in libspmi_core.so.
#include <spmi/errors.hpp>
#include <spmi/plugin.hpp>
#include <spmi/process.hpp>
#include <spmi/run_protocol.hpp>
#include <spmi/suggest.hpp>

#include "plugin_guard.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
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

std::map<std::string, QueueInfo>
Backend::queue_report(const std::vector<std::string>& backend_ids)
{
  if (detail::t_report_probe == detail::ReportProbe::probing) {
    detail::t_report_probe = detail::ReportProbe::default_body;  // the proxy asks queue_states itself
    return {};
  }
  std::map<std::string, QueueInfo> report;
  for (const auto& [id, state] : queue_states(backend_ids)) {
    report[id] = QueueInfo{state, ""};
  }
  return report;
}

std::vector<LaunchResult>
Backend::launch_many(const std::vector<LaunchSpec>& specs)
{
  std::vector<LaunchResult> results(specs.size());
  for (std::size_t i = 0; i < specs.size(); ++i) {
    try {
      results[i] = launch(specs[i]);
    } catch (...) {
      results[i].failure = std::current_exception();
    }
  }
  return results;
}

std::optional<LaunchPlan>
Manageable::plan_launch(const ManageableDir&, const std::string&)
{
  return std::nullopt;
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

std::vector<std::string>
Wrapper::launch_argv(const ManageableDir& dir, const std::string& token) const
{
  return wrapper_argv(dir, token);
}

namespace {

LaunchResult
spawn_detached(const std::vector<std::string>& argv, std::string_view backend, int output_fd)
{
  process::SpawnOptions options;
  options.argv = argv;
  options.new_session = true;
  options.stdout_fd = output_fd;
  options.stderr_fd = output_fd;
  try {
    LaunchResult result;
    result.launcher_pid = process::spawn(options);
    result.backend_id = std::to_string(result.launcher_pid);
    return result;
  } catch (const Error& e) {
    throw BackendError(fmt::format("backend '{}': {}", backend, e.what()));
  }
}

} // namespace

LaunchResult
launch_detached(const std::vector<std::string>& argv, std::string_view backend)
{
  return spawn_detached(argv, backend, -1);
}

LaunchResult
launch_detached(const std::vector<std::string>& argv, std::string_view backend, const LaunchSpec& spec)
{
  if (spec.dir == nullptr) {
    return spawn_detached(argv, backend, -1);
  }
  // Appended, never truncated: the lines of earlier launches and wrappers stay. A launcher that fails
  // prints why (screen: on stdout), and `start` quotes it from here.
  const int log = spec.dir->open_file("wrapper.log", O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (log < 0) {
    throw_errno("cannot open " + spec.dir->wrapper_log_path().string());
  }
  try {
    auto result = spawn_detached(argv, backend, log);
    ::close(log);
    return result;
  } catch (...) {
    ::close(log);
    throw;
  }
}

void
warn_unknown_keys(const PluginContext& context, std::initializer_list<std::string_view> known)
{
  warn_unknown_keys(context, std::vector<std::string_view>(known));
}

void
warn_unknown_keys(const PluginContext& context, const std::vector<std::string_view>& known)
{
  if (!context.loading || !context.section.node().is_object()) {
    return;
  }
  for (const auto& item : context.section.node().items()) {
    const std::string& key = item.key();
    if (std::find(known.begin(), known.end(), key) != known.end()) {
      continue;
    }
    const auto near = closest_match(key, known);
    const auto hint = near ? fmt::format("; did you mean '{}'?", *near) : std::string("; remove it");
    if (context.unknown_key_errors != nullptr) {
      context.unknown_key_errors->push_back(
        fmt::format("{}: unknown key '{}' (refused: strict loading){}", context.section.where(key), key, hint));
    } else {
      context.logger->warn("{}: ignoring unknown key '{}'{}", context.section.where(key), key,
                           near ? hint : std::string());
    }
  }
}

} // namespace spmi

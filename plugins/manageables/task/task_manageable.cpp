// SPDX-License-Identifier: MIT
// TaskManageable: one shell command, run by a wrapper inside a backend's session.
#include <spmi/errors.hpp>
#include <spmi/plugin.hpp>
#include <spmi/process.hpp>
#include <spmi/registry.hpp>
#include <spmi/run_protocol.hpp>

#include <fmt/format.h>

#include <csignal>

namespace {

using namespace spmi;

class TaskManageable final : public Manageable
{
public:
  explicit TaskManageable(const PluginContext& context) : m_logger(context.logger), m_registry(context.registry)
  {
    const auto& section = context.section;
    warn_unknown_keys(context, {"id", "comment", "backend", "wrapper"});
    const auto backend = section.require_table("backend");
    m_backend = context.registry->create_backend(backend.require_string("type"),
                                                 context.for_table(backend));
    m_backend_settings = backend.node();
    const auto wrapper = section.require_table("wrapper");
    m_wrapper = context.registry->create_wrapper(wrapper.require_string("type"),
                                                 context.for_table(wrapper));
  }

  std::string type() const override { return "task"; }

  LaunchResult start(const ManageableDir& dir, const std::string& token) override
  {
    const auto plan = *plan_launch(dir, token);
    auto result = m_backend->launch(plan.spec);
    result.backend_type = plan.backend_type;
    if (result.backend_settings.is_null()) {
      result.backend_settings = plan.backend_settings;  // recorded: what signals or cancels it is made from it
    }
    return result;
  }

  std::optional<LaunchPlan> plan_launch(const ManageableDir& dir, const std::string& token) override
  {
    LaunchPlan plan;
    plan.backend = m_backend.get();
    plan.spec.argv = m_wrapper->launch_argv(dir, token);
    plan.spec.session_name = "spmi." + dir.id();
    plan.spec.dir = &dir;
    plan.backend_type = m_backend->type();
    plan.backend_settings = m_backend_settings;
    return plan;
  }

  int run(const ManageableDir& dir, const std::string& token) override { return m_wrapper->run(dir, token); }

  bool end(const ManageableDir& dir, const LaunchRecord& launch, const RunRecord& run, Ending how) override
  {
    auto& backend = launched_by(dir, launch);
    switch (how) {
    case Ending::graceful:
      return backend.signal(dir, launch, run, m_wrapper->stop_signal());
    case Ending::kill:
      return backend.signal(dir, launch, run, kill_request_signal());
    case Ending::wrapper:
      return backend.signal(dir, launch, run, SIGKILL);
    }
    return false;
  }

  std::chrono::milliseconds stop_timeout() const override { return m_wrapper->stop_timeout(); }
  bool autostart() const override { return m_wrapper->autostart(); }

  StatusReport status(const StatusQuery& query) const override
  {
    // The backend that made the latest launch speaks for it (its settings may not be the descriptor's).
    const Backend& backend = query.launch ? launched_by(query.dir, *query.launch) : *m_backend;
    StatusReport report;
    report.lines = {
      {"Backend type", backend.type()},
      {"Backend ID", query.launch ? query.launch->backend_id : "-"},
      {"Wrapper type", m_wrapper->type()},
      {"Command", m_wrapper->command()},
    };
    backend.add_status(query, report);
    m_wrapper->add_status(query, report);
    return report;
  }

private:
  // The backend that made `launch`: one made from the settings it recorded, which may not be the
  // descriptor's of now; the descriptor's own for a record without settings (an older version's).
  Backend& launched_by(const ManageableDir& dir, const LaunchRecord& launch) const
  {
    if (!launch.backend_settings.is_object() || launch.backend_settings == m_backend_settings) {
      return *m_backend;
    }
    if (!m_launched || m_launched_settings != launch.backend_settings) {
      m_launched.reset();  // before the table it was made from changes
      m_launched_settings = launch.backend_settings;
      m_launched = m_registry->create_backend(
        launch.backend_type, PluginContext{Section(m_launched_settings, dir.launch_path().string(), "backend_settings"),
                                           m_logger, m_registry});
    }
    return *m_launched;
  }

  std::shared_ptr<spdlog::logger> m_logger;
  PluginRegistry* m_registry;
  nlohmann::json m_backend_settings;  // the backend's table in the descriptor
  std::unique_ptr<Backend> m_backend;
  mutable nlohmann::json m_launched_settings;  // m_launched is made from this table (a cache)
  mutable std::unique_ptr<Backend> m_launched;
  std::unique_ptr<Wrapper> m_wrapper;
};

std::unique_ptr<Manageable>
create(const PluginContext& context)
{
  return std::make_unique<TaskManageable>(context);
}

} // namespace

SPMI_EXPORT_MANAGEABLE(TaskManageable, create)

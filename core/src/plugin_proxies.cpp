// SPDX-License-Identifier: MIT
// The proxies the registry hands out: each implements a plugin interface and forwards every call, and
// its destruction, to the plugin's object inside guarded_call() (plugin_guard.hpp). Calls the core makes
// and calls one plugin makes on another (a task on its backend and wrapper) are guarded alike.
#include "plugin_guard.hpp"

#include <utility>

namespace spmi::detail {

namespace {

class GuardedManageable final : public Manageable
{
public:
  GuardedManageable(std::unique_ptr<Manageable> object, PluginOrigin origin)
    : m_object(std::move(object)), m_origin(std::move(origin))
  {
  }
  ~GuardedManageable() override
  {
    CrashScope scope(m_origin, "its destructor");
    m_object.reset();
  }
  GuardedManageable(const GuardedManageable&) = delete;
  GuardedManageable& operator=(const GuardedManageable&) = delete;

  std::string type() const override
  {
    return guarded_call(m_origin, "type", [&] { return m_object->type(); });
  }
  LaunchResult start(const ManageableDir& dir, const std::string& token) override
  {
    return guarded_call(m_origin, "start", [&] { return m_object->start(dir, token); });
  }
  std::optional<LaunchPlan> plan_launch(const ManageableDir& dir, const std::string& token) override
  {
    return guarded_call(m_origin, "plan_launch", [&] { return m_object->plan_launch(dir, token); });
  }
  int run(const ManageableDir& dir, const std::string& token) override
  {
    const auto log = dir.wrapper_log_path().string();
    return guarded_call(m_origin, "run", [&] { return m_object->run(dir, token); }, log.c_str());
  }
  bool end(const ManageableDir& dir, const LaunchRecord& launch, const RunRecord& run, Ending how) override
  {
    return guarded_call(m_origin, "end", [&] { return m_object->end(dir, launch, run, how); });
  }
  std::chrono::milliseconds stop_timeout() const override
  {
    return guarded_call(m_origin, "stop_timeout", [&] { return m_object->stop_timeout(); });
  }
  StatusReport status(const StatusQuery& query) const override
  {
    return guarded_call(m_origin, "status", [&] { return m_object->status(query); });
  }
  bool autostart() const override
  {
    return guarded_call(m_origin, "autostart", [&] { return m_object->autostart(); });
  }

private:
  std::unique_ptr<Manageable> m_object;
  PluginOrigin m_origin;
};

class GuardedBackend final : public Backend
{
public:
  GuardedBackend(std::unique_ptr<Backend> object, PluginOrigin origin)
    : m_object(std::move(object)), m_origin(std::move(origin))
  {
  }
  ~GuardedBackend() override
  {
    CrashScope scope(m_origin, "its destructor");
    m_object.reset();
  }
  GuardedBackend(const GuardedBackend&) = delete;
  GuardedBackend& operator=(const GuardedBackend&) = delete;

  std::string type() const override
  {
    return guarded_call(m_origin, "type", [&] { return m_object->type(); });
  }
  LaunchResult launch(const LaunchSpec& spec) override
  {
    return guarded_call(m_origin, "launch", [&] { return m_object->launch(spec); });
  }
  bool signal(const ManageableDir& dir, const LaunchRecord& launch, const RunRecord& run, int signo) override
  {
    return guarded_call(m_origin, "signal", [&] { return m_object->signal(dir, launch, run, signo); });
  }
  std::map<std::string, QueueState> queue_states(const std::vector<std::string>& backend_ids) override
  {
    return guarded_call(m_origin, "queue_states", [&] { return m_object->queue_states(backend_ids); });
  }
  std::map<std::string, QueueInfo> queue_report(const std::vector<std::string>& backend_ids) override
  {
    bool defaulted = false;  // the plugin has no queue_report of its own
    auto report = guarded_call(m_origin, "queue_report", [&] {
      t_report_probe = ReportProbe::probing;
      struct Reset
      {
        ~Reset() { t_report_probe = ReportProbe::off; }
      } reset;
      auto answer = m_object->queue_report(backend_ids);
      defaulted = t_report_probe == ReportProbe::default_body;
      return answer;
    });
    if (defaulted) {
      for (const auto& [id, state] : queue_states(backend_ids)) {  // guarded, named queue_states
        report[id] = QueueInfo{state, ""};
      }
    }
    return report;
  }
  std::vector<LaunchResult> launch_many(const std::vector<LaunchSpec>& specs) override
  {
    auto results = guarded_call(m_origin, "launch_many", [&] { return m_object->launch_many(specs); });
    for (auto& result : results) {
      if (result.failure) {
        // What the plugin threw for one spec, made a PluginError as any throw from its code would be.
        try {
          guarded_call(m_origin, "launch_many", [&] { std::rethrow_exception(result.failure); });
        } catch (...) {
          result.failure = std::current_exception();
        }
      }
    }
    return results;
  }
  bool cancel(const LaunchRecord& launch) override
  {
    return guarded_call(m_origin, "cancel", [&] { return m_object->cancel(launch); });
  }
  void add_status(const StatusQuery& query, StatusReport& report) const override
  {
    guarded_call(m_origin, "add_status", [&] { m_object->add_status(query, report); });
  }

private:
  std::unique_ptr<Backend> m_object;
  PluginOrigin m_origin;
};

class GuardedWrapper final : public Wrapper
{
public:
  GuardedWrapper(std::unique_ptr<Wrapper> object, PluginOrigin origin)
    : m_object(std::move(object)), m_origin(std::move(origin))
  {
  }
  ~GuardedWrapper() override
  {
    CrashScope scope(m_origin, "its destructor");
    m_object.reset();
  }
  GuardedWrapper(const GuardedWrapper&) = delete;
  GuardedWrapper& operator=(const GuardedWrapper&) = delete;

  std::string type() const override
  {
    return guarded_call(m_origin, "type", [&] { return m_object->type(); });
  }
  std::string command() const override
  {
    return guarded_call(m_origin, "command", [&] { return m_object->command(); });
  }
  int stop_signal() const override
  {
    return guarded_call(m_origin, "stop_signal", [&] { return m_object->stop_signal(); });
  }
  std::chrono::milliseconds stop_timeout() const override
  {
    return guarded_call(m_origin, "stop_timeout", [&] { return m_object->stop_timeout(); });
  }
  int run(const ManageableDir& dir, const std::string& token) override
  {
    const auto log = dir.wrapper_log_path().string();
    return guarded_call(m_origin, "run", [&] { return m_object->run(dir, token); }, log.c_str());
  }
  std::vector<std::string> launch_argv(const ManageableDir& dir, const std::string& token) const override
  {
    return guarded_call(m_origin, "launch_argv", [&] { return m_object->launch_argv(dir, token); });
  }
  bool autostart() const override
  {
    return guarded_call(m_origin, "autostart", [&] { return m_object->autostart(); });
  }
  void add_status(const StatusQuery& query, StatusReport& report) const override
  {
    guarded_call(m_origin, "add_status", [&] { m_object->add_status(query, report); });
  }

private:
  std::unique_ptr<Wrapper> m_object;
  PluginOrigin m_origin;
};

} // namespace

std::unique_ptr<Manageable>
guard_manageable(std::unique_ptr<Manageable> object, PluginOrigin origin)
{
  return std::make_unique<GuardedManageable>(std::move(object), std::move(origin));
}

std::unique_ptr<Backend>
guard_backend(std::unique_ptr<Backend> object, PluginOrigin origin)
{
  return std::make_unique<GuardedBackend>(std::move(object), std::move(origin));
}

std::unique_ptr<Wrapper>
guard_wrapper(std::unique_ptr<Wrapper> object, PluginOrigin origin)
{
  return std::make_unique<GuardedWrapper>(std::move(object), std::move(origin));
}

} // namespace spmi::detail

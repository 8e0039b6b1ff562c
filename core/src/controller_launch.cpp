// SPDX-License-Identifier: MIT
// Controller::launch_prepared: the prepared starts of a batch grouped by backend type and settings, each
// group launched from its plans (one alone through Backend::launch, several through launch_many), or a
// manageable without a plan through its own start(); then each launch recorded (launched()).
#include <spmi/controller.hpp>
#include <spmi/errors.hpp>
#include <spmi/process.hpp>

#include "controller_start.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace spmi {

void
Controller::launch_group(const std::vector<PendingStart*>& group, std::vector<std::exception_ptr>& errors)
{
  // A task that runs `spmi start` must not hand its own marker to the new task, or the new one would
  // count as part of the first one's tree.
  ::unsetenv(process::k_task_marker_name);
  ::unsetenv(process::k_id_variable);
  // The new wrapper carries a run's marker of its own, so that when it ends up below the task that
  // started it (a local backend's wrapper is reparented to that task's wrapper) it is never counted as
  // that task's process (see membership.hpp). A group's wrappers share the first one's: any of this
  // start's tokens is foreign to the calling task.
  ::setenv(process::k_wrapper_marker_name, group.front()->token.c_str(), 1);
  if (!group.front()->plan) {
    auto& p = *group.front();
    try {
      p.launched = p.manageable->start(p.dir, p.token);
    } catch (...) {
      errors.front() = std::current_exception();
    }
    return;
  }
  std::vector<LaunchSpec> specs;
  for (const auto* p : group) {
    specs.push_back(p->plan->spec);
  }
  const auto& plan = *group.front()->plan;
  m_logger->debug("launching {} manageable(s) as planned on backend '{}'", specs.size(), plan.backend_type);
  std::vector<LaunchResult> results;
  try {
    // One alone is launched as its plan says, not by start(), which would plan it (and write its
    // supervisor's settings) again.
    results = specs.size() == 1 ? std::vector<LaunchResult>{plan.backend->launch(specs.front())}
                                : plan.backend->launch_many(specs);
    if (results.size() != specs.size()) {
      throw PluginError(fmt::format("backend '{}': launch_many returned {} results for {} launches", plan.backend_type,
                                    results.size(), specs.size()));
    }
  } catch (const BackendError& e) {
    // None launched: each says so, naming itself (the backend's message names none).
    for (std::size_t i = 0; i < group.size(); ++i) {
      errors[i] = std::make_exception_ptr(BackendError(fmt::format("manageable '{}': {}", group[i]->id, e.what())));
    }
    return;
  } catch (...) {
    std::fill(errors.begin(), errors.end(), std::current_exception());  // none launched: each says so
    return;
  }
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (results[i].failure) {
      errors[i] = results[i].failure;
      continue;
    }
    auto& launched = group[i]->launched = std::move(results[i]);
    launched.backend_type = plan.backend_type;
    if (launched.backend_settings.is_null()) {
      launched.backend_settings = plan.backend_settings;  // recorded: what signals or cancels it is made from it
    }
  }
}

std::unique_ptr<Controller::PendingStart>
Controller::launched(std::unique_ptr<PendingStart> p)
{
  const auto& launched = p->launched;
  std::error_code cwd_error;
  const auto cwd = std::filesystem::current_path(cwd_error);
  p->launch = LaunchRecord{p->token, launched.backend_type, launched.backend_id, Clock::now(), launched.queued,
                           cwd_error ? std::string() : cwd.string(), "up", ""};
  p->launch.backend_settings = launched.backend_settings;  // the backend asked about it later is made from these
  p->launch.revision = p->revision;
  if (launched.queued) {
    p->dir.write_launch(p->launch);  // the scheduler starts the wrapper later; until then it is pending
    return nullptr;
  }
  m_logger->debug("manageable '{}': backend ID {}, waiting for the wrapper", p->id, launched.backend_id);
  return p;
}

void
Controller::launch_prepared(std::vector<std::unique_ptr<PendingStart>>& pending, std::vector<std::exception_ptr>& errors)
{
  // Groups by backend type and settings, in the order of their first member; one without a plan alone.
  std::vector<std::vector<std::size_t>> groups;
  std::map<std::string, std::size_t> group_of;
  for (std::size_t i = 0; i < pending.size(); ++i) {
    if (!pending[i]) {
      continue;
    }
    const auto& plan = pending[i]->plan;
    const auto key = plan ? plan->backend_type + '\n' + plan->backend_settings.dump() : "\x01" + pending[i]->id;
    const auto [it, fresh] = group_of.try_emplace(key, groups.size());
    if (fresh) {
      groups.emplace_back();
    }
    groups[it->second].push_back(i);
  }
  for (const auto& group : groups) {
    std::vector<PendingStart*> members;
    for (auto i : group) {
      members.push_back(pending[i].get());
    }
    std::vector<std::exception_ptr> group_errors(group.size());
    launch_group(members, group_errors);
    for (std::size_t k = 0; k < group.size(); ++k) {
      const auto i = group[k];
      try {
        if (group_errors[k]) {
          std::rethrow_exception(group_errors[k]);
        }
        pending[i] = launched(std::move(pending[i]));
      } catch (...) {
        errors[i] = std::current_exception();
        pending[i].reset();  // releases its lock
      }
    }
  }
}

} // namespace spmi

// SPDX-License-Identifier: MIT
// The JSON documents of `list --json` and `status --json` (docs/schema/), which `spmi web` serves as
// they are: one rendering for both, so the API can never drift from the CLI.
#include "json_views.hpp"

#include "commands.hpp"

#include <spmi/process.hpp>

#include <algorithm>
#include <cmath>

namespace spmi::cli {

namespace {

using json = Json;

// Version of the JSON written by `list --json` and `status --json` (docs/schema/).
constexpr int k_schema_version = 1;

json
time_json(const std::optional<TimePoint>& t)
{
  return t ? json(format_iso8601(*t)) : json(nullptr);
}

template <typename T>
json
optional_json(const std::optional<T>& value)
{
  return value ? json(*value) : json(nullptr);
}

// Working directory, environment and reload (docs/schema/spmi-status.schema.json): names, never values.
void
setup_json(json& entry, const ManageableStatus& s)
{
  entry["cwd"] = s.cwd.empty() ? json(nullptr) : json(s.cwd);
  entry["cwd_from"] = s.cwd_from.empty() ? json(nullptr) : json(s.cwd_from);
  entry["environment"] = s.cwd_from.empty() ? json(nullptr)
                                            : json{{"captured_at", time_json(s.environment_captured_at)},
                                                   {"variables", optional_json(s.environment_variables)},
                                                   {"env_names", s.env_names},
                                                   {"env_file", s.env_file.empty() ? json(nullptr) : json(s.env_file)}};
  entry["reloaded_at"] = time_json(s.reloaded_at);
  entry["reload_pending"] = s.reload_pending;
}

} // namespace

// The fields list and status share (docs/schema/spmi-list.schema.json).
json
entry_json(const ManageableView& view, TimePoint now)
{
  json entry{{"id", view.id}, {"type", view.type}, {"comment", view.comment}, {"state", state_word(view.state)},
             {"error", view.problem.empty() ? json(nullptr) : json(view.problem)}};
  entry["pid"] = optional_json(view.pid);
  entry["wrapper_pid"] = optional_json(view.wrapper_pid);
  entry["host"] = view.run && !view.run->host.empty() ? json(view.run->host) : json(nullptr);
  entry["backend"] = view.launch ? json{{"type", view.launch->backend_type}, {"id", view.launch->backend_id}} : json(nullptr);
  entry["loaded_at"] = time_json(view.loaded_at);
  entry["launched_at"] = time_json(view.launched_at);
  entry["started_at"] = time_json(view.started_at);
  entry["finished_at"] = time_json(view.finished_at);
  entry["uptime_seconds"] = view.active() && view.started_at
                              ? json(std::max(0.0, std::chrono::duration<double>(now - *view.started_at).count()))
                              : json(nullptr);
  entry["exit"] = view.exit ? json{{"code", view.exit->code},
                                   {"signal", view.exit->signal ? json(process::signal_name(*view.exit->signal)) : json(nullptr)}}
                            : json(nullptr);
  entry["last_exit"] = view.last_exit
                        ? json{{"code", view.last_exit->code},
                               {"signal", view.last_exit->signal ? json(process::signal_name(*view.last_exit->signal)) : json(nullptr)},
                               {"at", time_json(view.last_exit->at)},
                               {"reason", view.last_exit->reason.empty() ? json(nullptr) : json(view.last_exit->reason)}}
                        : json(nullptr);
  entry["restarts"] = view.restarts;
  entry["next_attempt"] = time_json(view.next_attempt);
  if (const auto& usage = view.resources) {
    entry["resources"] = json{{"cpu_percent", std::round(usage->cpu_percent * 10) / 10},
                              {"memory_bytes", usage->rss_bytes},
                              {"processes", usage->processes},
                              {"cpu_seconds", std::round(usage->cpu_seconds * 100) / 100}};
  } else {
    entry["resources"] = nullptr;
  }
  return entry;
}

json
status_json(const ManageableStatus& s, TimePoint now)
{
  auto entry = entry_json(s.view, now);
  entry["path"] = s.path.string();
  entry["fields"] = json::array();
  for (const auto& field : s.fields) {
    entry["fields"].push_back({{"key", field.key}, {"value", field.value}});
  }
  entry["note"] = s.note.empty() ? json(nullptr) : json(s.note);
  // Plugins' own fields and facts, each under its class name (never mixed with spmi's keys).
  entry["plugins"] = json::parse(s.plugins.dump());
  entry["facts"] = json::parse(s.facts.dump());
  entry["output"] = s.output;
  setup_json(entry, s);
  return entry;
}

std::string
json_document(const Json& list)
{
  // Replacement characters for bytes that are not UTF-8 (a task's output, a comment), instead of the
  // type_error the default dump() throws.
  return json{{"schema_version", k_schema_version}, {"manageables", list}}.dump(2, ' ', false,
                                                                                  json::error_handler_t::replace) +
         "\n";
}

std::string
list_document(const std::vector<ManageableView>& views, TimePoint now)
{
  json list = json::array();
  for (const auto& view : views) {
    list.push_back(entry_json(view, now));
  }
  return json_document(list);
}

} // namespace spmi::cli

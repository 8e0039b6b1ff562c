// SPDX-License-Identifier: MIT
// The operations behind the CLI's commands, on one state store with one plugin registry.
#pragma once

#include <spmi/export.hpp>
#include <spmi/plugin.hpp>
#include <spmi/registry.hpp>
#include <spmi/state.hpp>

#include <spdlog/logger.h>

#include <chrono>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace spmi {

// One row of `spmi list`.
struct SPMI_API ManageableSummary
{
  std::string id;
  std::string type;
  std::string comment;
  bool active = false;
  bool pending = false;  // queued by its backend (a batch job waiting), not yet running
  std::string problem;   // set when the manageable's state could not be read
};

// Everything `spmi status` shows about one manageable.
struct SPMI_API ManageableStatus
{
  std::string id;
  std::string type;
  std::string comment;
  bool active = false;
  bool pending = false;
  TimePoint since;                        // start of the run when active, else its end (or load time)
  std::filesystem::path path;
  std::vector<StatusField> fields;        // from the manageable: backend, wrapper, command
  std::optional<long> pid;
  std::optional<int> exit_code;
  std::optional<int> exit_signal;
  std::string note;                       // e.g. the wrapper died without recording an exit
  std::vector<std::string> output;        // last lines of stdout
};

class SPMI_API Controller
{
public:
  // `registry` must outlive the controller.
  Controller(StateStore store, PluginRegistry& registry, std::shared_ptr<spdlog::logger> logger);

  const StateStore& store() const { return m_store; }

  // IDs matching any of `patterns` (regexes over the whole ID), sorted, each once. Patterns that match
  // nothing are appended to `unmatched`. Throws UsageError for an invalid regex.
  std::vector<std::string> select(const std::vector<std::string>& patterns, std::vector<std::string>& unmatched) const;

  // Reads, validates and registers every file, all or nothing. Returns the IDs loaded.
  // Throws DescriptorError (the first bad file and key), StateError (an ID already loaded), PluginError.
  std::vector<std::string> load(const std::vector<std::filesystem::path>& paths);

  // Every registered manageable, sorted by ID. Loads no plugin, unless a launch is queued (then its
  // backend, once, to ask the scheduler).
  std::vector<ManageableSummary> list();

  // Start, stop, kill, clean one manageable. Each throws StateError when the guide's rules refuse it
  // (start of an active one, stop/kill of an inactive one, clean of an active one), BackendError when
  // the backend fails.
  void start(const std::string& id);
  void stop(const std::string& id);
  void kill(const std::string& id);
  void clean(const std::string& id);
  // Starts several manageables at once: launches each (holding its lock), then waits for all their
  // wrappers together, so N starts cost about one wrapper start-up, not N. One entry per ID, in order:
  // null when it started, else what start(id) would have thrown.
  std::vector<std::exception_ptr> start_all(const std::vector<std::string>& ids);

  ManageableStatus status(const std::string& id, std::size_t output_lines);
  bool is_active(const std::string& id) const;

  // Body of the wrapper process: `spmi __run <dir> <token>`.
  int run_wrapper(const std::filesystem::path& dir, const std::string& token);

  // How long `start` waits for the wrapper to report.
  static constexpr std::chrono::milliseconds k_start_timeout{10000};
  // Its longest step between looks at run.json: a look is one failed open, so short steps are cheap and
  // the start returns within about this much of the wrapper reporting.
  static constexpr std::chrono::microseconds k_start_poll{1000};
  // How long `kill` (and `stop` after its grace period) waits for the end.
  static constexpr std::chrono::milliseconds k_kill_timeout{5000};

private:
  struct PendingStart;  // a launch whose wrapper has not reported yet
  // start() in three steps: launch (nullptr when there is nothing to wait for: a queued launch),
  // poll (true once the wrapper reported or the launcher ended), finish (records or throws).
  std::unique_ptr<PendingStart> launch(const std::string& id);
  bool poll(PendingStart& pending);
  void finish(PendingStart& pending);
  std::unique_ptr<Manageable> instantiate(const ManageableDir& dir);
  // stop (graceful first) or kill, escalating as the Ending steps say.
  void end(const std::string& id, bool graceful);
  // For each of `ids` (all inactive: the caller checked) whose last launch was queued and whose wrapper
  // has not run yet: where it stands, from one query per backend type. Others are left out.
  std::map<std::string, QueueState> queued_states(const std::vector<std::string>& ids);
  // A backend of `type` with no settings, to ask its scheduler about launches.
  Backend& backend_for(const std::string& type);
  std::map<std::string, std::unique_ptr<Backend>> m_backends;
  ManageableDir existing(const std::string& id) const;

  StateStore m_store;
  PluginRegistry& m_registry;
  std::shared_ptr<spdlog::logger> m_logger;
  // Keeps the descriptor trees the plugins were built from alive as long as the plugins.
  std::vector<std::unique_ptr<nlohmann::json>> m_documents;
};

} // namespace spmi

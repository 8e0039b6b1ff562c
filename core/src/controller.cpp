// SPDX-License-Identifier: MIT
// The Controller's selection, plugins (manageables and the backends that made launches), queued
// launches, restart, clean and the state the CLI may reach through it. Start, end and the views of
// list/status are in controller_start.cpp, controller_end.cpp, controller_views.cpp; load in controller_load.cpp.
#include <spmi/controller.hpp>
#include <spmi/descriptor.hpp>
#include <spmi/errors.hpp>
#include <spmi/membership.hpp>
#include <spmi/process.hpp>
#include <spmi/recorded.hpp>
#include <spmi/text.hpp>

#include "controller_detail.hpp"
#include "pattern.hpp"

#include <fmt/format.h>

#include <fcntl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>

namespace spmi {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace detail;

Controller::Controller(StateStore store, PluginRegistry& registry, std::shared_ptr<spdlog::logger> logger)
  : m_store(std::move(store)), m_registry(registry), m_logger(std::move(logger))
{
}

Controller::Controller(const fs::path& state_root, PluginRegistry& registry, std::shared_ptr<spdlog::logger> logger)
  : Controller(StateStore(state_root), registry, std::move(logger))
{
}

fs::path
Controller::default_state_root()
{
  return StateStore::default_root();
}

const fs::path&
Controller::state_root() const
{
  return m_store.root();
}

std::vector<std::string>
Controller::ids() const
{
  return m_store.ids();
}

bool
Controller::loaded(const std::string& id) const
{
  return m_store.contains(id);
}

bool
Controller::running(const std::string& id) const
{
  return m_store.contains(id) && m_store.dir(id).is_active();
}

OutputFollower
Controller::follow_output(const std::string& id, const std::string& stream) const
{
  if (!m_store.contains(id)) {
    throw StateError(fmt::format("no manageable '{}' is loaded (see `spmi list`)", id));
  }
  const auto dir = m_store.dir(id);
  dir.verify();
  return OutputFollower(dir, stream);
}

std::filesystem::path
Controller::write_web_token(const std::string& token) const
{
  return m_store.write_private(".web-token", token + "\n");
}

UniqueFd
Controller::open_stdin(const std::string& id) const
{
  if (!m_store.contains(id)) {
    throw StateError(fmt::format("no manageable '{}' is loaded (see `spmi list`)", id));
  }
  const auto dir = m_store.dir(id);
  if (!dir.is_active()) {
    throw StateError(fmt::format("manageable '{}' is inactive; start it first (its last output: `spmi status {}`)", id, id));
  }
  if (const auto run = dir.read_run()) {
    if (const auto remote = remote_host(*run, process::host_name())) {
      throw StateError(fmt::format("manageable '{}' runs on {}, not on this host ({}): its stdin FIFO is local to {}, "
                                   "so connect can't reach it; follow its output with `spmi logs -f {}`, or run spmi "
                                   "on {}",
                                   id, *remote, process::host_name(), *remote, id, *remote));
    }
  }
  UniqueFd fifo(dir.open_file("stdin", O_WRONLY | O_NONBLOCK, 0, FileKind::fifo));
  if (!fifo) {
    throw_errno(fmt::format("manageable '{}': cannot open its stdin {}", id, dir.stdin_path().string()));
  }
  return fifo;
}

std::vector<std::string>
Controller::select(const std::vector<std::string>& patterns, std::vector<std::string>& unmatched) const
{
  // RE2, not std::regex: its time is linear in the ID whatever the pattern ('(a|a)*b' took std::regex
  // seconds on a 28-character ID), and it refuses what can't be matched so (backreferences, lookaround).
  std::vector<std::unique_ptr<re2::RE2>> regexes;
  for (const auto& pattern : patterns) {
    regexes.push_back(compile_pattern(pattern));
  }
  // Patterns that are plain IDs without any regex metacharacter ('.' is one) match only themselves:
  // when all are, no scan of the store is needed, so `status <id>` costs the same at any N.
  const bool all_literal = std::all_of(patterns.begin(), patterns.end(), [](const std::string& pattern) {
    return is_valid_id(pattern) && pattern.find('.') == std::string::npos;
  });
  if (all_literal) {
    std::set<std::string> found;
    for (const auto& pattern : patterns) {
      if (m_store.contains(pattern)) {
        found.insert(pattern);
      } else {
        unmatched.push_back(pattern);
      }
    }
    return {found.begin(), found.end()};
  }
  const auto ids = m_store.ids();
  std::vector<bool> matched(patterns.size(), false);
  std::vector<std::string> result;
  for (const auto& id : ids) {
    bool any = false;
    for (std::size_t i = 0; i < regexes.size(); ++i) {
      // A plain ID is compared directly: cheaper, and '.' in an ID means itself first.
      if (patterns[i] == id || re2::RE2::FullMatch(id, *regexes[i])) {
        matched[i] = true;
        any = true;
      }
    }
    if (any) {
      result.push_back(id);
    }
  }
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    if (!matched[i]) {
      unmatched.push_back(patterns[i]);
    }
  }
  return result;
}

bool
Controller::strict() const
{
  if (m_strict) {
    return *m_strict;
  }
  const char* value = std::getenv("SPMI_STRICT");
  std::string word = value == nullptr ? "" : value;
  std::transform(word.begin(), word.end(), word.begin(), [](unsigned char c) { return std::tolower(c); });
  if (word.empty() || word == "0" || word == "false" || word == "no" || word == "off") {
    return false;
  }
  if (word == "1" || word == "true" || word == "yes" || word == "on") {
    return true;
  }
  throw UsageError(fmt::format("SPMI_STRICT='{}' is not understood; set it to 1 (unknown descriptor keys are "
                               "errors) or 0 (warnings), or unset it",
                               escape_control(value)));
}

Backend&
Controller::backend_for(const ManageableDir& dir, const LaunchRecord& launch)
{
  auto& backend = m_backends[launch_backend_key(launch)];
  if (!backend) {
    // A record of an older version has no settings: its backend is made from the type alone, as then.
    const auto settings = launch.backend_settings.is_object() ? launch.backend_settings
                                                              : json{{"type", launch.backend_type}};
    auto& node = *m_documents.emplace_back(std::make_unique<json>(settings));
    backend = m_registry.create_backend(
      launch.backend_type, PluginContext{Section(node, dir.launch_path().string(), "backend_settings"), m_logger, &m_registry});
  }
  return *backend;
}

std::map<std::string, QueueState>
Controller::queued_states(const std::vector<std::string>& ids, std::map<std::string, std::string>* ended)
{
  // One query per backend that made launches: launches of one type with other settings (another
  // cluster, another socket) are asked of a backend made with theirs.
  struct Queued
  {
    ManageableDir dir;
    LaunchRecord launch;
    std::vector<std::pair<std::string, std::string>> ids;  // (id, backend ID)
  };
  std::map<std::string, Queued> by_backend;
  for (const auto& id : ids) {
    const auto dir = m_store.dir(id);
    try {
      const auto launch = dir.read_launch();
      if (!launch || !launch->queued) {
        continue;
      }
      const auto run = dir.read_run();
      if (!run || run->token != launch->token) {
        auto& queued = by_backend.try_emplace(launch_backend_key(*launch), Queued{dir, *launch, {}}).first->second;
        queued.ids.emplace_back(id, launch->backend_id);
      }
    } catch (const Error&) {
      // A corrupt record is reported where the manageable is shown.
    }
  }
  std::map<std::string, QueueState> result;
  for (const auto& [key, queued] : by_backend) {
    std::vector<std::string> backend_ids;
    for (const auto& launch : queued.ids) {
      backend_ids.push_back(launch.second);
    }
    const auto states = backend_for(queued.dir, queued.launch).queue_report(backend_ids);
    for (const auto& [id, backend_id] : queued.ids) {
      const auto it = states.find(backend_id);
      result[id] = it == states.end() ? QueueState::gone : it->second.state;
      if (ended && it != states.end() && it->second.state == QueueState::gone && !it->second.ended.empty()) {
        (*ended)[id] = it->second.ended;
      }
    }
  }
  return result;
}

ManageableDir
Controller::existing(const std::string& id) const
{
  if (!m_store.contains(id)) {
    throw StateError(fmt::format("no manageable '{}' is loaded", id));
  }
  return m_store.dir(id);
}

std::unique_ptr<Manageable>
Controller::instantiate(const ManageableDir& dir)
{
  return instantiate(dir, dir.read_meta());
}

std::unique_ptr<Manageable>
Controller::instantiate(const ManageableDir& dir, const json& meta)
{
  auto& body = *m_documents.emplace_back(std::make_unique<json>(meta.value("body", json::object())));
  const std::string type = meta.value("type", "");
  PluginContext context{Section(body, meta.value("source", dir.meta_path().string()), type), m_logger, &m_registry};
  return m_registry.create_manageable(type, context);
}

bool
Controller::is_active(const std::string& id) const
{
  return m_store.dir(id).is_active();
}

bool
Controller::restart(const std::string& id)
{
  const auto dir = existing(id);
  bool running = dir.is_active();
  if (!running) {
    const auto queued = queued_states({id});
    running = queued.count(id) && queued.at(id) != QueueState::gone;
  }
  if (running) {
    try {
      end(id, true);
    } catch (const StateError&) {
      if (dir.is_active()) {
        throw;
      }
      running = false;  // it ended by itself meanwhile
    }
  }
  start(id);
  return running;
}

void
Controller::clean(const std::string& id)
{
  const auto dir = existing(id);
  const auto lock = dir.lock();
  existing(id);
  if (dir.is_active()) {
    throw StateError(fmt::format("manageable '{}' is {}; stop or kill it before cleaning", id, running_word(dir)));
  }
  if (const auto queued = queued_states({id}); queued.count(id) && queued.at(id) != QueueState::gone) {
    throw StateError(fmt::format("manageable '{}' is pending; stop it (cancelling the queued launch) before cleaning", id));
  }
  m_store.remove(id);
}

int
Controller::run_wrapper(const fs::path& dir_path, const std::string& token)
{
  const ManageableDir dir(dir_path);
  dir.verify();  // before any thread: the wrapper's files are opened only relative to this directory
  ::unsetenv(process::k_wrapper_marker_name);  // the wrapper's own (see launch()); its task gets task_marker()
  // What `start` launched, not a descriptor reloaded since (also for a wrapper that replaces a killed one).
  return instantiate(dir, dir.read_launched(token))->run(dir, token);
}

} // namespace spmi

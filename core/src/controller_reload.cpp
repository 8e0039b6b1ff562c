// SPDX-License-Identifier: MIT
// Controller::reload and load_replace: descriptors read and validated again, all before any changes,
// then each loaded manageable's descriptor replaced under its lock, keeping its output, records and
// state; what `load` records about where it ran (working directory, environment).
#include <spmi/controller.hpp>
#include <spmi/errors.hpp>
#include <spmi/membership.hpp>
#include <spmi/process.hpp>

#include "controller_detail.hpp"
#include "run/recovery.hpp"

#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

extern char** environ;

namespace spmi {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace detail;

namespace detail {

std::vector<std::string>
captured_environment()
{
  // spmi's own markers belong to the process that runs `spmi load` (a task of another run), never to
  // what it loads.
  static const std::set<std::string> k_ours{process::k_task_marker_name, process::k_wrapper_marker_name,
                                            process::k_id_variable, wrapper::k_alive_fd_variable};
  std::vector<std::string> variables;
  for (char** e = environ; *e; ++e) {
    const std::string entry(*e);
    const auto eq = entry.find('=');
    if (eq != std::string::npos && eq > 0 && !k_ours.count(entry.substr(0, eq))) {
      variables.push_back(entry);
    }
  }
  std::sort(variables.begin(), variables.end());
  return variables;
}

json
load_context(const StateStore& store, bool with_cwd)
{
  json recorded{{"environment", store.store_environment(captured_environment())},
                {"environment_captured_at", to_epoch(Clock::now())}};
  std::error_code error;
  const auto cwd = fs::current_path(error);
  if (with_cwd && !error) {
    recorded["cwd"] = cwd.string();
  }
  return recorded;
}

} // namespace detail

namespace {

// The dotted keys under `prefix` whose values differ between `before` and `after`.
void
changed_keys(const json& before, const json& after, const std::string& prefix, std::vector<std::string>& out)
{
  if (before.is_object() && after.is_object()) {
    std::set<std::string> keys;
    for (const auto& item : before.items()) {
      keys.insert(item.key());
    }
    for (const auto& item : after.items()) {
      keys.insert(item.key());
    }
    for (const auto& key : keys) {
      changed_keys(before.contains(key) ? before[key] : json(), after.contains(key) ? after[key] : json(),
                   prefix + "." + key, out);
    }
  } else if (before != after) {
    out.push_back(prefix);
  }
}

// Names of the variables that differ between `before` and `after` ("NAME=value", sorted).
std::vector<std::string>
environment_changes(const std::vector<std::string>& before, const std::vector<std::string>& after)
{
  std::map<std::string, std::string> old_values;
  std::map<std::string, std::string> new_values;
  for (const auto& [list, values] : {std::pair{&before, &old_values}, std::pair{&after, &new_values}}) {
    for (const auto& entry : *list) {
      const auto eq = entry.find('=');
      (*values)[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
  std::vector<std::string> names;
  for (const auto& [name, value] : new_values) {
    if (!old_values.count(name) || old_values.at(name) != value) {
      names.push_back(name);
    }
  }
  for (const auto& [name, value] : old_values) {
    if (!new_values.count(name)) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// What replacing the manageable in `dir` by `descriptor` changes, with `cwd` ("": kept) and the
// environment `variables`.
ReloadOutcome
planned(const ManageableDir& dir, const Descriptor& descriptor, const std::string& cwd,
        const std::vector<std::string>& variables)
{
  ReloadOutcome outcome;
  outcome.id = descriptor.id;
  outcome.source = descriptor.source;
  outcome.replaced = true;
  const auto meta = dir.read_meta();
  if (meta.value("type", "") != descriptor.type) {
    outcome.changed_keys.push_back(descriptor.type);
  } else {
    changed_keys(meta.value("body", json::object()), descriptor.body, descriptor.type, outcome.changed_keys);
  }
  outcome.cwd_changed = !cwd.empty() && meta.value("cwd", "") != cwd;
  if (const auto name = meta.find("environment"); name != meta.end() && name->is_string()) {
    try {
      outcome.environment_changes = environment_changes(dir.read_environment(name->get<std::string>()), variables);
    } catch (const StateError&) {
      outcome.environment_recorded = true;  // unreadable: replaced by the new one
    }
  } else {
    outcome.environment_recorded = true;
  }
  return outcome;
}

} // namespace

std::vector<Descriptor>
Controller::reread(const std::vector<std::string>& ids, const std::vector<fs::path>& sources)
{
  // Each file read once, however many of its manageables are reloaded; only those are validated.
  const bool strict_keys = strict();
  std::map<fs::path, std::vector<Descriptor>> files;
  std::vector<Descriptor> descriptors;
  std::vector<std::string> problems;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto it = files.find(sources[i]);
    if (it == files.end()) {
      try {
        it = files.emplace(sources[i], read_descriptors(sources[i])).first;
      } catch (const DescriptorError& e) {
        problems.push_back(e.what());
        files.emplace(sources[i], std::vector<Descriptor>{});
        continue;
      }
    }
    const auto& read = it->second;
    const auto found = std::find_if(read.begin(), read.end(), [&](const Descriptor& d) { return d.id == ids[i]; });
    if (found == read.end()) {
      if (!read.empty()) {
        problems.push_back(fmt::format("{}: {}; `spmi load` it as a new manageable, or set the id back",
                                       sources[i].string(), read.size() == 1 ? fmt::format("{}.id: is now '{}', not '{}'",
                                                                                           read[0].type, read[0].id, ids[i])
                                                                             : fmt::format("has no manageable '{}' any more",
                                                                                           ids[i])));
      }
      continue;
    }
    if (validate(*found, sources[i], strict_keys, problems)) {
      descriptors.push_back(*found);
    }
  }
  if (!problems.empty()) {
    std::string message;
    for (const auto& problem : problems) {
      message += problem + "\n";
    }
    throw DescriptorError(message + "nothing was reloaded");
  }
  return descriptors;
}

void
Controller::replace_loaded(const std::vector<Descriptor>& descriptors, const json& recorded,
                           std::vector<ReloadOutcome>& outcomes)
{
  // The last moment to give up: from the first replacement on, every one is made (an interrupt is only
  // recorded while interrupts are deferred, see process::DeferredInterrupts).
  if (const int signo = process::interrupt_pending()) {
    throw Interrupted(fmt::format("interrupted by {} before anything was replaced: nothing changed",
                                  process::signal_name(signo)), signo);
  }
  std::vector<std::string> inactive;
  for (std::size_t i = 0; i < descriptors.size(); ++i) {
    if (!outcomes[i].replaced) {
      continue;
    }
    const auto dir = existing(descriptors[i].id);
    const auto lock = dir.lock();
    existing(descriptors[i].id);  // not cleaned while we waited for the lock
    dir.replace_descriptor(descriptors[i], recorded);
    outcomes[i].running = dir.is_active();
    if (!outcomes[i].running) {
      inactive.push_back(descriptors[i].id);
    }
  }
  try {
    const auto queued = queued_states(inactive);
    for (auto& outcome : outcomes) {
      const auto it = queued.find(outcome.id);
      outcome.running = outcome.running || (it != queued.end() && it->second != QueueState::gone);
    }
  } catch (const Error& e) {
    m_logger->warn("cannot tell which reloaded manageables are pending: {}", e.what());
  }
}

std::vector<ReloadOutcome>
Controller::load_replace(const std::vector<fs::path>& paths, bool dry_run)
{
  const auto descriptors = validated(paths);
  std::error_code error;
  const auto cwd = fs::current_path(error);
  const auto variables = captured_environment();
  std::vector<ReloadOutcome> outcomes;
  std::vector<Descriptor> fresh;
  for (const auto& descriptor : descriptors) {
    if (m_store.contains(descriptor.id)) {
      outcomes.push_back(planned(m_store.dir(descriptor.id), descriptor, error ? "" : cwd.string(), variables));
    } else {
      ReloadOutcome outcome;
      outcome.id = descriptor.id;
      outcome.source = descriptor.source;
      outcomes.push_back(std::move(outcome));
      fresh.push_back(descriptor);
    }
  }
  if (dry_run) {
    return outcomes;
  }
  const auto store_lock = m_store.lock_store();  // the environment stays until they name it
  const auto recorded = load_context(m_store, true);
  m_store.register_all(fresh, recorded);  // all or nothing; a new ID loaded meanwhile is refused here
  replace_loaded(descriptors, recorded, outcomes);
  return outcomes;
}

std::vector<ReloadOutcome>
Controller::reload(const std::vector<std::string>& ids, bool dry_run)
{
  std::vector<fs::path> sources;
  std::string gone;
  for (const auto& id : ids) {
    const auto meta = existing(id).read_meta();
    sources.emplace_back(meta.value("source", ""));
    struct stat st {};
    if (sources.back().empty() && meta.contains("made_by")) {
      gone += fmt::format("manageable '{}' was made by `{}`: it has no descriptor file to read again; `spmi restart {}` "
                          "runs its command again, `spmi load --replace FILE` with id = \"{}\" changes it\n",
                          id, meta.value("made_by", "spmi run"), id, id);
    } else if (sources.back().empty() || ::stat(sources.back().c_str(), &st) != 0) {
      gone += fmt::format("manageable '{}': cannot read its descriptor {} ({}); restore the file, or `spmi load "
                          "--replace` another file with this id\n",
                          id, sources.back().string(), sources.back().empty() ? "none recorded" : std::strerror(errno));
    }
  }
  if (!gone.empty()) {
    throw StateError(gone + fmt::format("nothing was reloaded"));
  }
  const auto descriptors = reread(ids, sources);
  const auto variables = captured_environment();
  std::vector<ReloadOutcome> outcomes;
  for (const auto& descriptor : descriptors) {
    outcomes.push_back(planned(m_store.dir(descriptor.id), descriptor, "", variables));
  }
  if (!dry_run) {
    const auto store_lock = m_store.lock_store();  // the environment stays until they name it
    replace_loaded(descriptors, load_context(m_store, false), outcomes);
  }
  return outcomes;
}

} // namespace spmi

// SPDX-License-Identifier: MIT
// The records of a manageable: manageable.json read, launch.json and run.json read and written.
#include <spmi/descriptor.hpp>
#include <spmi/errors.hpp>
#include <spmi/process.hpp>
#include <spmi/state.hpp>

#include "secure_dir.hpp"
#include "state_detail.hpp"

#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <random>

namespace spmi {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace state_detail;

json
ManageableDir::read_meta() const
{
  auto text = m_slot->get() ? m_slot->get()->read("manageable.json") : std::nullopt;
  if (!text) {
    throw StateError(fmt::format("manageable '{}' is not loaded", id()));
  }
  return parse_state_file(meta_path(), *text);
}

json
ManageableDir::replace_descriptor(const Descriptor& descriptor, const json& recorded) const
{
  auto meta = read_meta();
  const auto old_format = field<std::string>(meta, "format", "");
  meta["type"] = descriptor.type;
  meta["comment"] = descriptor.comment;
  meta["source"] = fs::absolute(descriptor.source).string();
  meta["format"] = descriptor.format;
  meta["body"] = descriptor.body;
  if (descriptor.matrix.is_null()) {
    meta.erase("matrix");
  } else {
    meta["matrix"] = descriptor.matrix;
  }
  meta["revision"] = field<int>(meta, "revision", 1) + 1;
  meta["reloaded_at"] = to_epoch(Clock::now());
  for (const auto& [key, value] : recorded.items()) {
    meta[key] = value;
  }
  // The copy first: until manageable.json is replaced, the old one stays what is loaded.
  write_file("descriptor." + descriptor.format, descriptor.text);
  write_file("manageable.json", meta.dump() + "\n");
  if (!old_format.empty() && old_format != descriptor.format && old_format.find('/') == std::string::npos) {
    remove_file("descriptor." + old_format);
  }
  return meta;
}

void
ManageableDir::write_launched(const std::string& token, const json& meta) const
{
  dir_fd();
  // No fsync: only this boot's wrappers read it, and each start writes it again.
  m_slot->get()->write_atomic("launched.json", json{{"token", token}, {"manageable", meta}}.dump() + "\n", false);
}

json
ManageableDir::read_launched(const std::string& token) const
{
  dir_fd();
  if (const auto text = m_slot->get()->read("launched.json")) {
    const auto j = parse_state_file(m_path / "launched.json", *text);
    if (j.is_object() && j.value("token", "") == token && j.contains("manageable") && j["manageable"].is_object()) {
      return j["manageable"];
    }
  }
  return read_meta();
}

std::optional<LaunchRecord>
ManageableDir::read_launch() const
{
  dir_fd();
  auto text = m_slot->get()->read("launch.json");
  if (!text) {
    return std::nullopt;
  }
  const auto j = parse_state_file(launch_path(), *text);
  try {
    LaunchRecord record;
    record.token = field<std::string>(j, "token", "");
    record.backend_type = field<std::string>(j, "backend_type", "");
    record.backend_id = field<std::string>(j, "backend_id", "");
    if (j.contains("backend_settings") && !j["backend_settings"].is_null()) {
      if (!j["backend_settings"].is_object()) {
        throw StateError(fmt::format("{}: corrupt state file (backend_settings is not an object)",
                                     launch_path().string()));
      }
      record.backend_settings = j["backend_settings"];
    }
    record.queued = field<bool>(j, "queued", false);
    record.launched_at = from_epoch(field<double>(j, "launched_at", 0));
    record.cwd = field<std::string>(j, "cwd", "");
    record.wanted = field<std::string>(j, "wanted", "up");
    record.ended_by = field<std::string>(j, "ended_by", "");
    record.revision = field<int>(j, "revision", 0);
    return record;
  } catch (const json::exception& e) {
    throw StateError(fmt::format("{}: corrupt state file ({})", launch_path().string(), e.what()));
  }
}

std::optional<RunRecord>
ManageableDir::read_run() const
{
  dir_fd();
  auto text = m_slot->get()->read("run.json");
  if (!text) {
    return std::nullopt;
  }
  const auto j = parse_state_file(run_path(), *text);
  try {
    RunRecord record;
    record.token = field<std::string>(j, "token", "");
    record.wrapper_pid = field<long>(j, "wrapper_pid", 0);
    record.wrapper_start_time = field<std::uint64_t>(j, "wrapper_start_time", 0);
    record.pid = field<long>(j, "pid", 0);
    record.started_at = from_epoch(field<double>(j, "started_at", 0));
    if (j.contains("finished_at") && !j["finished_at"].is_null()) {
      record.finished_at = from_epoch(j["finished_at"].get<double>());
    }
    if (j.contains("exit_code") && !j["exit_code"].is_null()) {
      record.exit_code = j["exit_code"].get<int>();
    }
    if (j.contains("exit_signal") && !j["exit_signal"].is_null()) {
      record.exit_signal = j["exit_signal"].get<int>();
    }
    record.error = field<std::string>(j, "error", "");
    record.end_reason = field<std::string>(j, "end_reason", "");
    record.restarts = field<int>(j, "restarts", 0);
    if (j.contains("next_attempt") && !j["next_attempt"].is_null()) {
      record.next_attempt = from_epoch(j["next_attempt"].get<double>());
    }
    record.failed = field<bool>(j, "failed", false);
    if (j.contains("restart_times") && j["restart_times"].is_array()) {
      for (const auto& t : j["restart_times"]) {
        record.restart_times.push_back(from_epoch(t.get<double>()));
      }
    }
    record.watchdog_pid = field<long>(j, "watchdog_pid", 0);
    record.membership = field<std::string>(j, "membership", "");
    record.membership_note = field<std::string>(j, "membership_note", "");
    record.cgroup = field<std::string>(j, "cgroup", "");
    record.boot_id = field<std::string>(j, "boot_id", "");
    record.host = field<std::string>(j, "host", "");
    record.recoveries = field<int>(j, "recoveries", 0);
    record.mixed_stdout = field<bool>(j, "mixed_stdout", false);
    if (j.contains("facts") && j["facts"].is_object()) {
      record.facts = j["facts"];
    }
    return record;
  } catch (const json::exception& e) {
    throw StateError(fmt::format("{}: corrupt state file ({})", run_path().string(), e.what()));
  }
}

void
ManageableDir::write_launch(const LaunchRecord& record, bool sync) const
{
  json j{{"token", record.token},
         {"backend_type", record.backend_type},
         {"backend_id", record.backend_id},
         {"backend_settings", record.backend_settings},
         {"queued", record.queued},
         {"launched_at", to_epoch(record.launched_at)},
         {"cwd", record.cwd},
         {"wanted", record.wanted},
         {"ended_by", record.ended_by},
         {"revision", record.revision}};
  dir_fd();
  m_slot->get()->write_atomic("launch.json", j.dump() + "\n", sync);
}

void
ManageableDir::write_run(const RunRecord& record) const
{
  json j{{"token", record.token},
         {"wrapper_pid", record.wrapper_pid},
         {"wrapper_start_time", record.wrapper_start_time},
         {"pid", record.pid},
         {"started_at", to_epoch(record.started_at)},
         {"finished_at", record.finished_at ? json(to_epoch(*record.finished_at)) : json(nullptr)},
         {"exit_code", record.exit_code ? json(*record.exit_code) : json(nullptr)},
         {"exit_signal", record.exit_signal ? json(*record.exit_signal) : json(nullptr)},
         {"error", record.error},
         {"end_reason", record.end_reason},
         {"restarts", record.restarts},
         {"next_attempt", record.next_attempt ? json(to_epoch(*record.next_attempt)) : json(nullptr)},
         {"failed", record.failed},
         {"watchdog_pid", record.watchdog_pid},
         {"membership", record.membership},
         {"membership_note", record.membership_note},
         {"cgroup", record.cgroup},
         {"boot_id", record.boot_id},
         {"host", record.host},
         {"recoveries", record.recoveries},
         {"mixed_stdout", record.mixed_stdout}};
  json times = json::array();
  for (const auto& t : record.restart_times) {
    times.push_back(to_epoch(t));
  }
  j["restart_times"] = std::move(times);
  j["facts"] = record.facts.is_object() ? record.facts : json::object();
  write_file("run.json", j.dump() + "\n");
}
} // namespace spmi

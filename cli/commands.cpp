// SPDX-License-Identifier: MIT
#include "commands.hpp"

#include <spmi/errors.hpp>
#include <spmi/log.hpp>
#include <spmi/process.hpp>

#include <fmt/format.h>

#include <ctime>
#include <iostream>
#include <map>

namespace spmi::cli {

namespace {

struct Verb
{
  const char* doing;      // "Starting"
  const char* done;       // "Started"
  void (Controller::*action)(const std::string&);
};

const std::map<std::string, Verb> k_verbs{
  {"start", {"Starting", "Started", &Controller::start}},
  {"stop", {"Stopping", "Stopped", &Controller::stop}},
  {"kill", {"Killing", "Killed", &Controller::kill}},
  {"clean", {"Cleaning", "Cleaned", &Controller::clean}},
};

std::string
format_time(TimePoint t)
{
  const std::time_t seconds = Clock::to_time_t(t);
  std::tm local{};
  localtime_r(&seconds, &local);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d %H:%M:%S", &local);
  return buffer;
}

// Selects by patterns; logs each pattern that matched nothing. Returns false when one did not match.
bool
select_or_report(Controller& controller,
                 const std::vector<std::string>& patterns,
                 std::vector<std::string>& ids)
{
  std::vector<std::string> unmatched;
  ids = controller.select(patterns, unmatched);
  for (const auto& pattern : unmatched) {
    logger()->error("no loaded manageable matches '{}' (see `spmi list`)", pattern);
  }
  return unmatched.empty();
}

} // namespace

std::string
format_delta(std::chrono::seconds delta)
{
  auto total = std::max<long long>(0, delta.count());
  const long long days = total / 86400;
  total %= 86400;
  const auto clock = fmt::format("{}:{:02}:{:02}", total / 3600, (total % 3600) / 60, total % 60);
  if (days == 0) {
    return clock;
  }
  return fmt::format("{} day{}, {}", days, days == 1 ? "" : "s", clock);
}

int
cmd_list(Controller& controller)
{
  const auto rows = controller.list();
  logger()->info("Registered {} manageables", rows.size());
  std::size_t id_width = 2;
  for (const auto& row : rows) {
    id_width = std::max(id_width, row.id.size());
  }
  int status = exit_status::k_ok;
  std::string out = fmt::format("{:<{}} {:<8} {}\n", "ID", id_width, "ACTIVE", "COMMENT");
  for (const auto& row : rows) {
    if (!row.problem.empty()) {
      out += fmt::format("{:<{}} {:<8} error: {}\n", row.id, id_width, "unknown", row.problem);
      status = exit_status::k_failed;
      continue;
    }
    out += fmt::format("{:<{}} {:<8} {}\n", row.id, id_width,
                       row.active ? "active" : (row.pending ? "pending" : "inactive"), row.comment);
  }
  std::cout << out << std::flush;
  return status;
}

int
cmd_load(Controller& controller, const std::vector<std::filesystem::path>& paths)
{
  const auto ids = controller.load(paths);
  logger()->info("Loaded {} manageable{}", ids.size(), ids.size() == 1 ? "" : "s");
  return exit_status::k_ok;
}

int
cmd_batch(Controller& controller, const std::string& verb_name, const std::vector<std::string>& patterns)
{
  const auto& verb = k_verbs.at(verb_name);
  std::vector<std::string> ids;
  int status = select_or_report(controller, patterns, ids) ? exit_status::k_ok : exit_status::k_failed;
  if (ids.empty()) {
    logger()->info("Nothing to {}", verb_name);
    return exit_status::k_failed;
  }
  std::size_t done = 0;
  if (verb_name == "start") {
    // Launched together, waited for together: a start costs one wrapper start-up, not one per ID.
    for (const auto& id : ids) {
      logger()->info("{} manageable \"{}\"", verb.doing, id);
    }
    const auto errors = controller.start_all(ids);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      try {
        if (errors[i]) {
          std::rethrow_exception(errors[i]);
        }
        ++done;
      } catch (const Error& e) {
        logger()->error("{}", e.what());
        status = std::max(status, e.exit_code());
      } catch (const std::exception& e) {
        logger()->error("manageable '{}': unexpected error: {}", ids[i], e.what());
        status = exit_status::k_failed;
      }
    }
    logger()->info("{} {} manageables", verb.done, done);
    return status;
  }
  for (const auto& id : ids) {
    logger()->info("{} manageable \"{}\"", verb.doing, id);
    try {
      (controller.*verb.action)(id);
      ++done;
    } catch (const Error& e) {
      logger()->error("{}", e.what());
      status = std::max(status, e.exit_code());
    } catch (const std::exception& e) {
      logger()->error("manageable '{}': unexpected error: {}", id, e.what());
      status = exit_status::k_failed;
    }
  }
  logger()->info("{} {} manageables", verb.done, done);
  return status;
}

int
cmd_status(Controller& controller, const std::vector<std::string>& patterns)
{
  std::vector<std::string> ids;
  int status = select_or_report(controller, patterns, ids) ? exit_status::k_ok : exit_status::k_failed;
  if (ids.empty()) {
    logger()->info("Nothing to show");
    return exit_status::k_failed;
  }
  const auto now = Clock::now();
  std::size_t shown = 0;
  for (const auto& id : ids) {
    try {
      const auto s = controller.status(id, 10);
      std::string out;
      out += s.comment.empty() ? fmt::format("{} ({})\n", s.id, s.type)
                               : fmt::format("{} ({}) - {}\n", s.id, s.type, s.comment);
      out += fmt::format("Active: {} since {} ({} ago)\n", s.active ? "active" : (s.pending ? "pending" : "inactive"),
                         format_time(s.since),
                         format_delta(std::chrono::duration_cast<std::chrono::seconds>(now - s.since)));
      out += fmt::format("Path: \"{}\"\n", s.path.string());
      for (const auto& field : s.fields) {
        out += fmt::format("{}: {}\n", field.key, field.value);
      }
      out += fmt::format("PID: {}\n", s.pid ? std::to_string(*s.pid) : "-");
      if (s.exit_signal) {
        out += fmt::format("Exit code: {} (killed by {})\n", 128 + *s.exit_signal, process::signal_name(*s.exit_signal));
      } else {
        out += fmt::format("Exit code: {}\n", s.exit_code ? std::to_string(*s.exit_code) : "-");
      }
      if (!s.note.empty()) {
        out += fmt::format("Note: {}\n", s.note);
      }
      for (const auto& line : s.output) {
        out += line + "\n";
      }
      std::cout << out << std::flush;
      ++shown;
    } catch (const Error& e) {
      logger()->error("{}", e.what());
      status = std::max(status, e.exit_code());
    }
  }
  logger()->info("Showed {} manageables", shown);
  return status;
}

} // namespace spmi::cli

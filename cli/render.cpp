// SPDX-License-Identifier: MIT
// `spmi list` and `spmi status`: the Controller's views (spmi/views.hpp) as text or JSON
// (docs/schema/spmi-list.schema.json, spmi-status.schema.json). Nothing here decides a state.
#include "commands.hpp"
#include "json_views.hpp"

#include <spmi/errors.hpp>
#include <spmi/log.hpp>
#include <spmi/process.hpp>
#include <spmi/text.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <ctime>
#include <iostream>

namespace spmi::cli {

namespace {

using json = nlohmann::ordered_json;

void
print_json(const json& list)
{
  std::cout << json_document(list) << std::flush;
}



// `text` (already padded) in the state's colour, when colours are on.
std::string
paint_state(State state, const std::string& text, bool color)
{
  const char* code = state == State::active ? "32" : (state == State::pending || state == State::restarting) ? "33"
                   : (state == State::failed || state == State::unknown) ? "31" : nullptr;
  if (!color || code == nullptr) {
    return text;
  }
  return fmt::format("\x1b[{}m{}\x1b[0m", code, text);
}





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

// `list`'s table. IDs, comments and problems are escaped (escape_control): a comment must not forge a
// row of the table or send terminal commands. (IDs are letters, digits, '_', '.', '-' since load, but
// the table must hold whatever a directory is named.)
std::string
list_table(const std::vector<ManageableView>& views, bool color, TimePoint now)
{
  std::size_t id_width = 2;
  for (const auto& view : views) {
    id_width = std::max(id_width, escape_control(view.id).size());
  }
  std::string out = fmt::format("{:<{}} {:<8} {:>6} {:>6} {:>6} {}\n", "ID", id_width, "ACTIVE", "CPU", "MEM", "UPTIME",
                                "COMMENT");
  for (const auto& view : views) {
    const std::string word = state_word(view.state);
    if (!view.problem.empty()) {
      out += fmt::format("{:<{}} {} error: {}\n", escape_control(view.id), id_width,
                         paint_state(view.state, fmt::format("{:<8}", word), color), escape_control(view.problem));
      continue;
    }
    std::string cpu = "-";
    std::string mem = "-";
    std::string uptime = "-";
    if (const auto& usage = view.resources) {
      cpu = fmt::format("{:.1f}%", usage->cpu_percent);
      mem = format_bytes(usage->rss_bytes);
    }
    if (view.active() && view.run) {
      uptime = format_uptime(std::chrono::duration_cast<std::chrono::seconds>(now - view.run->started_at));
    }
    out += fmt::format("{:<{}} {} {:>6} {:>6} {:>6} {}\n", escape_control(view.id), id_width,
                       paint_state(view.state, fmt::format("{:<8}", word), color), cpu, mem, uptime,
                       escape_control(view.comment));
  }
  return out;
}


// The Working directory, Environment and Descriptor lines of `status`.
std::string
setup_text(const ManageableStatus& s)
{
  std::string out;
  const auto id = escape_control(s.view.id);
  if (!s.cwd_from.empty()) {
    out += s.cwd_from == "start" ? fmt::format("Working directory: where `spmi start` runs (loaded by an older spmi; "
                                               "`spmi reload {}` records where it is loaded)\n", id)
                                 : fmt::format("Working directory: {} ({})\n", escape_control(s.cwd),
                                               s.cwd_from == "descriptor" ? "the descriptor's cwd" : "where `spmi load` ran");
    std::string env = s.environment_captured_at
                        ? fmt::format("captured by `spmi load` at {}", format_time(*s.environment_captured_at))
                        : fmt::format("that of each `spmi start` (loaded by an older spmi; `spmi reload {}` captures it)", id);
    if (s.environment_variables) {
      env += fmt::format(" ({} variables)", *s.environment_variables);
    }
    std::string names;
    for (const auto& name : s.env_names) {
      names += (names.empty() ? "" : ", ") + escape_control(name);
    }
    out += fmt::format("Environment: {}{}{}\n", env, names.empty() ? "" : "; env: " + names,
                       s.env_file.empty() ? "" : "; env_file: " + escape_control(s.env_file));
  }
  if (s.reloaded_at) {
    out += fmt::format("Descriptor: reloaded at {}{}\n", format_time(*s.reloaded_at),
                       s.reload_pending ? fmt::format("; the running task keeps the one it was started with until "
                                                      "`spmi restart {}`", id)
                                        : "");
  }
  return out;
}


// "3", "130 (killed by SIGINT)", "-"; with why the wrapper ended it, when it did.
std::string
exit_text(const std::optional<int>& code, const std::optional<int>& signal, const std::string& reason = "")
{
  const auto why = reason.empty() ? "" : "; " + escape_control(reason);
  if (signal) {
    return fmt::format("{} (killed by {}{})", 128 + *signal, process::signal_name(*signal), why);
  }
  if (!code) {
    return "-";
  }
  return why.empty() ? std::to_string(*code) : fmt::format("{} ({})", *code, why.substr(2));
}

// `status`'s text of one manageable. Everything that comes from the descriptor, a plugin or the task is
// escaped (escape_control).
std::string
status_text(const ManageableStatus& s, bool color, TimePoint now)
{
  const auto& view = s.view;
  std::string out = view.comment.empty()
                      ? fmt::format("{} ({})\n", escape_control(view.id), escape_control(view.type))
                      : fmt::format("{} ({}) - {}\n", escape_control(view.id), escape_control(view.type),
                                    escape_control(view.comment));
  const std::string word = state_word(view.state);
  out += fmt::format("Active: {} since {} ({} ago)\n", paint_state(view.state, word, color), format_time(s.since),
                     format_delta(std::chrono::duration_cast<std::chrono::seconds>(now - s.since)));
  out += fmt::format("Path: \"{}\"\n", escape_control(s.path.string()));
  for (const auto& field : s.fields) {
    out += fmt::format("{}: {}\n", escape_control(field.key), escape_control(field.value));
  }
  out += setup_text(s);
  out += fmt::format("PID: {}\n", s.pid ? std::to_string(*s.pid) : "-");
  if (const auto& use = view.resources) {
    out += fmt::format("Resources: CPU {:.1f}%, memory {}, {} process{}\n", use->cpu_percent,
                       format_bytes(use->rss_bytes), use->processes, use->processes == 1 ? "" : "es");
  }
  out += fmt::format("Exit code: {}\n", exit_text(s.exit_code, s.exit_signal, s.exit_code || s.exit_signal ? s.last_exit_reason : ""));
  if (s.shows_restarts()) {
    out += fmt::format("Restarts: {} (last exit: {}{})\n", s.restarts,
                       exit_text(s.last_exit_code, s.last_exit_signal, s.last_exit_reason),
                       s.last_exit_at ? " at " + format_time(*s.last_exit_at) : "");
  }
  if (s.next_attempt) {
    out += fmt::format("Next attempt: {} (in {})\n", format_time(*s.next_attempt),
                       format_delta(std::chrono::ceil<std::chrono::seconds>(*s.next_attempt - now)));
  }
  if (!s.note.empty()) {
    out += fmt::format("Note: {}\n", escape_control(s.note));
  }
  for (const auto& line : s.output) {
    out += escape_control(line) + "\n";  // the task's own text: `spmi logs` shows it raw
  }
  return out;
}

} // namespace

bool
use_color(int fd, const OutputOptions& options)
{
  // https://no-color.org: NO_COLOR set to any value turns colours off.
  return !options.no_color && !options.json && std::getenv("NO_COLOR") == nullptr && ::isatty(fd) == 1;
}

int
cmd_list(Controller& controller, const std::vector<std::string>& patterns, const OutputOptions& options)
{
  // With patterns, only the matching manageables' records are read; one that matches nothing is
  // reported (exit status 1) and the others are listed, as every command taking patterns does.
  std::vector<std::string> ids;
  int status = patterns.empty() || select_or_report(controller, patterns, ids) ? exit_status::k_ok : exit_status::k_failed;
  if (!patterns.empty() && ids.empty()) {
    logger()->info("Nothing to show");
    if (options.json) {
      print_json(json::array());
    }
    return exit_status::k_failed;
  }
  const auto views = patterns.empty() ? controller.list() : controller.list_of(ids);
  const auto now = Clock::now();
  // A manageable whose state can't be trusted or read (an insecure directory: the message has the fix)
  // is also reported on stderr; the others are still listed, and the exit status is 1.
  for (const auto& view : views) {
    if (!view.problem.empty()) {
      logger()->error("manageable '{}': {}", view.id, view.problem);
      status = exit_status::k_failed;
    }
  }
  if (options.json) {
    std::cout << list_document(views, now) << std::flush;
    return status;
  }
  if (patterns.empty()) {
    logger()->info("Registered {} manageables", views.size());
  } else {
    logger()->info("Registered {} manageables; {} match", controller.ids().size(), views.size());
  }
  std::cout << list_table(views, use_color(STDOUT_FILENO, options), now) << std::flush;
  return status;
}

int
cmd_status(Controller& controller, const std::vector<std::string>& patterns, const OutputOptions& options)
{
  if (patterns.empty() && !options.json) {
    if (const auto overview = status_overview(controller)) {
      return *overview;  // more than a screenful loaded: counts per state and a hint instead
    }
  }
  std::vector<std::string> ids;
  int status = patterns.empty() ? (ids = controller.ids(), exit_status::k_ok)
               : select_or_report(controller, patterns, ids) ? exit_status::k_ok : exit_status::k_failed;
  if (ids.empty()) {
    logger()->info(patterns.empty() ? "No manageables are loaded (see `spmi load`)" : "Nothing to show");
    if (options.json) {
      print_json(json::array());
    }
    return exit_status::k_failed;
  }
  const auto now = Clock::now();
  const bool color = use_color(STDOUT_FILENO, options);
  json list = json::array();
  std::size_t shown = 0;
  for (const auto& outcome : controller.status_all(ids, 10)) {
    try {
      if (outcome.error) {
        std::rethrow_exception(outcome.error);
      }
      if (options.json) {
        list.push_back(status_json(*outcome.status, now));
      } else {
        std::cout << status_text(*outcome.status, color, now) << std::flush;
      }
      ++shown;
    } catch (const Error& e) {
      logger()->error("{}", e.what());
      status = std::max(status, e.exit_code());
    }
  }
  if (options.json) {
    print_json(list);
  }
  logger()->info("Showed {} manageables", shown);
  return status;
}

} // namespace spmi::cli

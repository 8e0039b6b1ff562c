// SPDX-License-Identifier: MIT
#include "commands.hpp"

#include <spmi/errors.hpp>
#include <spmi/log.hpp>
#include <spmi/process.hpp>
#include <spmi/recorded.hpp>
#include <spmi/text.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <set>

namespace spmi::cli {

namespace {

struct Verb
{
  const char* doing;      // "Starting"
  const char* done;       // "Started"
  void (Controller::*action)(const std::string&);
  // Does the verb for all IDs together (one wait for all), one error or null per ID; null: one at a time.
  std::vector<std::exception_ptr> (Controller::*all)(const std::vector<std::string>&);
};

const std::map<std::string, Verb> k_verbs{
  {"start", {"Starting", "Started", &Controller::start, &Controller::start_all}},
  {"stop", {"Stopping", "Stopped", &Controller::stop, &Controller::stop_all}},
  {"kill", {"Killing", "Killed", &Controller::kill, &Controller::kill_all}},
  {"clean", {"Cleaning", "Cleaned", &Controller::clean, nullptr}},
  {"restart", {"Restarting", "Restarted", nullptr, nullptr}},  // Controller::restart, which reports more
};

// Version of the JSON written by `list --json` and `status --json` (docs/schema/).
constexpr int k_schema_version = 1;

bool
use_color(int fd, const OutputOptions& options)
{
  // https://no-color.org: NO_COLOR set to any value turns colours off.
  return !options.no_color && !options.json && std::getenv("NO_COLOR") == nullptr && ::isatty(fd) == 1;
}

// `text` (already padded) in the state's colour, when colours are on.
std::string
paint_state(const std::string& state, const std::string& text, bool color)
{
  const char* code = state == "active" ? "32" : state == "pending" ? "33"
                   : (state == "failed" || state == "unknown") ? "31" : nullptr;
  if (!color || code == nullptr) {
    return text;
  }
  return fmt::format("\x1b[{}m{}\x1b[0m", code, text);
}

// What one manageable's records say, read once for list and status.
struct Records
{
  std::optional<LaunchRecord> launch;
  std::optional<RunRecord> run;
};

// The run's members as its wrapper counts them (its cgroup, or its process tree less its watchdog);
// nullopt when run.json names a cgroup that is not the run's own (process::trusted_cgroup()).
std::optional<process::TreeRoot>
tree_root(const std::string& id, const RunRecord& run)
{
  std::string distrust;
  const auto cgroup = process::trusted_cgroup(id, run, &distrust);
  if (!distrust.empty()) {
    return std::nullopt;
  }
  return process::TreeRoot{static_cast<pid_t>(run.wrapper_pid), process::task_marker(run.token), cgroup.string(),
                           static_cast<pid_t>(run.watchdog_pid), static_cast<pid_t>(run.pid)};
}

// Resource use of the task trees of every active manageable in `records`, from one scan of /proc.
std::map<std::string, process::TreeUsage>
usage_of(const std::map<std::string, Records>& records, const std::map<std::string, bool>& active)
{
  std::vector<process::TreeRoot> roots;
  std::set<std::string> rooted;
  for (const auto& [id, record] : records) {
    if (active.count(id) && active.at(id) && record.run && record.run->wrapper_pid > 0) {
      if (auto root = tree_root(id, *record.run)) {
        roots.push_back(std::move(*root));
        rooted.insert(id);
      }
    }
  }
  std::map<std::string, process::TreeUsage> result;
  if (roots.empty()) {
    return result;
  }
  const auto usage = process::tree_usage(roots);
  for (const auto& [id, record] : records) {
    if (rooted.count(id)) {
      const auto it = usage.find(static_cast<pid_t>(record.run->wrapper_pid));
      if (it != usage.end() && it->second.processes > 0) {
        result[id] = it->second;
      }
    }
  }
  return result;
}

nlohmann::ordered_json
time_json(const std::optional<TimePoint>& t)
{
  return t ? nlohmann::ordered_json(format_iso8601(*t)) : nlohmann::ordered_json(nullptr);
}

// The fields list and status share (docs/schema/spmi-list.schema.json).
nlohmann::ordered_json
entry_json(const std::string& id, const std::string& type, const std::string& comment, const std::string& state,
           const std::optional<TimePoint>& loaded_at, const Records& records,
           const std::optional<process::TreeUsage>& usage, TimePoint now)
{
  using json = nlohmann::ordered_json;
  const bool active = state == "active";
  json entry{{"id", id}, {"type", type}, {"comment", comment}, {"state", state}, {"error", nullptr}};
  const auto& run = records.run;
  const bool current = run && (!records.launch || run->token == records.launch->token);
  entry["pid"] = current && run->pid > 0 && active ? json(run->pid) : json(nullptr);
  entry["wrapper_pid"] = current && run->wrapper_pid > 0 && active ? json(run->wrapper_pid) : json(nullptr);
  entry["backend"] = records.launch ? json{{"type", records.launch->backend_type}, {"id", records.launch->backend_id}}
                                    : json(nullptr);
  entry["loaded_at"] = time_json(loaded_at);
  entry["launched_at"] = time_json(records.launch ? std::optional<TimePoint>(records.launch->launched_at) : std::nullopt);
  entry["started_at"] = time_json(current ? std::optional<TimePoint>(run->started_at) : std::nullopt);
  entry["finished_at"] = time_json(current && !active ? run->finished_at : std::nullopt);
  entry["uptime_seconds"] =
    current && active ? json(std::max(0.0, std::chrono::duration<double>(now - run->started_at).count())) : json(nullptr);
  if (current && !active && (run->exit_code || run->exit_signal)) {
    json exit{{"code", run->exit_signal ? 128 + *run->exit_signal : *run->exit_code}, {"signal", nullptr}};
    if (run->exit_signal) {
      exit["signal"] = process::signal_name(*run->exit_signal);
    }
    entry["exit"] = exit;
  } else {
    entry["exit"] = nullptr;
  }
  entry["restarts"] = current ? run->restarts : 0;
  entry["next_attempt"] = time_json(current && active ? run->next_attempt : std::nullopt);
  if (usage) {
    entry["resources"] = json{{"cpu_percent", std::round(usage->cpu_percent * 10) / 10},
                              {"memory_bytes", usage->rss_bytes},
                              {"processes", usage->processes},
                              {"cpu_seconds", std::round(usage->cpu_seconds * 100) / 100}};
  } else {
    entry["resources"] = nullptr;
  }
  return entry;
}

std::optional<TimePoint>
loaded_at_of(const ManageableDir& dir)
{
  try {
    const auto meta = dir.read_meta();
    if (meta.contains("loaded_at")) {
      return from_epoch(meta.value("loaded_at", 0.0));
    }
  } catch (const Error&) {
  }
  return std::nullopt;
}

Records
read_records(const ManageableDir& dir)
{
  Records records;
  try {
    records.launch = dir.read_launch();
    records.run = dir.read_run();
  } catch (const Error&) {
    // A corrupt record shows as missing here; status names it.
  }
  return records;
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

} // namespace

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

std::string
state_word(bool active, bool pending, const std::optional<RunRecord>& run)
{
  if (active) {
    return "active";
  }
  if (pending) {
    return "pending";
  }
  return run && run->failed ? "failed" : "inactive";
}

std::string
planned_action(const std::string& verb, const std::string& state, std::string& refusal)
{
  const bool running = state == "active" || state == "pending";
  if (verb == "restart") {
    return running ? (state == "pending" ? "cancel the queued launch, then start it" : "stop it (as `stop` does), then start it")
                   : "start it (it is " + state + ")";
  }
  if (verb == "clean") {
    if (running) {
      refusal = fmt::format("it is {}; clean would refuse (stop or kill it first)", state);
      return "";
    }
    return "remove it and its state directory";
  }
  if (state == "pending") {
    return "cancel its queued launch";
  }
  if (!running) {
    refusal = fmt::format("it is {}; {} would refuse (nothing to {})", state, verb, verb);
    return "";
  }
  return verb == "stop" ? "send its stop signal to the whole tree, SIGKILL after stop_timeout"
                        : "SIGKILL its whole tree";
}

std::string
format_uptime(std::chrono::seconds delta)
{
  const auto total = std::max<long long>(0, delta.count());
  if (total < 60) {
    return fmt::format("{}s", total);
  }
  if (total < 3600) {
    return fmt::format("{}m", total / 60);
  }
  if (total < 86400) {
    return fmt::format("{}h", total / 3600);
  }
  return fmt::format("{}d", total / 86400);
}

std::string
format_bytes(std::uint64_t bytes)
{
  static constexpr const char* k_units[] = {"B", "K", "M", "G", "T"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(k_units)) {
    value /= 1024;
    ++unit;
  }
  if (unit == 0) {
    return fmt::format("{}B", bytes);
  }
  return value < 10 ? fmt::format("{:.1f}{}", value, k_units[unit]) : fmt::format("{:.0f}{}", value, k_units[unit]);
}

std::string
format_iso8601(TimePoint t)
{
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03}Z", buffer, ((ms % 1000) + 1000) % 1000);
}

int
cmd_list(Controller& controller, const OutputOptions& options)
{
  const auto rows = controller.list();
  const auto now = Clock::now();
  // A manageable whose state can't be trusted or read (an insecure directory: the message has the fix)
  // is also reported on stderr; the others are still listed, and the exit status is 1.
  for (const auto& row : rows) {
    if (!row.problem.empty()) {
      logger()->error("manageable '{}': {}", row.id, row.problem);
    }
  }
  // Only active manageables have a tree to measure: their run records, then one scan of /proc.
  std::map<std::string, Records> records;
  std::map<std::string, bool> active;
  for (const auto& row : rows) {
    active[row.id] = row.active;
    if (!row.problem.empty() || (row.pending && !options.json)) {
      continue;
    }
    if (options.json) {
      records[row.id] = read_records(controller.store().dir(row.id));
    } else if (row.active) {
      // The run record alone: pids and start time of an active one, whether a restart policy gave up.
      try {
        records[row.id].run = controller.store().dir(row.id).read_run();
      } catch (const Error&) {
      }
    }
  }
  const auto usage = usage_of(records, active);
  int status = exit_status::k_ok;
  if (options.json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& row : rows) {
      if (!row.problem.empty()) {
        list.push_back(entry_json(row.id, row.type, row.comment, "unknown", std::nullopt, {}, std::nullopt, now));
        list.back()["error"] = row.problem;
        status = exit_status::k_failed;
        continue;
      }
      const auto& record = records[row.id];
      const auto it = usage.find(row.id);
      list.push_back(entry_json(row.id, row.type, row.comment, state_word(row.active, row.pending, record.run),
                                loaded_at_of(controller.store().dir(row.id)), record,
                                it == usage.end() ? std::nullopt : std::optional(it->second), now));
    }
    std::cout << nlohmann::ordered_json{{"schema_version", k_schema_version}, {"manageables", list}}.dump(2) << "\n"
              << std::flush;
    return status;
  }
  logger()->info("Registered {} manageables", rows.size());
  const bool color = use_color(STDOUT_FILENO, options);
  // IDs, comments and problems are escaped (escape_control): a comment must not forge a row of the table
  // or send terminal commands. (IDs are letters, digits, '_', '.', '-' since load, but the table must
  // hold whatever a directory is named.)
  std::size_t id_width = 2;
  for (const auto& row : rows) {
    id_width = std::max(id_width, escape_control(row.id).size());
  }
  std::string out = fmt::format("{:<{}} {:<8} {:>6} {:>6} {:>6} {}\n", "ID", id_width, "ACTIVE", "CPU", "MEM", "UPTIME",
                                "COMMENT");
  for (const auto& row : rows) {
    if (!row.problem.empty()) {
      out += fmt::format("{:<{}} {} error: {}\n", escape_control(row.id), id_width,
                         paint_state("unknown", fmt::format("{:<8}", "unknown"), color), escape_control(row.problem));
      status = exit_status::k_failed;
      continue;
    }
    const auto record = records.find(row.id);
    // Controller::list already knows whether a restart policy gave up; the run record is read for
    // active ones only (their pids and uptime).
    const auto state = row.failed && !row.active && !row.pending
                         ? std::string("failed")
                         : state_word(row.active, row.pending, record == records.end() ? std::nullopt : record->second.run);
    std::string cpu = "-";
    std::string mem = "-";
    std::string uptime = "-";
    if (const auto it = usage.find(row.id); it != usage.end()) {
      cpu = fmt::format("{:.1f}%", it->second.cpu_percent);
      mem = format_bytes(it->second.rss_bytes);
    }
    if (row.active && record != records.end() && record->second.run) {
      uptime = format_uptime(std::chrono::duration_cast<std::chrono::seconds>(now - record->second.run->started_at));
    }
    out += fmt::format("{:<{}} {} {:>6} {:>6} {:>6} {}\n", escape_control(row.id), id_width,
                       paint_state(state, fmt::format("{:<8}", state), color), cpu, mem, uptime,
                       escape_control(row.comment));
  }
  std::cout << out << std::flush;
  return status;
}

int
cmd_load(Controller& controller, const std::vector<std::filesystem::path>& paths)
{
  // All or nothing, also when interrupted: a SIGINT, SIGTERM or SIGHUP before anything is in place undoes
  // the load (Interrupted), one after that lets it finish.
  const process::DeferredInterrupts deferred;
  const auto ids = controller.load(paths);
  logger()->info("Loaded {} manageable{}", ids.size(), ids.size() == 1 ? "" : "s");
  if (const int signo = process::interrupt_pending()) {
    logger()->warn("{} arrived while they were being put in place, too late to undo the load: all {} are loaded",
                   process::signal_name(signo), ids.size());
  }
  return exit_status::k_ok;
}

namespace {

int
dry_run_batch(Controller& controller, const std::string& verb, const std::vector<std::string>& ids, int status)
{
  std::map<std::string, ManageableSummary> rows;
  for (auto& row : controller.list()) {
    rows.emplace(row.id, std::move(row));
  }
  std::string out;
  for (const auto& id : ids) {
    const auto it = rows.find(id);
    if (it == rows.end()) {
      continue;  // cleaned meanwhile
    }
    const auto& row = it->second;
    std::optional<RunRecord> run;
    try {
      run = controller.store().dir(id).read_run();
    } catch (const Error&) {
    }
    const auto state = row.problem.empty() ? state_word(row.active, row.pending, run) : "unknown";
    std::string refusal;
    const auto action = row.problem.empty() ? planned_action(verb, state, refusal) : "";
    if (!row.problem.empty()) {
      refusal = "its state cannot be read: " + row.problem;
    }
    std::string pid;
    if (row.active && run && run->pid > 0) {
      pid = fmt::format(", pid {}", run->pid);
    }
    if (action.empty()) {
      out += fmt::format("would not {} {} ({}{}): {}\n", verb, escape_control(id), state, pid, escape_control(refusal));
      status = exit_status::k_failed;
    } else {
      out += fmt::format("would {} {} ({}{}): {}\n", verb, escape_control(id), state, pid, action);
    }
  }
  std::cout << out << std::flush;
  logger()->info("Dry run: {} manageable{} selected, nothing was changed", ids.size(), ids.size() == 1 ? "" : "s");
  return status;
}

} // namespace

int
cmd_batch(Controller& controller, const std::string& verb_name, const std::vector<std::string>& patterns, bool dry_run)
{
  const auto& verb = k_verbs.at(verb_name);
  std::vector<std::string> ids;
  int status = select_or_report(controller, patterns, ids) ? exit_status::k_ok : exit_status::k_failed;
  if (ids.empty()) {
    logger()->info("Nothing to {}", verb_name);
    return exit_status::k_failed;
  }
  if (dry_run) {
    return dry_run_batch(controller, verb_name, ids, status);
  }
  std::size_t done = 0;
  if (verb.all != nullptr) {
    // Launched or signalled together, waited for together: N starts cost about one wrapper start-up,
    // N stops about one stop.
    for (const auto& id : ids) {
      logger()->info("{} manageable \"{}\"", verb.doing, id);
    }
    const auto errors = (controller.*verb.all)(ids);
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
      if (verb.action == nullptr) {
        if (!controller.restart(id)) {
          logger()->info("Manageable \"{}\" was inactive: started it", id);
        }
      } else {
        (controller.*verb.action)(id);
      }
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
cmd_status(Controller& controller, const std::vector<std::string>& patterns, const OutputOptions& options)
{
  std::vector<std::string> ids;
  int status = select_or_report(controller, patterns, ids) ? exit_status::k_ok : exit_status::k_failed;
  if (ids.empty()) {
    logger()->info("Nothing to show");
    if (options.json) {
      std::cout << nlohmann::ordered_json{{"schema_version", k_schema_version}, {"manageables", nlohmann::ordered_json::array()}}.dump(2)
                << "\n" << std::flush;
    }
    return exit_status::k_failed;
  }
  const auto now = Clock::now();
  const bool color = use_color(STDOUT_FILENO, options);
  // Records of every selected manageable, then one scan of /proc for the active ones.
  std::map<std::string, Records> records;
  std::map<std::string, bool> active;
  for (const auto& id : ids) {
    const auto dir = controller.store().dir(id);
    records[id] = read_records(dir);
    active[id] = dir.is_active();
  }
  const auto usage = usage_of(records, active);
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  std::size_t shown = 0;
  for (const auto& id : ids) {
    try {
      const auto s = controller.status(id, 10);
      const auto& record = records[id];
      const auto state = state_word(s.active, s.pending, record.run);
      const auto it = usage.find(id);
      const auto use = it == usage.end() ? std::nullopt : std::optional(it->second);
      if (options.json) {
        auto entry = entry_json(s.id, s.type, s.comment, state, loaded_at_of(controller.store().dir(id)), record, use, now);
        entry["path"] = s.path.string();
        entry["fields"] = nlohmann::ordered_json::array();
        for (const auto& field : s.fields) {
          entry["fields"].push_back({{"key", field.key}, {"value", field.value}});
        }
        entry["note"] = s.note.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s.note);
        // Plugins' own fields and facts, each under its class name (never mixed with spmi's keys).
        entry["plugins"] = nlohmann::ordered_json::parse(s.plugins.dump());
        entry["facts"] = nlohmann::ordered_json::parse(s.facts.dump());
        entry["output"] = s.output;
        list.push_back(std::move(entry));
        ++shown;
        continue;
      }
      // Everything that comes from the descriptor, a plugin or the task is escaped (escape_control).
      std::string out;
      out += s.comment.empty() ? fmt::format("{} ({})\n", escape_control(s.id), escape_control(s.type))
                               : fmt::format("{} ({}) - {}\n", escape_control(s.id), escape_control(s.type),
                                             escape_control(s.comment));
      out += fmt::format("Active: {} since {} ({} ago)\n", paint_state(state, state, color),
                         format_time(s.since),
                         format_delta(std::chrono::duration_cast<std::chrono::seconds>(now - s.since)));
      out += fmt::format("Path: \"{}\"\n", escape_control(s.path.string()));
      for (const auto& field : s.fields) {
        out += fmt::format("{}: {}\n", escape_control(field.key), escape_control(field.value));
      }
      out += fmt::format("PID: {}\n", s.pid ? std::to_string(*s.pid) : "-");
      if (use) {
        out += fmt::format("Resources: CPU {:.1f}%, memory {}, {} process{}\n", use->cpu_percent,
                           format_bytes(use->rss_bytes), use->processes, use->processes == 1 ? "" : "es");
      }
      if (s.exit_signal) {
        out += fmt::format("Exit code: {} (killed by {})\n", 128 + *s.exit_signal, process::signal_name(*s.exit_signal));
      } else {
        out += fmt::format("Exit code: {}\n", s.exit_code ? std::to_string(*s.exit_code) : "-");
      }
      if (s.restarts > 0 || s.failed || s.next_attempt) {
        std::string last = "-";
        if (s.last_exit_signal) {
          last = fmt::format("{} (killed by {})", 128 + *s.last_exit_signal, process::signal_name(*s.last_exit_signal));
        } else if (s.last_exit_code) {
          last = std::to_string(*s.last_exit_code);
        }
        out += fmt::format("Restarts: {} (last exit: {}{})\n", s.restarts, last,
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
      std::cout << out << std::flush;
      ++shown;
    } catch (const Error& e) {
      logger()->error("{}", e.what());
      status = std::max(status, e.exit_code());
    }
  }
  if (options.json) {
    std::cout << nlohmann::ordered_json{{"schema_version", k_schema_version}, {"manageables", list}}.dump(2) << "\n" << std::flush;
  }
  logger()->info("Showed {} manageables", shown);
  return status;
}

} // namespace spmi::cli

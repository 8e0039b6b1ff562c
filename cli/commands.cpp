// SPDX-License-Identifier: MIT
// `load`, the batch verbs (start, stop, kill, clean, restart; with --dry-run what they would do) and the
// formatting helpers the commands share. `list` and `status` are rendered in render.cpp.
#include "commands.hpp"

#include <spmi/errors.hpp>
#include <spmi/log.hpp>
#include <spmi/process.hpp>
#include <spmi/text.hpp>

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

} // namespace

bool
select_or_report(Controller& controller,
                 const std::vector<std::string>& patterns,
                 std::vector<std::string>& ids)
{
  std::vector<std::string> unmatched;
  ids = controller.select(patterns, unmatched);
  for (const auto& pattern : unmatched) {
    const auto meant = controller.meant_pattern(pattern);
    logger()->error("no loaded manageable matches '{}' (see `spmi list`){}", escape_control(pattern),
                    meant ? fmt::format("; patterns are regular expressions, not globs: did you mean '{}'?",
                                        escape_control(*meant))
                          : "");
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
planned_action(const std::string& verb, const std::string& state, std::string& refusal)
{
  const bool running = state == "active" || state == "restarting" || state == "pending";
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
  if (state == "restarting") {
    return "end its wait for the next attempt (no attempt runs), so it is not restarted";
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

// "backend.type: local", "wrapper.command: ..." for each value under `node` (below `prefix`), in key
// order; strings as they are (control characters escaped), other values as JSON.
void
settings_lines(const nlohmann::json& node, const std::string& prefix, std::string& out)
{
  for (const auto& item : node.items()) {
    const auto key = prefix.empty() ? item.key() : prefix + "." + item.key();
    if (item.value().is_object()) {
      settings_lines(item.value(), key, out);
    } else if (key != "id") {
      out += fmt::format("  {}: {}\n", escape_control(key),
                         escape_control(item.value().is_string() ? item.value().get<std::string>() : item.value().dump()));
    }
  }
}

} // namespace

int
cmd_load_dry_run(Controller& controller, const std::vector<std::filesystem::path>& paths)
{
  const auto descriptors = controller.plan_load(paths);
  std::string out;
  std::size_t loaded = 0;
  for (const auto& descriptor : descriptors) {
    std::string values;
    for (const auto& item : descriptor.matrix.items()) {
      values += fmt::format("{}{}={}", values.empty() ? "; " : ", ", item.key(), item.value().get<std::string>());
    }
    const auto id = escape_control(descriptor.id);
    if (controller.loaded(descriptor.id)) {
      ++loaded;
      out += fmt::format("would not load {} (from {}{}): it is loaded already; `spmi load --replace` replaces it\n", id,
                         escape_control(descriptor.source.string()), escape_control(values));
      continue;
    }
    out += fmt::format("would load {} (from {}{}) as {}\n", id, escape_control(descriptor.source.string()),
                       escape_control(values), escape_control(descriptor.type));
    settings_lines(descriptor.body, "", out);
  }
  std::cout << out << std::flush;
  logger()->info("Dry run: {} manageable{}{}, nothing was changed", descriptors.size(), descriptors.size() == 1 ? "" : "s",
                 loaded == 0 ? "" : fmt::format("; `spmi load` would refuse all: {} {} loaded already", loaded,
                                                loaded == 1 ? "is" : "are"));
  return loaded == 0 ? exit_status::k_ok : exit_status::k_failed;
}

namespace {

int
dry_run_batch(Controller& controller, const std::string& verb, const std::vector<std::string>& ids, int status)
{
  std::map<std::string, ManageableView> views;
  for (auto& view : controller.list(false)) {
    views.emplace(view.id, std::move(view));
  }
  std::string out;
  for (const auto& id : ids) {
    const auto it = views.find(id);
    if (it == views.end()) {
      continue;  // cleaned meanwhile
    }
    const auto& view = it->second;
    const std::string state = state_word(view.state);
    std::string refusal;
    const auto action = view.problem.empty() ? planned_action(verb, state, refusal) : "";
    if (!view.problem.empty()) {
      refusal = "its state cannot be read: " + view.problem;
    }
    std::string pid;
    if (view.active() && view.run && view.run->pid > 0) {
      pid = fmt::format(", pid {}", view.run->pid);
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

// The outcome of `id` in a batch: logs its error (raising `status`) and returns false, or returns true.
bool
batch_outcome(const std::string& id, const std::exception_ptr& error, BatchResult& result, spdlog::logger& log)
{
  try {
    if (error) {
      std::rethrow_exception(error);
    }
    return true;
  } catch (const Error& e) {
    log.error("{}", e.what());
    result.status = std::max(result.status, e.exit_code());
  } catch (const std::exception& e) {
    log.error("manageable '{}': unexpected error: {}", id, e.what());
    result.status = std::max(result.status, int(exit_status::k_failed));
  }
  if (!result.first_error) {
    result.first_error = error;
  }
  return false;
}

// `restart`: stopped together, started together (several of one backend's settings: one job array).
void
restart_batch(Controller& controller, const std::vector<std::string>& ids, BatchResult& result, spdlog::logger& log)
{
  for (const auto& id : ids) {
    log.info("Restarting manageable \"{}\"", id);
  }
  std::vector<bool> was_running;
  const auto errors = controller.restart_all(ids, was_running);
  std::size_t done = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (batch_outcome(ids[i], errors[i], result, log)) {
      if (!was_running[i]) {
        log.info("Manageable \"{}\" was inactive: started it", ids[i]);
      }
      ++done;
    }
  }
  log.info("Restarted {} manageables", done);
}

} // namespace

BatchResult
run_batch(Controller& controller, const std::string& verb_name, const std::vector<std::string>& ids,
          spdlog::logger& log)
{
  const auto& verb = k_verbs.at(verb_name);
  BatchResult result;
  if (verb.all == nullptr && verb.action == nullptr) {
    restart_batch(controller, ids, result, log);
    return result;
  }
  std::size_t done = 0;
  if (verb.all != nullptr) {
    // Launched or signalled together, waited for together: N starts cost about one wrapper start-up,
    // N stops about one stop.
    for (const auto& id : ids) {
      log.info("{} manageable \"{}\"", verb.doing, id);
    }
    const auto errors = (controller.*verb.all)(ids);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      done += batch_outcome(ids[i], errors[i], result, log) ? 1 : 0;
    }
  } else {
    for (const auto& id : ids) {
      log.info("{} manageable \"{}\"", verb.doing, id);
      std::exception_ptr error;
      try {
        (controller.*verb.action)(id);
      } catch (...) {
        error = std::current_exception();
      }
      done += batch_outcome(id, error, result, log) ? 1 : 0;
    }
  }
  log.info("{} {} manageables", verb.done, done);
  return result;
}

int
cmd_batch(Controller& controller, const std::string& verb_name, const std::vector<std::string>& patterns, bool dry_run)
{
  std::vector<std::string> ids;
  const int status = select_or_report(controller, patterns, ids) ? exit_status::k_ok : exit_status::k_failed;
  if (ids.empty()) {
    logger()->info("Nothing to {}", verb_name);
    return exit_status::k_failed;
  }
  if (dry_run) {
    return dry_run_batch(controller, verb_name, ids, status);
  }
  return std::max(status, run_batch(controller, verb_name, ids, *logger()).status);
}

int
run_reporting_errors(const std::function<int()>& command)
{
  try {
    return command();
  } catch (const Interrupted& e) {
    // Undone already; end by the same signal, so a shell or script running us sees the interrupt.
    logger()->error("{}", e.what());
    process::die_by_signal(e.signal_number());
  } catch (const Error& e) {
    logger()->error("{}", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    logger()->error("internal error: {}", e.what());
  }
  return exit_status::k_failed;
}

} // namespace spmi::cli

// SPDX-License-Identifier: MIT
// `spmi reload` and `spmi load --replace`: what the Controller replaced (or, with --dry-run, would),
// one line per manageable, as the other batch verbs print.
#include "commands.hpp"

#include <spmi/errors.hpp>
#include <spmi/log.hpp>
#include <spmi/process.hpp>
#include <spmi/text.hpp>

#include <fmt/format.h>

#include <iostream>

namespace spmi::cli {

namespace {

// "nothing changes", or what does: descriptor keys, working directory, environment (names only).
std::string
changes_text(const ReloadOutcome& outcome)
{
  std::vector<std::string> parts;
  if (!outcome.changed_keys.empty()) {
    std::string keys;
    for (const auto& key : outcome.changed_keys) {
      keys += (keys.empty() ? "" : ", ") + escape_control(key);
    }
    parts.push_back("changes " + keys);
  }
  if (outcome.cwd_changed) {
    parts.push_back("records this directory as its working directory");
  }
  if (outcome.environment_recorded) {
    parts.push_back("records this environment (until now each start's)");
  } else if (!outcome.environment_changes.empty()) {
    std::string names;
    for (const auto& name : outcome.environment_changes) {
      names += (names.empty() ? "" : ", ") + escape_control(name);
    }
    parts.push_back("environment: " + names + " differ");
  }
  std::string text;
  for (const auto& part : parts) {
    text += (text.empty() ? "" : "; ") + part;
  }
  return text.empty() ? "nothing changes" : text;
}

// The note of a manageable whose task runs on with its old descriptor.
std::string
running_note(const std::string& id)
{
  return fmt::format("it is active: the running task keeps the descriptor it was started with until `spmi restart {}`",
                     escape_control(id));
}

int
report(const std::vector<ReloadOutcome>& outcomes, bool dry_run, const char* verb)
{
  if (dry_run) {
    std::string out;
    for (const auto& outcome : outcomes) {
      const auto id = escape_control(outcome.id);
      out += outcome.replaced ? fmt::format("would {} {} (from {}): {}{}\n", verb, id, escape_control(outcome.source.string()),
                                            changes_text(outcome), outcome.running ? "; " + running_note(outcome.id) : "")
                              : fmt::format("would load {} (from {}): not loaded yet\n", id,
                                            escape_control(outcome.source.string()));
    }
    std::cout << out << std::flush;
    logger()->info("Dry run: {} manageable{}, nothing was changed", outcomes.size(), outcomes.size() == 1 ? "" : "s");
    return exit_status::k_ok;
  }
  std::size_t replaced = 0;
  for (const auto& outcome : outcomes) {
    if (!outcome.replaced) {
      logger()->info("Loaded manageable \"{}\"", outcome.id);
      continue;
    }
    ++replaced;
    logger()->info("Reloaded manageable \"{}\"{}", outcome.id, outcome.running ? "; " + running_note(outcome.id) : "");
  }
  logger()->info("Reloaded {} manageable{}{}", replaced, replaced == 1 ? "" : "s",
                 outcomes.size() > replaced ? fmt::format(", loaded {}", outcomes.size() - replaced) : "");
  if (const int signo = process::interrupt_pending()) {
    logger()->warn("{} arrived while they were being replaced, too late to undo: all {} are", process::signal_name(signo),
                   outcomes.size());
  }
  return exit_status::k_ok;
}

} // namespace

int
cmd_reload(Controller& controller, const std::vector<std::string>& patterns, bool dry_run)
{
  std::vector<std::string> ids;
  if (!select_or_report(controller, patterns, ids) || ids.empty()) {
    // All or nothing: a pattern that matched nothing reloads nothing.
    logger()->info("Nothing was reloaded");
    return exit_status::k_failed;
  }
  // All or nothing, also when interrupted: a SIGINT, SIGTERM or SIGHUP before the first replacement
  // changes nothing (Interrupted), one after lets it finish.
  const process::DeferredInterrupts deferred;
  for (const auto& id : ids) {
    logger()->info("Reloading manageable \"{}\"", id);
  }
  return report(controller.reload(ids, dry_run), dry_run, "reload");
}

int
cmd_load_replace(Controller& controller, const std::vector<std::filesystem::path>& paths, bool dry_run)
{
  const process::DeferredInterrupts deferred;
  return report(controller.load_replace(paths, dry_run), dry_run, "replace");
}

} // namespace spmi::cli

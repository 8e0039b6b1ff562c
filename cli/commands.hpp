// SPDX-License-Identifier: MIT
// The spmi commands: each prints what the guide shows and returns the process exit status.
#pragma once

#include <spmi/controller.hpp>
#include <spmi/registry.hpp>
#include <spmi/unique_fd.hpp>

#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}
namespace spdlog {
class logger;
}

namespace spmi::cli {

// How output is shown: colours only on a terminal, never with NO_COLOR set or --no-color.
struct OutputOptions
{
  bool json = false;
  bool no_color = false;
};

// `spmi list [patterns]`: every loaded manageable, or those the patterns select.
// True when output to `fd` is coloured: a terminal, no --no-color, no NO_COLOR, no --json.
bool use_color(int fd, const OutputOptions& options);
int cmd_list(Controller& controller, const std::vector<std::string>& patterns, const OutputOptions& options = {});
int cmd_load(Controller& controller, const std::vector<std::filesystem::path>& paths);
// `spmi load --dry-run`: each manageable the files would make (matrices expanded), its ID and settings;
// refused when one is loaded already. Changes nothing.
int cmd_load_dry_run(Controller& controller, const std::vector<std::filesystem::path>& paths);
// `spmi run`'s options (cli/run.cpp).
struct RunOptions
{
  std::string id;
  std::string backend = "screen";
  std::string restart;
  std::string cwd;
  bool detach = false;
  std::vector<std::string> argv;
};
// Declares `spmi run` on `app`, its options into `options`.
CLI::App* add_run_command(CLI::App& app, RunOptions& options);
// `spmi run`: loads and starts the task; prints its ID; unless detached, follows its output until it
// ends and returns its exit status.
int cmd_run(Controller& controller, const RunOptions& options);
// `spmi load --replace`: loads new IDs and replaces loaded ones, keeping their output and history.
int cmd_load_replace(Controller& controller, const std::vector<std::filesystem::path>& paths, bool dry_run);
// `spmi reload`: reads each selected manageable's descriptor file again (all or nothing).
int cmd_reload(Controller& controller, const std::vector<std::string>& patterns, bool dry_run);
// start, stop, kill, clean, restart: `verb` is one of those words. With `dry_run`, prints what would be
// done to each selected manageable and changes nothing.
int cmd_batch(Controller& controller, const std::string& verb, const std::vector<std::string>& patterns,
              bool dry_run = false);
// What a batch (run_batch) did: the exit status `spmi <verb>` returns, and the first error met (null
// when none), whose type says why (errors.hpp).
struct BatchResult
{
  int status = 0;
  std::exception_ptr first_error;
};
// start, stop, kill, clean, restart of `ids` (loaded ones), saying what it does and each failure on
// `log`, as cmd_batch() does (`spmi web` runs its actions through this, its own logger capturing).
BatchResult run_batch(Controller& controller, const std::string& verb, const std::vector<std::string>& ids,
                      spdlog::logger& log);
// `spmi status [patterns]`: without patterns every loaded manageable, or (as text, more than
// k_status_all_max loaded) the overview status_overview() prints.
int cmd_status(Controller& controller, const std::vector<std::string>& patterns, const OutputOptions& options = {});
// The most manageables `status` without patterns shows in full.
constexpr std::size_t k_status_all_max = 20;
// When more than k_status_all_max manageables are loaded: prints how many are in each state and how
// to see them, and returns the exit status (1 when a state could not be read); nullopt (nothing
// printed) otherwise.
std::optional<int> status_overview(Controller& controller);
// Last `lines` lines of a task's stdout (or stderr); with `follow`, then what it writes, across
// restarts, truncation and rotation (stdout renamed to stdout.1), until SIGINT or SIGTERM.
// Several patterns, or one that is not a loaded ID: the lines of every task selected, each with its ID
// in front, merged by the time prefix of `timestamps = true` where there is one (see the guide).
int cmd_logs(Controller& controller, const std::vector<std::string>& patterns, std::size_t lines, bool follow,
             bool use_stderr, const OutputOptions& options = {});
// `spmi connect`'s options for scripts; the interactive use needs none.
struct ConnectOptions
{
  bool no_history = false;           // do not replay the recent output
  std::optional<double> timeout;     // give up after this many seconds: exit k_connect_timeout
  std::optional<std::string> until;  // return once output after the input matches this (RE2)
};
// connect's exit statuses besides 0 (input sent and output quiet, detached, or --until matched), 1
// (refused: not loaded, not active) and 2 (bad command line, a bad --until expression).
constexpr int k_connect_timeout = 124;      // --timeout passed first
constexpr int k_connect_ended = 6;          // with --until: the task ended before its output matched
constexpr int k_connect_interrupted = 130;  // with --until: SIGINT, SIGTERM or SIGHUP before a match
int cmd_connect(Controller& controller, const std::string& id, const ConnectOptions& options = {});
// `spmi wait`: until every selected manageable has ended (or `timeout_seconds` passed); the exit status
// is WaitOutcome::exit_status(): 0, the first failure's code, or 124 on timeout.
int cmd_wait(Controller& controller, const std::vector<std::string>& patterns, std::optional<double> timeout_seconds);
// `spmi resurrect`: the outcome for each selected manageable (all without patterns), one line each.
int cmd_resurrect(Controller& controller, const std::vector<std::string>& patterns, bool dry_run);
// What `spmi startup` does: show the plan, install it or remove it.
enum class StartupMode { show, install, uninstall };
// `method` is "", "systemd" or "cron"; with `dry_run` (or mode show), prints the plan and changes nothing.
int cmd_startup(const Controller& controller, StartupMode mode, const std::string& method, bool dry_run);
// Selects by patterns; logs each pattern that matched nothing. Returns false when one did not match.
bool select_or_report(Controller& controller, const std::vector<std::string>& patterns, std::vector<std::string>& ids);
// After a parse error: when the command word (the first argument not an option) is no command, logs
// "unknown command 'stat'; did you mean 'status'? ..." and returns true; false leaves the error to CLI11.
bool report_unknown_command(CLI::App& app, int argc, char** argv);
// Runs a command: its exit status, or, when it throws, the error logged and its exit status (an
// interrupt: the process ends by that signal, as a shell expects).
int run_reporting_errors(const std::function<int()>& command);
// Every plugin type found, shadowed and conflicting classes, rejected files, and the directories.
int cmd_plugins(PluginRegistry& registry);

// "0:00:49", "2 days, 3:04:05": the guide's form of a time span.
std::string format_delta(std::chrono::seconds delta);
// The state word list and status show: active, pending (a queued launch), failed (the restart policy
// gave up), else inactive.
// What `verb` (stop, kill, clean, restart) would do to a manageable in `state`, for --dry-run; empty when
// the command would refuse, with the reason in `refusal`.
std::string planned_action(const std::string& verb, const std::string& state, std::string& refusal);
// "45s", "12m", "3h", "2d": a short uptime, as in pm2's table.
std::string format_uptime(std::chrono::seconds delta);
// "812K", "5.2M", "1.3G": a memory size in binary units.
std::string format_bytes(std::uint64_t bytes);
// "2026-11-25T19:14:11.123Z": ISO-8601 UTC with milliseconds, as in the JSON output.
std::string format_iso8601(TimePoint t);
// `signals` blocked and readable from the descriptor returned (signalfd, non-blocking): how a command
// that follows output (`logs -f`, an attached `spmi run`) learns it should end.
UniqueFd blocked_signal_fd(std::initializer_list<int> signals);

} // namespace spmi::cli

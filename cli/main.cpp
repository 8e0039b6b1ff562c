// SPDX-License-Identifier: MIT
// The spmi command line: parses arguments (CLI11) and runs one command.
#include "commands.hpp"
#include "top.hpp"
#include "wrapper_log.hpp"
#include "web/web.hpp"

#include <spmi/controller.hpp>
#include <spmi/errors.hpp>
#include <spmi/process.hpp>
#include <spmi/log.hpp>
#include <spmi/registry.hpp>
#include <spmi/run_protocol.hpp>
#include <spmi/state.hpp>

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <iostream>

namespace {

constexpr const char* k_banner = R"(   _____ ____  __  _______
  / ___// __ \/  |/  /  _/
  \__ \/ /_/ / /|_/ // /
 ___/ / ____/ /  / // /
/____/_/   /_/  /_/___/
Simple Process Management Interface

SPMI is a program to maintain processes.)";

constexpr const char* k_footer = R"(Patterns are regular expressions matched against whole IDs; several select the union.

Environment:
  SPMI_PATH         state directory (default ~/.spmi)
  SPMI_PLUGIN_PATH  extra plugin directories, colon-separated, searched first
                    (then ~/.local/lib/spmi/plugins, then the installed ones)
  NO_COLOR          set (to anything): no colours, as --no-color
  SPMI_STRICT       1 (or true, yes, on): unknown descriptor keys are errors, as load --strict

Exit status:
  0 every operation succeeded    1 an operation failed or was refused
  2 bad command line or pattern  3 bad descriptor (nothing loaded)
  4 plugin missing or broken     5 system error (permissions, disk)
  wait: 0 when all ended with 0, else the first failure's code; 124 on --timeout
  connect: 0 detached, or --until matched; 124 on --timeout; 6 with --until: the task ended)";

} // namespace

// Long because: it is the whole command line in one place, each subcommand's options declared beside
// the others (as `spmi --help` lists them) and dispatched in the same order; split, the option
// variables would have to travel between the halves.
int
main(int argc, char** argv)
{
  using namespace spmi;
  if (argc == 4 && std::string_view(argv[1]) == k_wrapper_command) {
    return cli::run_wrapper_process(argv[2], argv[3]);  // the wrapper process: nothing else to parse
  }
  CLI::App app(k_banner, "spmi");
  app.footer(k_footer);
  app.require_subcommand(1);
  app.fallthrough();
  bool debug = false;
  app.add_flag("-d,--debug", debug, "Run in debug mode");
  app.set_version_flag("-v,--version", "spmi " SPMI_VERSION, "Show version");

  std::vector<std::string> paths;
  std::vector<std::string> patterns;
  std::string id;
  std::string run_dir;
  std::string run_token;
  cli::OutputOptions output;
  bool dry_run = false;
  std::size_t log_lines = 10;
  bool log_follow = false;
  bool log_stderr = false;
  app.add_flag("--no-color", output.no_color, "Never colour the output (NO_COLOR in the environment does the same)");

  auto* list = app.add_subcommand("list", "List loaded manageables");
  list->add_option("patterns", patterns, "ID patterns (regular expressions); none: every manageable");
  list->add_flag("--json", output.json, "Print JSON (docs/schema/spmi-list.schema.json)");
  auto* load = app.add_subcommand("load", "Load manageables from descriptor files (TOML, YAML, JSON)");
  load->add_option("paths", paths, "Descriptor files")->required();
  bool strict = false;
  load->add_flag("--strict", strict, "Refuse unknown keys (errors, not warnings; SPMI_STRICT=1 does the same)");
  bool replace = false;
  load->add_flag("--replace", replace, "Replace manageables already loaded (keeping their output and history)");
  load->add_flag("--dry-run", dry_run, "Show the manageables the files would make (IDs, settings); change nothing");
  cli::RunOptions run_options;
  auto* run_command = cli::add_run_command(app, run_options);
  auto* reload = app.add_subcommand("reload", "Read manageables' descriptor files again (all or nothing); active "
                                               "tasks keep theirs until restarted");
  reload->add_option("patterns", patterns, "ID patterns (regular expressions)")->required();
  reload->add_flag("--dry-run", dry_run, "Show what would change; change nothing");
  reload->add_flag("--strict", strict, "Refuse unknown keys, as load --strict does");
  struct Batch
  {
    const char* name;
    const char* help;
    CLI::App* app = nullptr;
  };
  Batch batches[] = {{"start", "Start manageables"},
                     {"stop", "Stop manageables gracefully (SIGINT, then SIGKILL after stop_timeout)"},
                     {"kill", "Kill manageables at once (SIGKILL)"},
                     {"clean", "Remove inactive manageables from SPMI"},
                     {"restart", "Stop manageables (as stop does) and start them again; start inactive ones"}};
  for (auto& batch : batches) {
    batch.app = app.add_subcommand(batch.name, batch.help);
    batch.app->add_option("patterns", patterns, "ID patterns (regular expressions)")->required();
    if (std::string(batch.name) != "start") {
      batch.app->add_flag("--dry-run", dry_run, "Show what would be done to which manageables; change nothing");
    }
  }
  auto* status = app.add_subcommand("status", "Show the state and recent output of manageables");
  status->add_option("patterns", patterns, "ID patterns (regular expressions); none: all, or counts per state "
                                           "when more than 20 are loaded (--json: all)");
  status->add_flag("--json", output.json, "Print JSON (docs/schema/spmi-status.schema.json)");
  auto* logs = app.add_subcommand("logs", "Print the last lines of tasks' output; -f follows it. Several tasks: "
                                         "merged, each line after its ID");
  logs->add_option("patterns", patterns, "ID of a manageable, or ID patterns (regular expressions)")->required();
  logs->add_option("-n,--lines", log_lines, "Number of lines to print (default 10; of each task)");
  logs->add_flag("-f,--follow", log_follow, "Keep printing what the task writes, across restarts and rotation");
  logs->add_flag("--stderr", log_stderr, "Show the stderr file instead of stdout");
  std::optional<double> wait_timeout;
  auto* wait = app.add_subcommand("wait", "Wait until manageables have ended (inactive or failed); exit with the "
                                          "first failure's code, 124 on --timeout");
  wait->add_option("patterns", patterns, "ID patterns (regular expressions)")->required();
  wait->add_option("--timeout", wait_timeout, "Give up after this many seconds (decimals allowed); exit 124");
  auto* connect = app.add_subcommand("connect", "Follow a task's output and send it what you type");
  connect->add_option("task_id", id, "ID of an active manageable")->required();
  cli::TopOptions top_options;
  auto* top = cli::add_top_command(app, patterns, top_options);
  cli::ConnectOptions connect_options;
  connect->add_flag("--no-history", connect_options.no_history, "Do not print the recent output first");
  connect->add_option("--timeout", connect_options.timeout, "Give up after this many seconds (decimals allowed); "
                                                            "exit 124");
  connect->add_option("--until", connect_options.until, "Return (exit 0) once output that arrived after the input "
                                                        "was sent matches this regular expression (RE2); exit 6 "
                                                        "when the task ends first");
  auto* plugins = app.add_subcommand("plugins", "List plugin types (manageables, backends, wrappers), their files, "
                                                 "and files that were refused");
  auto* resurrect = app.add_subcommand("resurrect", "After a reboot, start again what was running when the host went "
                                                     "down and no user stopped (autostart on); patterns select");
  resurrect->add_option("patterns", patterns, "ID patterns (regular expressions); none: every manageable");
  resurrect->add_flag("--dry-run", dry_run, "Show what would be started and why; change nothing");
  bool startup_install = false;
  bool startup_uninstall = false;
  std::string startup_method;
  auto* startup = app.add_subcommand("startup", "Show, --install or --uninstall what runs `spmi resurrect` at boot "
                                                 "(a systemd user unit, else a crontab @reboot line)");
  auto* install_flag = startup->add_flag("--install", startup_install, "Install it");
  startup->add_flag("--uninstall", startup_uninstall, "Remove what --install added")->excludes(install_flag);
  startup->add_option("--method", startup_method, "systemd or cron (default: systemd where it runs, else cron)")
    ->check(CLI::IsMember({"systemd", "cron"}));
  startup->add_flag("--dry-run", dry_run, "Show what would be installed or removed; change nothing");
  web::WebOptions web_options;
  auto* web_command = web::add_web_command(app, web_options);
  auto* run = app.add_subcommand(k_wrapper_command, "")->group("");  // internal: the wrapper process
  run->add_option("dir", run_dir)->required();
  run->add_option("token", run_token)->required();  // alone, handled at the top

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (cli::report_unknown_command(app, argc, argv)) {
      return exit_status::k_usage;
    }
    app.exit(e);
    return exit_status::k_usage;
  }

  set_debug(debug);
  set_log_color(!output.no_color && std::getenv("NO_COLOR") == nullptr && ::isatty(STDERR_FILENO) == 1);
  if (run->parsed()) {
    return cli::run_wrapper_process(run_dir, run_token);  // with -d, say
  }
  return cli::run_reporting_errors([&] {
    // The registry outlives every plugin object the controller makes.
    PluginRegistry registry(PluginRegistry::default_dirs());
    Controller controller(Controller::default_state_root(), registry, logger());
    if (debug) {
      std::string dirs;
      for (const auto& dir : registry.dirs()) {
        dirs += (dirs.empty() ? "" : ":") + dir.string();
      }
      logger()->debug("state directory {}; plugin directories {}", controller.state_root().string(), dirs);
    }
    if (list->parsed()) {
      return cli::cmd_list(controller, patterns, output);
    }
    if (load->parsed()) {
      if (strict) {
        controller.set_strict(true);
      }
      const std::vector<std::filesystem::path> files(paths.begin(), paths.end());
      if (replace) {
        return cli::cmd_load_replace(controller, files, dry_run);
      }
      return dry_run ? cli::cmd_load_dry_run(controller, files) : cli::cmd_load(controller, files);
    }
    if (run_command->parsed()) {
      return cli::cmd_run(controller, run_options);
    }
    if (reload->parsed()) {
      if (strict) {
        controller.set_strict(true);
      }
      return cli::cmd_reload(controller, patterns, dry_run);
    }
    for (const auto& batch : batches) {
      if (batch.app->parsed()) {
        return cli::cmd_batch(controller, batch.name, patterns, dry_run);
      }
    }
    if (status->parsed()) {
      return cli::cmd_status(controller, patterns, output);
    }
    if (logs->parsed()) {
      return cli::cmd_logs(controller, patterns, log_lines, log_follow, log_stderr, output);
    }
    if (top->parsed()) {
      top_options.no_color = output.no_color;
      return cli::cmd_top(controller, patterns, top_options);
    }
    if (plugins->parsed()) {
      return cli::cmd_plugins(registry);
    }
    if (resurrect->parsed()) {
      return cli::cmd_resurrect(controller, patterns, dry_run);
    }
    if (startup->parsed()) {
      const auto mode = startup_install     ? cli::StartupMode::install
                        : startup_uninstall ? cli::StartupMode::uninstall
                                            : cli::StartupMode::show;
      return cli::cmd_startup(controller, mode, startup_method, dry_run);
    }
    if (wait->parsed()) {
      return cli::cmd_wait(controller, patterns, wait_timeout);
    }
    if (connect->parsed()) {
      return cli::cmd_connect(controller, id, connect_options);
    }
    if (web_command->parsed()) {
      return web::cmd_web(controller, web_options);
    }
    return exit_status::k_usage;
  });
}

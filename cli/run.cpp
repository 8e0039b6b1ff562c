// SPDX-License-Identifier: MIT
// `spmi run [--id ID] [--backend TYPE] [--restart POLICY] [--cwd DIR] [-d|--detach] -- CMD ARGS...`: a
// task made from a command line, loaded (as `load` does, with this directory and environment) and
// started in one call; attached, its output followed until it ends, exiting with its status.
#include "commands.hpp"

#include <spmi/descriptor.hpp>
#include <spmi/errors.hpp>
#include <spmi/log.hpp>
#include <spmi/suggest.hpp>
#include <spmi/text.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <iostream>

namespace spmi::cli {

namespace {

using json = nlohmann::json;

// "sleep" for /bin/sleep, "my_prog" for "my prog": the basename with what no ID may hold made '_'.
std::string
id_stem(const std::string& program)
{
  const auto slash = program.find_last_of('/');
  std::string stem = program.substr(slash == std::string::npos ? 0 : slash + 1);
  for (auto& c : stem) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '.' || c == '-';
    c = ok ? c : '_';
  }
  while (!stem.empty() && (stem[0] == '.' || stem[0] == '-')) {
    stem.erase(0, 1);
  }
  stem = stem.substr(0, 56);  // room for "-" and a number within the 64 characters of an ID
  return stem.empty() ? "run" : stem;
}

// The lowest "<stem>-<n>" not loaded, n from `from`.
std::string
free_id(const Controller& controller, const std::string& stem, unsigned& from)
{
  while (controller.loaded(fmt::format("{}-{}", stem, from))) {
    ++from;
  }
  return fmt::format("{}-{}", stem, from);
}

// The task's descriptor, as `spmi load` would read it from a file.
Descriptor
run_descriptor(const RunOptions& options, const std::string& id)
{
  std::string command = "exec";  // the program replaces the shell: its PID, its signals, its exit status
  for (const auto& arg : options.argv) {
    command += " " + shell_word(arg);
  }
  json wrapper{{"type", "default"}, {"command", command}};
  if (!options.restart.empty()) {
    wrapper["restart"] = options.restart;
  }
  if (!options.cwd.empty()) {
    wrapper["cwd"] = std::filesystem::absolute(options.cwd).lexically_normal().string();
  }
  std::string shown;
  for (const auto& arg : options.argv) {
    shown += (shown.empty() ? "" : " ") + shell_word(arg);
  }
  Descriptor descriptor;
  descriptor.type = "task";
  descriptor.id = id;
  descriptor.comment = "spmi run " + shown;
  descriptor.body = json{{"id", id}, {"comment", descriptor.comment}, {"backend", {{"type", options.backend}}},
                         {"wrapper", wrapper}};
  descriptor.format = "json";
  descriptor.text = json{{"task", descriptor.body}}.dump(2) + "\n";
  return descriptor;
}

// Loads the task, under options.id or the lowest free generated ID (again when another `spmi run` took
// it meanwhile). Returns its ID.
std::string
load_run(Controller& controller, const RunOptions& options)
{
  if (!options.id.empty()) {
    if (!is_valid_id(options.id)) {
      throw UsageError(fmt::format("--id: '{}' is not a valid ID; use 1-64 letters, digits, '_', '.' or '-', starting "
                                   "with a letter, digit or '_'",
                                   escape_control(options.id)));
    }
    if (controller.loaded(options.id)) {
      throw StateError(fmt::format("manageable '{}' is already loaded; `spmi clean {}` first, or give another --id "
                                   "(nothing was loaded)",
                                   options.id, options.id));
    }
    return controller.load_descriptors({run_descriptor(options, options.id)}, json{{"made_by", "spmi run"}}).front();
  }
  const auto stem = id_stem(options.argv.front());
  unsigned from = 1;
  for (int attempt = 0;; ++attempt) {
    const auto id = free_id(controller, stem, from);
    try {
      return controller.load_descriptors({run_descriptor(options, id)}, json{{"made_by", "spmi run"}}).front();
    } catch (const StateError&) {
      if (attempt >= 20 || !controller.loaded(id)) {
        throw;
      }
    }
  }
}

void
write_to(int fd, const char* data, std::size_t size)
{
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;  // a closed pipe: the output is not wanted any more
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

// Follows `id`'s stdout and stderr (to ours) until it has ended (a queued launch: once it ran); its
// exit status, or 128 + the signal that ended the following (the task goes on).
int
attach(Controller& controller, const std::string& id)
{
  const auto signals = blocked_signal_fd({SIGINT, SIGTERM, SIGHUP});
  auto out = controller.follow_output(id, "stdout");
  auto err = controller.follow_output(id, "stderr");
  const auto pump = [&] {
    for (auto* follower : {&out, &err}) {
      const int fd = follower == &out ? STDOUT_FILENO : STDERR_FILENO;
      follower->pump([fd](const char* data, std::size_t size) { write_to(fd, data, size); });
    }
  };
  out.start_at_tail_bytes(off_t{1} << 40);  // from their start: all this run wrote
  err.start_at_tail_bytes(off_t{1} << 40);
  const int watch_fd = out.change_fd();
  while (true) {
    int wait_ms = 100;
    if (!controller.running(id)) {
      pump();
      const auto outcome = controller.wait({id}, std::chrono::milliseconds(0));
      if (!outcome.timed_out()) {
        const int status = outcome.exit_status();
        logger()->info("Manageable \"{}\" ended{}", id, status == 0 ? "" : fmt::format(" with exit status {}", status));
        return status;
      }
      wait_ms = 1000;  // pending (a queued launch): its scheduler is asked once a second
    }
    pump();
    pollfd fds[2] = {{signals.get(), POLLIN, 0}, {watch_fd, POLLIN, 0}};
    if (::poll(fds, watch_fd >= 0 ? 2 : 1, wait_ms) < 0 && errno != EINTR) {
      throw_errno("poll");
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      const auto got = ::read(signals.get(), &info, sizeof(info));
      const int signo = got == sizeof(info) ? static_cast<int>(info.ssi_signo) : SIGINT;
      logger()->info("Stopped following \"{}\"; it goes on running: `spmi logs -f {}` follows it again, `spmi stop {}` "
                     "stops it",
                     id, id, id);
      return 128 + signo;
    }
    if (watch_fd >= 0 && (fds[1].revents & POLLIN)) {
      out.clear_changes();
    }
  }
}

} // namespace

CLI::App*
add_run_command(CLI::App& app, RunOptions& options)
{
  auto* run = app.add_subcommand("run", "Load and start a task made from a command line (as `pm2 start`, "
                                        "`systemd-run`); prints its ID, then follows its output (-d: returns)");
  run->add_option("--id", options.id, "ID of the task (default: the program's name and the lowest free number)");
  run->add_option("--backend", options.backend, "Backend type (default screen)");
  run->add_option("--restart", options.restart, "Restart policy: no (default), on-failure or always")
    ->check(CLI::IsMember({"no", "on-failure", "always"}));
  run->add_option("--cwd", options.cwd, "Working directory of the task (default: this one)");
  run->add_flag("-d,--detach", options.detach, "Print the ID and return; do not follow the output");
  run->add_option("command", options.argv, "The program and its arguments, after --")->required();
  return run;
}

int
cmd_run(Controller& controller, const RunOptions& options)
{
  const auto id = load_run(controller, options);
  std::cout << id << std::endl;  // on stdout, so a script can capture it
  try {
    controller.start(id);
  } catch (const Error& e) {
    logger()->error("{}", e.what());
    logger()->error("manageable '{}' is loaded but did not start; `spmi start {}` tries again, `spmi clean {}` "
                    "removes it",
                    id, id, id);
    return e.exit_code();
  }
  logger()->info("Started manageable \"{}\"", id);
  return options.detach ? exit_status::k_ok : attach(controller, id);
}

} // namespace spmi::cli

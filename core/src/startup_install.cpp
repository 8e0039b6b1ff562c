// SPDX-License-Identifier: MIT
// `spmi startup --install` / `--uninstall`: writing the unit or the crontab line and running the tools
// (crontab, systemctl, loginctl) that make it count. What is installed is decided in startup.cpp.
#include <spmi/errors.hpp>
#include <spmi/process.hpp>
#include <spmi/startup.hpp>
#include <spmi/state.hpp>
#include <spmi/unique_fd.hpp>

#include <fmt/format.h>

#include <sys/mman.h>
#include <unistd.h>

#include <csignal>

namespace spmi::startup {

namespace fs = std::filesystem;

namespace {

constexpr std::chrono::seconds k_tool_timeout{30};

// An anonymous file (memfd) holding `text`, rewound; closed on destruction (`fd` is `owned.get()`).
struct MemFile
{
  UniqueFd owned;
  int fd = -1;
  explicit MemFile(const std::string& text) : owned(::memfd_create("spmi-startup", MFD_CLOEXEC)), fd(owned.get())
  {
    if (!owned || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        ::lseek(fd, 0, SEEK_SET) != 0) {
      throw_errno("cannot make a memory file for a tool's input or output");
    }
  }
  std::string read_all() const
  {
    std::string text;
    char buffer[4096];
    ssize_t n = 0;
    for (off_t at = 0; (n = ::pread(fd, buffer, sizeof(buffer), at)) > 0; at += n) {
      text.append(buffer, static_cast<std::size_t>(n));
    }
    return text;
  }
};

struct ToolRun
{
  int code = 0;      // exit code as a shell reports it
  std::string out;   // its stdout
  std::string err;   // its stderr, first line
};

std::string
command_text(const std::vector<std::string>& argv)
{
  std::string text;
  for (const auto& arg : argv) {
    text += (text.empty() ? "" : " ") + arg;
  }
  return text;
}

// Runs `argv` with `input` on its stdin; SIGKILLed after k_tool_timeout.
// @throws BackendError when it is not installed (naming the package when `package` is set).
ToolRun
run_tool(const std::vector<std::string>& argv, const std::string& input = "", const std::string& package = "")
{
  if (!process::find_in_path(argv.front())) {
    throw BackendError(fmt::format("{}: not found in PATH{}; nothing was changed", argv.front(),
                                   package.empty() ? "" : "; install the " + package + " package (apt-get install " + package + ")"));
  }
  MemFile in(input);
  MemFile out("");
  MemFile err("");
  process::SpawnOptions options;
  options.argv = argv;
  options.stdin_fd = in.fd;
  options.stdout_fd = out.fd;
  options.stderr_fd = err.fd;
  const pid_t pid = process::spawn(options);
  std::optional<process::ExitStatus> status;
  if (!process::wait_until([&] { return (status = process::try_wait(pid)).has_value(); }, k_tool_timeout)) {
    process::signal_process(pid, SIGKILL);
    status = process::wait(pid);
  }
  auto message = err.read_all();
  message = message.substr(0, message.find('\n'));
  return ToolRun{status->shell_code(), out.read_all(), message};
}

std::string
failure(const std::vector<std::string>& argv, const ToolRun& run)
{
  return fmt::format("`{}` failed (exit {}){}", command_text(argv), run.code, run.err.empty() ? "" : ": " + run.err);
}

std::string
read_crontab()
{
  const std::vector<std::string> argv{"crontab", "-l"};
  const auto run = run_tool(argv, "", "cron");
  if (run.code == 0) {
    return run.out;
  }
  if (run.err.find("no crontab for") != std::string::npos) {
    return "";
  }
  throw BackendError(failure(argv, run) + "; nothing was changed");
}

void
write_crontab(const std::string& text)
{
  const std::vector<std::string> argv{"crontab", "-"};
  const auto run = run_tool(argv, text, "cron");
  if (run.code != 0) {
    throw BackendError(failure(argv, run) + "; the crontab is as it was");
  }
}

void
cron_change(const Plan& plan, bool add, Result& result)
{
  const auto current = read_crontab();
  const auto merged = merge_crontab(current, plan.cron_marker, add ? plan.cron_line : "");
  if (merged == current) {
    result.done.push_back(add ? fmt::format("{}'s crontab already has the line; left it as it is", plan.user)
                              : fmt::format("{}'s crontab has no line for {}; nothing to remove", plan.user,
                                            plan.store.string()));
    return;
  }
  write_crontab(merged);
  result.done.push_back(fmt::format("{} {}'s crontab: {}", add ? "added to" : "removed from", plan.user, plan.cron_line));
}

// The store our unit at plan.unit_path starts ("" when there is no such file), from its first line.
std::optional<std::string>
unit_store(const Plan& plan)
{
  const auto text = read_file(plan.unit_path);
  if (!text) {
    return std::nullopt;
  }
  const std::string prefix = "# spmi-startup ";
  const auto first = text->substr(0, text->find('\n'));
  if (first.rfind(prefix, 0) != 0) {
    throw StateError(fmt::format("{}: not written by `spmi startup` (its first line is not '{}<store>'); move it "
                                 "away if it is not needed",
                                 plan.unit_path.string(), prefix));
  }
  return first.substr(prefix.size());
}

void
check_unit_is_ours(const Plan& plan, const std::optional<std::string>& store)
{
  if (store && *store != plan.store.string()) {
    throw StateError(fmt::format("{}: it starts the tasks of another store, {}; run `SPMI_PATH={} spmi startup "
                                 "--uninstall` first (one unit per user)",
                                 plan.unit_path.string(), *store, shell_quote(*store)));
  }
}

void
systemd_install(const Plan& plan, Result& result)
{
  check_unit_is_ours(plan, unit_store(plan));
  fs::create_directories(plan.unit_path.parent_path());
  write_file_atomic(plan.unit_path, plan.unit_text);
  result.done.push_back("wrote " + plan.unit_path.string());
  for (const auto& argv : plan.commands) {
    const auto run = run_tool(argv);
    if (run.code == 0) {
      result.done.push_back("ran `" + command_text(argv) + "`");
    } else if (argv[1] == "enable") {
      throw BackendError(failure(argv, run) + fmt::format("; {} is written but not enabled: fix that and run "
                                                          "`spmi startup --install` again, or `--uninstall`",
                                                          plan.unit_path.string()));
    } else if (argv.front() == "loginctl") {
      result.warnings.push_back(failure(argv, run) + fmt::format(
        "; without linger, {0}'s user manager (and so the unit) starts only when {0} logs in; ask an "
        "administrator to run `loginctl enable-linger {0}`", plan.user));
    } else {
      result.warnings.push_back(failure(argv, run) + "; the unit counts from the next start of the user manager");
    }
  }
}

void
systemd_uninstall(const Plan& plan, Result& result)
{
  const auto store = unit_store(plan);
  if (!store) {
    result.done.push_back(fmt::format("no {}; nothing to remove", plan.unit_path.string()));
    return;
  }
  check_unit_is_ours(plan, store);
  const auto name = plan.unit_path.filename().string();
  const std::vector<std::string> disable{"systemctl", "--user", "disable", name};
  if (const auto run = run_tool(disable); run.code == 0) {
    result.done.push_back("ran `" + command_text(disable) + "`");
  } else {
    result.warnings.push_back(failure(disable, run) + "; removing its default.target link by hand");
  }
  // What `enable` made, should `disable` not have removed it.
  const auto link = plan.unit_path.parent_path() / "default.target.wants" / name;
  std::error_code error;
  if (fs::is_symlink(link) && fs::read_symlink(link, error) == plan.unit_path && fs::remove(link, error)) {
    result.done.push_back("removed " + link.string());
  }
  if (!fs::remove(plan.unit_path, error) && error) {
    throw SystemError(fmt::format("cannot remove {}: {}", plan.unit_path.string(), error.message()));
  }
  result.done.push_back("removed " + plan.unit_path.string());
  const std::vector<std::string> reload{"systemctl", "--user", "daemon-reload"};
  if (const auto run = run_tool(reload); run.code != 0) {
    result.warnings.push_back(failure(reload, run));
  }
  result.done.push_back(fmt::format("left linger as it is (`loginctl disable-linger {}` turns it off)", plan.user));
}

} // namespace

Result
install(const Plan& plan)
{
  Result result;
  if (plan.method == Method::systemd) {
    systemd_install(plan, result);
  } else {
    cron_change(plan, true, result);
  }
  return result;
}

Result
uninstall(const Plan& plan, bool both)
{
  Result result;
  if (plan.method == Method::systemd || (both && fs::exists(plan.unit_path))) {
    systemd_uninstall(plan, result);
  }
  if (plan.method == Method::cron || (both && process::find_in_path("crontab"))) {
    cron_change(plan, false, result);
  }
  return result;
}

} // namespace spmi::startup

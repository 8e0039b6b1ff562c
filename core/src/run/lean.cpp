// SPDX-License-Identifier: MIT
// The hand-over from the wrapper process to the lean supervisor (spmi-supervise): the settings as a
// JSON document in a memfd, the exec, and what the lean supervisor is told about spmi.
#include "lean.hpp"
#include "recovery.hpp"

#include "../trust.hpp"

#include <spmi/errors.hpp>
#include <spmi/membership.hpp>
#include <spmi/process.hpp>

#include <fmt/format.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

extern char** environ;

namespace spmi::wrapper {

namespace fs = std::filesystem;

namespace {

struct LeanSlots
{
  fs::path spmi;
  int settings_fd = -1;
};

LeanSlots&
slots()
{
  static LeanSlots lean;
  return lean;
}

// This process's environment with the wrapper's marker (which the wrapper took out of its own, so its
// task does not inherit it): how a forked watchdog or the wrapper itself looks in /proc to fallback
// membership, the mark of another task's wrapper.
std::vector<std::string>
environment_with_marker(const std::string& token)
{
  std::vector<std::string> env;
  const std::string marker = process::wrapper_marker(token);
  const std::string name = marker.substr(0, marker.find('=') + 1);
  for (char** entry = environ; *entry; ++entry) {
    if (std::strncmp(*entry, name.c_str(), name.size()) != 0) {
      env.emplace_back(*entry);
    }
  }
  env.push_back(marker);
  return env;
}

long long
ms(std::chrono::milliseconds d)
{
  return static_cast<long long>(d.count());
}

} // namespace

nlohmann::json
settings_to_json(const RunSettings& s)
{
  nlohmann::json env = nlohmann::json::array();
  for (const auto& [name, value] : s.env) {
    env.push_back({name, value});
  }
  return {{"command", s.command},
          {"argv", s.argv},
          {"env", env},
          {"env_file", s.env_file ? nlohmann::json(s.env_file->string()) : nlohmann::json(nullptr)},
          {"cwd", s.cwd ? nlohmann::json(s.cwd->string()) : nlohmann::json(nullptr)},
          {"env_file_where", s.env_file_where},
          {"cwd_where", s.cwd_where},
          {"mixed_stdout", s.mixed_stdout},
          {"stop_signal", s.stop_signal},
          {"stop_timeout_ms", ms(s.stop_timeout)},
          {"restart", static_cast<int>(s.restart)},
          {"restart_delay_ms", ms(s.restart_delay)},
          {"restart_delay_max_ms", ms(s.restart_delay_max)},
          {"max_restarts", s.max_restarts},
          {"restart_window_ms", ms(s.restart_window)},
          {"autostart", s.autostart},
          {"max_memory", s.max_memory},
          {"max_output_size", s.max_output_size},
          {"output_files_kept", s.output_files_kept},
          {"timestamps", s.timestamps}};
}

RunSettings
settings_from_json(const nlohmann::json& j)
{
  try {
    using std::chrono::milliseconds;
    RunSettings s;
    s.command = j.at("command").get<std::string>();
    s.argv = j.at("argv").get<std::vector<std::string>>();
    for (const auto& pair : j.at("env")) {
      s.env.emplace_back(pair.at(0).get<std::string>(), pair.at(1).get<std::string>());
    }
    if (!j.at("env_file").is_null()) {
      s.env_file = fs::path(j.at("env_file").get<std::string>());
    }
    if (!j.at("cwd").is_null()) {
      s.cwd = fs::path(j.at("cwd").get<std::string>());
    }
    s.env_file_where = j.at("env_file_where").get<std::string>();
    s.cwd_where = j.at("cwd_where").get<std::string>();
    s.mixed_stdout = j.at("mixed_stdout").get<bool>();
    s.stop_signal = j.at("stop_signal").get<int>();
    s.stop_timeout = milliseconds(j.at("stop_timeout_ms").get<long long>());
    const int restart = j.at("restart").get<int>();
    if (restart < 0 || restart > static_cast<int>(RestartPolicy::always)) {
      throw SystemError(fmt::format("restart policy {} out of range", restart));
    }
    s.restart = static_cast<RestartPolicy>(restart);
    s.restart_delay = milliseconds(j.at("restart_delay_ms").get<long long>());
    s.restart_delay_max = milliseconds(j.at("restart_delay_max_ms").get<long long>());
    s.max_restarts = j.at("max_restarts").get<int>();
    s.restart_window = milliseconds(j.at("restart_window_ms").get<long long>());
    s.autostart = j.at("autostart").get<bool>();
    s.max_memory = j.at("max_memory").get<std::uint64_t>();
    s.max_output_size = j.at("max_output_size").get<std::uint64_t>();
    s.output_files_kept = j.at("output_files_kept").get<int>();
    s.timestamps = j.at("timestamps").get<bool>();
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw SystemError(fmt::format("the wrapper's settings are not as spmi hands them over: {}", e.what()));
  }
}

std::optional<fs::path>
lean_supervisor(std::string& why)
{
  why.clear();
  const auto path = (process::self_exe().parent_path() / SPMI_SUPERVISE_FROM_BIN).lexically_normal();
  if (::access(path.c_str(), X_OK) != 0) {
    if (errno != ENOENT) {  // installed but not usable: say so; none at all is a build without it
      why = fmt::format("cannot execute the lean supervisor {}: {}", path.string(), std::strerror(errno));
    }
    return std::nullopt;
  }
  for (const auto& [file, what] : {std::pair{path.parent_path(), "the lean supervisor's directory"},
                                   std::pair{path, "the lean supervisor"}}) {
    if (auto reason = distrust_code(file, what)) {
      why = *reason;
      return std::nullopt;
    }
  }
  return path;
}

namespace {

// Not inside the lean supervisor itself (a replacement wrapper), not with $SPMI_SUPERVISE=inprocess.
bool
lean_wanted()
{
  const char* choice = std::getenv("SPMI_SUPERVISE");
  return wrapper_executable().empty() && !(choice && std::strcmp(choice, "inprocess") == 0);
}

} // namespace

void
exec_lean_supervisor(const ManageableDir& dir, const std::string& token, const RunSettings& settings)
{
  if (!lean_wanted()) {
    return;
  }
  std::string why;
  const auto lean = lean_supervisor(why);
  const auto fail = [&](const std::string& reason) {
    append_log(dir, fmt::format("wrapper {}: supervising in this process: {}", ::getpid(), reason));
  };
  if (!lean) {
    if (!why.empty()) {
      fail(why);
    }
    return;
  }
  // Not close-on-exec: the lean supervisor reads it, then closes it.
  const int fd = ::memfd_create("spmi-settings", 0);
  if (fd < 0) {
    fail(fmt::format("memfd_create: {}", std::strerror(errno)));
    return;
  }
  const std::string text = settings_to_json(settings).dump();
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      fail(fmt::format("cannot hand the settings over: {}", std::strerror(errno)));
      ::close(fd);
      return;
    }
    done += static_cast<std::size_t>(n);
  }
  const std::string spmi = process::self_exe().string();
  const std::string fd_text = std::to_string(fd);
  const char* argv[] = {lean->c_str(), spmi.c_str(), dir.path().c_str(), token.c_str(), fd_text.c_str(), nullptr};
  const auto env = environment_with_marker(token);
  std::vector<char*> envp;
  for (const auto& entry : env) {
    envp.push_back(const_cast<char*>(entry.c_str()));
  }
  envp.push_back(nullptr);
  ::execve(argv[0], const_cast<char* const*>(argv), envp.data());
  fail(fmt::format("cannot execute {}: {}", lean->string(), std::strerror(errno)));
  ::close(fd);
}

} // namespace spmi::wrapper

namespace spmi {

std::vector<std::string>
lean_launch_argv(const ManageableDir& dir, const std::string& token, const RunSettings& settings)
{
  std::string why;
  const auto lean = wrapper::lean_wanted() ? wrapper::lean_supervisor(why) : std::nullopt;
  if (!lean) {
    return wrapper_argv(dir, token);  // which says in wrapper.log why it supervises in its own process
  }
  auto document = wrapper::settings_to_json(settings);
  document["token"] = token;
  // No fsync: each start writes it again, and a supervisor that finds it lost or cut short (a crash before
  // a queued job ran) supervises through `spmi __run` instead (core/supervise/main.cpp).
  dir.write_file(wrapper::k_launched_settings_file, document.dump(), false);
  return {lean->string(), wrapper::k_launched_option, process::self_exe().string(), dir.path().string(), token};
}

} // namespace spmi

namespace spmi::wrapper {

void
set_wrapper_executable(const fs::path& spmi, int settings_fd)
{
  slots().spmi = spmi;
  slots().settings_fd = settings_fd;
}

const fs::path&
wrapper_executable()
{
  return slots().spmi;
}

std::optional<process::WatchdogProgram>
watchdog_program(const ManageableDir& dir, const std::string& token, int alive_fd, const process::TaskGroup& group)
{
  const auto& lean = slots();
  if (lean.spmi.empty() || lean.settings_fd < 0 || alive_fd < 0) {
    return std::nullopt;
  }
  process::WatchdogProgram program;
  const auto self = process::self_exe();
  program.argv = {self.string(), "--watchdog", lean.spmi.string(), dir.path().string(), token,
                  std::to_string(lean.settings_fd), std::to_string(::getpid()), std::to_string(alive_fd),
                  group.origin().string()};
  // While it waits, the watchdog is spmi-watchdog (beside this program), where there is a trusted one.
  const auto waiting = self.parent_path() / "spmi-watchdog";
  if (::access(waiting.c_str(), X_OK) == 0 && !distrust_code(waiting, "the watchdog program")) {
    program.argv.insert(program.argv.begin(), {waiting.string(), std::to_string(::getpid())});
  }
  program.env = environment_with_marker(token);
  program.inherited = {lean.settings_fd, alive_fd};
  return program;
}

} // namespace spmi::wrapper

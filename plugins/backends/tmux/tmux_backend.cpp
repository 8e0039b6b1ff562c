// SPDX-License-Identifier: MIT
// TmuxBackend: runs the wrapper in a detached tmux session, one per task, on spmi's own tmux server
// (`tmux -L spmi`), so the user's sessions are never touched; Backend ID = the pane's pid, which is the
// wrapper's. Attach with `tmux -L spmi attach -t spmi_<id>`.
//
// What a task sees (tmux 3.3a): a pane's environment is the server's global environment (that of the
// `spmi start` which started the server) overlaid with the session's. We list every variable of this
// `spmi start` in the server's update-environment option, so new-session copies them all from the client
// (tmux sends the client's whole environment; 3.3a matches the list by exact name, later tmux by fnmatch,
// hence names and not "*"). So a task sees the environment of its `spmi start`, with TERM, TMUX and
// TMUX_PANE set by tmux, plus any variable the server's environment has and this `spmi start` lacks;
// spmi's own variables (SPMI_PATH, SPMI_PLUGIN_PATH, SPMI_MEMBERSHIP, SPMI_CGROUP_BASE, SPMI_BOOT_ID_FILE,
// SPMI_WRAPPER_TOKEN) are always listed, so that when this call lacks them they are removed.
// The working directory is the client's, i.e. that of `spmi start` (we don't pass -c: tmux expands
// formats such as #(...) in it). The server is started with -f /dev/null, so no user configuration
// (remain-on-exit, hooks...) applies: the session ends when the wrapper ends, the server when the last
// session ends.
#include <spmi/errors.hpp>
#include <spmi/plugin.hpp>
#include <spmi/process.hpp>
#include <spmi/recorded.hpp>

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <iterator>
#include <string_view>
#include <vector>

namespace {

using namespace spmi;

constexpr std::chrono::milliseconds k_tmux_timeout{5000};
constexpr int k_name_attempts = 9;
constexpr int k_server_attempts = 5;

bool
is_name_char(char c, bool allow_dot_dash)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         (allow_dot_dash && (c == '.' || c == '-'));
}

// tmux forbids '.' and ':' in session names.
std::string
session_name_of(std::string name)
{
  std::replace_if(name.begin(), name.end(), [](char c) { return c == '.' || c == ':'; }, '_');
  return name;
}

// tmux splits its argv into commands at every argument that ends in ';'; "\;" keeps it literal.
std::string
escape_argument(const std::string& argument)
{
  return !argument.empty() && argument.back() == ';' ? argument.substr(0, argument.size() - 1) + "\\;" : argument;
}

// The value for update-environment: the names of our environment variables (see the top comment).
std::string
environment_names()
{
  // spmi's own settings are always listed, so that one this call lacks is removed from the session
  // rather than taken from the server's environment (another `spmi start` may have started the server
  // with SPMI_MEMBERSHIP=fallback, another store or another boot ID file).
  static constexpr const char* k_always[] = {"SPMI_PATH",        "SPMI_PLUGIN_PATH",   "SPMI_MEMBERSHIP",
                                             "SPMI_CGROUP_BASE", "SPMI_BOOT_ID_FILE", "SPMI_WRAPPER_TOKEN"};
  std::string names;
  for (const char* name : k_always) {
    names += names.empty() ? name : fmt::format(" {}", name);
  }
  for (char** entry = ::environ; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto name = text.substr(0, text.find('='));
    const bool plain = !name.empty() && !(name[0] >= '0' && name[0] <= '9') &&
                       std::all_of(name.begin(), name.end(), [](char c) { return is_name_char(c, false); });
    const bool listed = std::any_of(std::begin(k_always), std::end(k_always), [&](const char* n) { return name == n; });
    if (plain && !listed && name != "TERM" && name != "TMUX" && name != "TMUX_PANE") {
      names += fmt::format(" {}", name);
    }
  }
  return names;
}

std::string
trimmed(std::string text)
{
  text.erase(text.find_last_not_of(" \t\r\n") + 1);
  text.erase(0, text.find_first_not_of(" \t\r\n"));
  return text;
}

class TmuxBackend final : public Backend
{
public:
  explicit TmuxBackend(const PluginContext& context) : m_logger(context.logger)
  {
    const auto& section = context.section;
    warn_unknown_keys(context, {"type", "socket"});
    m_socket = section.optional_string("socket").value_or("spmi");
    if (m_socket.empty() || m_socket.size() > 64 || m_socket == "." || m_socket == ".." ||
        !std::all_of(m_socket.begin(), m_socket.end(), [](char c) { return is_name_char(c, true); })) {
      throw DescriptorError(fmt::format("{}: '{}' is not a valid tmux socket name; use 1-64 of A-Z a-z 0-9 _ . -",
                                        section.where("socket"), m_socket));
    }
  }

  std::string type() const override { return "tmux"; }

  LaunchResult launch(const LaunchSpec& spec) override
  {
    const auto tmux = process::find_in_path("tmux");
    if (!tmux) {
      throw BackendError("backend 'tmux': tmux not found in PATH; install tmux (apt-get install tmux) "
                         "or use another backend type");
    }
    // A name can be taken: IDs "a.b" and "a_b" share "spmi_a_b", or a session was made by hand on our
    // socket. Core has checked that this manageable is inactive, so such a session belongs to something
    // else and must not be killed or reused; we take the next free name (spmi_a_b-2, ...) and say so.
    const auto base = session_name_of(spec.session_name);
    for (int attempt = 1; attempt <= k_name_attempts; ++attempt) {
      const auto name = attempt == 1 ? base : fmt::format("{}-{}", base, attempt);
      const auto captured = new_session(tmux->string(), name, spec.argv);
      if (captured.status.signal == 0 && captured.status.code == 0) {
        if (name != base) {
          m_logger->warn("backend 'tmux': a tmux session '{}' exists already; this task runs in session '{}' "
                         "(attach with: tmux -L {} attach -t {})", base, name, m_socket, name);
        }
        const auto pid = pane_pid(captured.out);
        m_logger->debug("backend 'tmux': session '{}' on socket '{}', pane pid {}", name, m_socket, pid);
        LaunchResult launched;
        launched.backend_id = pid;
        return launched;
      }
      if (captured.err.find("duplicate session") == std::string::npos) {
        throw BackendError(fmt::format("backend 'tmux': tmux new-session exited with status {}: {}; see `tmux -L {} ls`",
                                       captured.status.shell_code(), trimmed(captured.err), m_socket));
      }
    }
    throw BackendError(fmt::format("backend 'tmux': tmux sessions '{}' to '{}-{}' all exist on socket '{}'; "
                                   "end some with `tmux -L {} kill-session -t <name>`",
                                   base, base, k_name_attempts, m_socket, m_socket));
  }

  bool signal(const ManageableDir& dir, const LaunchRecord&, const RunRecord& run, int signo) override
  {
    return process::signal_wrapper(dir, run, signo);
  }

  std::map<std::string, QueueState> queue_states(const std::vector<std::string>&) override { return {}; }

  bool cancel(const LaunchRecord&) override { return false; }

private:
  std::vector<std::string> new_session_argv(const std::string& tmux, const std::string& name,
                                            const std::vector<std::string>& command) const
  {
    std::vector<std::string> argv = {tmux, "-L", m_socket, "-f", "/dev/null",
                                      "set-option", "-g", "update-environment", environment_names(), ";",
                                      "new-session", "-d", "-s", name, "-P", "-F", "#{pane_pid}", "--"};
    // Two or more arguments after "--" are exec'd as they are (tmux >= 3.0); a single one would go to
    // the shell, so a lone program is run through env.
    if (command.size() < 2) {
      argv.push_back(process::find_in_path("env").value_or("/usr/bin/env").string());
    }
    std::transform(command.begin(), command.end(), std::back_inserter(argv), escape_argument);
    return argv;
  }

  // The server exits when its last session ends; a client that connects in that instant gets "server
  // exited unexpectedly" (or "lost server") and no session was made, so it is safe to ask again: the next
  // attempt starts a new server.
  process::Captured new_session(const std::string& tmux, const std::string& name,
                                const std::vector<std::string>& command) const
  {
    for (int attempt = 1;; ++attempt) {
      auto captured = run_tmux(new_session_argv(tmux, name, command));
      const bool server_went = captured.err.find("server exited unexpectedly") != std::string::npos ||
                               captured.err.find("lost server") != std::string::npos;
      if (captured.status.code == 0 || !server_went || attempt == k_server_attempts) {
        return captured;
      }
      m_logger->debug("backend 'tmux': the tmux server on socket '{}' was exiting ({}); asking again",
                      m_socket, trimmed(captured.err));
      ::usleep(20000U * static_cast<unsigned>(attempt));
    }
  }

  process::Captured run_tmux(const std::vector<std::string>& argv) const
  {
    try {
      return process::run_capture(argv, k_tmux_timeout);
    } catch (const Error& e) {
      throw BackendError(fmt::format("backend 'tmux': {}", e.what()));
    }
  }

  static std::string pane_pid(const std::string& output)
  {
    const auto text = trimmed(output);
    long pid = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), pid);
    if (error != std::errc() || end != text.data() + text.size() || pid <= 0) {
      throw BackendError(fmt::format("backend 'tmux': tmux printed '{}' instead of the pane's pid", text));
    }
    return std::to_string(pid);
  }

  std::shared_ptr<spdlog::logger> m_logger;
  std::string m_socket;
};

std::unique_ptr<Backend>
create(const PluginContext& context)
{
  return std::make_unique<TmuxBackend>(context);
}

} // namespace

SPMI_EXPORT_BACKEND(TmuxBackend, create)

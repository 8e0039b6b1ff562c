// SPDX-License-Identifier: MIT
// DefaultWrapper: runs the command with /bin/sh -c, output to files, stdin from a FIFO, and records
// the task's pid, start, finish and exit status. It restarts the command as its restart policy says,
// sets its environment and working directory, and rotates its output by size (50 MiB x 10 by default)
// and timestamps lines: it reads the output through pipes and writes the files itself, unless
// max_output_size = 0 (no timestamps) lets the task write them. A full disk never ends it.
#include "recovery.hpp"
#include "wrapper_logic.hpp"

#include <spmi/errors.hpp>
#include <spmi/plugin.hpp>
#include <spmi/process.hpp>
#include <spmi/recorded.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cmath>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace {

using namespace spmi;
using wrapper::append_log;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr std::chrono::milliseconds k_default_stop_timeout{10000};

// Opens the file `name` of `dir` for appending (relative to the verified directory); throws
// SystemError, or StateError when it is insecure (a planted symlink).
int
open_output(const ManageableDir& dir, const std::string& name)
{
  const int fd = dir.open_file(name, O_WRONLY | O_CREAT | O_APPEND);
  if (fd < 0) {
    throw_errno("cannot open " + (dir.path() / name).string());
  }
  return fd;
}

// Reads the task's output from pipes (one, or two when stdout and stderr are apart) and writes it to
// the output files, rotated and timestamped, in a thread of its own. drain() reads what is left in the
// pipes once the task's tree is gone, so nothing is lost when an attempt ends.
class OutputPump
{
public:
  OutputPump(const ManageableDir& dir, bool mixed, std::uint64_t max_size, int kept, bool timestamps)
    : m_log(dir)
  {
    m_streams.push_back(std::make_unique<Stream>(dir, "stdout", max_size, kept, timestamps));
    if (!mixed) {
      m_streams.push_back(std::make_unique<Stream>(dir, "stderr", max_size, kept, timestamps));
    }
    for (auto& stream : m_streams) {
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw_errno("cannot create a pipe for the task's output");
      }
      stream->read_fd = fds[0];
      stream->write_fd = fds[1];
      ::fcntl(stream->read_fd, F_SETFL, O_NONBLOCK);
      stream->file.open();
    }
    if (::pipe2(m_wake, O_CLOEXEC | O_NONBLOCK) != 0) {
      throw_errno("cannot create a pipe");
    }
    // The caller has blocked every signal we could take: the thread inherits that mask, so signals
    // always reach the wrapper's main thread.
    m_thread = std::thread([this] { loop(); });
  }

  ~OutputPump()
  {
    [[maybe_unused]] auto n = ::write(m_wake[1], "x", 1);
    if (m_thread.joinable()) {
      m_thread.join();
    }
    drain();
    for (auto& stream : m_streams) {
      ::close(stream->read_fd);
      if (stream->write_fd >= 0) {
        ::close(stream->write_fd);
      }
    }
    ::close(m_wake[0]);
    ::close(m_wake[1]);
  }

  OutputPump(const OutputPump&) = delete;
  OutputPump& operator=(const OutputPump&) = delete;

  int out_fd() const { return m_streams[0]->write_fd; }
  int err_fd() const { return m_streams.back()->write_fd; }

  // Copies everything the pipes hold to the files; an unfinished timestamped line is ended.
  void drain()
  {
    const std::lock_guard lock(m_mutex);
    for (auto& stream : m_streams) {
      while (read_some(*stream)) {
      }
      guarded(*stream, [&] { stream->file.end_line(); });
    }
  }

private:
  struct Stream
  {
    Stream(const ManageableDir& dir, std::string name, std::uint64_t max_size, int kept, bool timestamps)
      : file(dir, std::move(name), max_size, kept, timestamps)
    {
    }
    wrapper::OutputFile file;
    int read_fd = -1;
    int write_fd = -1;
    bool failed = false;
  };

  // One read; false when the pipe had nothing (or is closed).
  bool read_some(Stream& stream)
  {
    char buffer[65536];
    const ssize_t n = ::read(stream.read_fd, buffer, sizeof(buffer));
    if (n <= 0) {
      return n < 0 && errno == EINTR;
    }
    guarded(stream, [&] { stream.file.write(std::string_view(buffer, static_cast<std::size_t>(n)), Clock::now()); });
    return true;
  }

  // Runs `write`, a write to the stream's file. When it fails (a full disk) the output is dropped and
  // the task goes on; the wrapper logs once per run of failures.
  template<typename Write>
  void guarded(Stream& stream, Write write)
  {
    try {
      write();
      stream.failed = false;
    } catch (const Error& e) {
      if (!stream.failed) {
        append_log(m_log, fmt::format("wrapper {}: output dropped: {}", ::getpid(), e.what()));
      }
      stream.failed = true;
    }
  }

  void loop()
  {
    while (true) {
      std::vector<pollfd> fds;
      for (auto& stream : m_streams) {
        fds.push_back({stream->read_fd, POLLIN, 0});
      }
      fds.push_back({m_wake[0], POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) {
          continue;
        }
        return;
      }
      if (fds.back().revents != 0) {
        return;
      }
      const std::lock_guard lock(m_mutex);
      for (std::size_t i = 0; i < m_streams.size(); ++i) {
        if (fds[i].revents != 0) {
          read_some(*m_streams[i]);
        }
      }
    }
  }

  const ManageableDir& m_log;
  std::vector<std::unique_ptr<Stream>> m_streams;
  int m_wake[2] = {-1, -1};
  std::mutex m_mutex;
  std::thread m_thread;
};

// Blocks every signal the wrapper waits for (in the calling thread) and restores the mask on exit.
class BlockedSignals
{
public:
  BlockedSignals()
  {
    sigfillset(&m_set);
    for (int signo : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS, SIGKILL, SIGSTOP}) {
      sigdelset(&m_set, signo);
    }
    ::pthread_sigmask(SIG_BLOCK, &m_set, &m_previous);
  }
  ~BlockedSignals() { ::pthread_sigmask(SIG_SETMASK, &m_previous, nullptr); }
  BlockedSignals(const BlockedSignals&) = delete;
  BlockedSignals& operator=(const BlockedSignals&) = delete;
  const sigset_t& set() const { return m_set; }

private:
  sigset_t m_set;
  sigset_t m_previous;
};

class DefaultWrapper final : public Wrapper
{
public:
  explicit DefaultWrapper(const PluginContext& context)
  {
    const auto& section = context.section;
    constexpr std::chrono::milliseconds k_max_delay = 24h;      // stop_timeout, restart_delay(_max)
    constexpr std::chrono::milliseconds k_max_window = 8760h;   // restart_window: a year
    warn_unknown_keys(context, {"type", "command", "mixed_stdout", "stop_signal", "stop_timeout", "restart",
                                "restart_delay", "restart_delay_max", "max_restarts", "restart_window", "env",
                                "env_file", "cwd", "max_output_size", "output_files_kept", "timestamps",
                                "autostart"});
    m_command = section.require_string("command");
    m_mixed_stdout = section.optional_bool("mixed_stdout", false);
    m_stop_signal = section.optional_signal("stop_signal").value_or(m_stop_signal);
    m_stop_timeout = section.optional_duration("stop_timeout", 0ms, k_max_delay).value_or(m_stop_timeout);

    // Restart policy.
    if (auto text = section.optional_string("restart")) {
      auto policy = wrapper::parse_restart_policy(*text);
      if (!policy) {
        throw DescriptorError(fmt::format("{}: '{}' is not a restart policy; use \"no\", \"on-failure\" or \"always\"",
                                          section.where("restart"), *text));
      }
      m_restart = *policy;
    }
    m_restart_delay = section.optional_duration("restart_delay", 0ms, k_max_delay).value_or(m_restart_delay);
    m_restart_delay_max = section.optional_duration("restart_delay_max", 0ms, k_max_delay)
                            .value_or(std::max(m_restart_delay_max, m_restart_delay));
    if (m_restart_delay_max < m_restart_delay) {
      throw DescriptorError(fmt::format("{}: {} s is less than restart_delay ({} s); make it at least that",
                                        section.where("restart_delay_max"), m_restart_delay_max.count() / 1000.0,
                                        m_restart_delay.count() / 1000.0));
    }
    m_max_restarts = static_cast<int>(section.optional_integer("max_restarts", 1, 1000000).value_or(m_max_restarts));
    // Started again by `spmi resurrect` after a reboot: by default exactly when a restart policy is set.
    m_autostart = section.optional_bool("autostart", m_restart != wrapper::RestartPolicy::no);
    m_restart_window = section.optional_duration("restart_window", 1ms, k_max_window).value_or(m_restart_window);

    // Environment and place. Relative paths are relative to the descriptor's directory.
    m_cwd = section.optional_path("cwd");
    m_env_file = section.optional_path("env_file");
    m_cwd_where = section.where("cwd");
    m_env_file_where = section.where("env_file");
    m_env = section.string_table(
      "env", {wrapper::is_env_name, "a valid variable name", "letters, digits and _, not starting with a digit"});

    // Output: bounded by default (wrapper::k_default_max_output_size); 0 for no limit.
    m_max_output_size = section.optional_size("max_output_size", wrapper::k_min_output_size, "no limit")
                          .value_or(wrapper::k_default_max_output_size);
    m_output_files_kept =
      static_cast<int>(section.optional_integer("output_files_kept", 0, 1000).value_or(m_output_files_kept));
    m_timestamps = section.optional_bool("timestamps", false);
  }

  std::string type() const override { return "default"; }
  std::string command() const override { return m_command; }
  int stop_signal() const override { return m_stop_signal; }
  std::chrono::milliseconds stop_timeout() const override { return m_stop_timeout; }
  bool autostart() const override { return m_autostart; }

  int run(const ManageableDir& dir, const std::string& token) override
  {
    // A wrapper that replaces a killed one takes over the alive lock its watchdog kept.
    const int inherited = wrapper::inherited_alive_fd();
    int alive_fd = inherited;
    if (inherited >= 0 ? !dir.adopt_alive_lock(inherited) : !dir.hold_alive_lock(&alive_fd)) {
      append_log(dir, fmt::format("wrapper {}: another wrapper is running this manageable; not starting", ::getpid()));
      return 75;
    }
    // Signals stay blocked for the whole run: supervise() takes them while a task runs, the backoff
    // wait takes them between attempts, and none can end the wrapper before it has recorded the end.
    const BlockedSignals blocked;
    RunRecord record;
    if (inherited >= 0) {
      try {
        record = dir.read_run().value_or(RunRecord{});
      } catch (const Error&) {
      }
    }
    record.token = token;
    record.wrapper_pid = ::getpid();
    // Who this wrapper is, for `stop`/`kill` to check before they signal the pid (process::signal_wrapper).
    record.wrapper_start_time = process::start_time(::getpid()).value_or(0);
    record.boot_id = process::boot_id();
    if (inherited < 0) {
      record.started_at = Clock::now();
    }
    try {
      process::become_subreaper();  // orphans of the task come back to us, whatever their session
    } catch (const Error&) {
    }
    auto group = process::TaskGroup::create(dir.id() + "-" + token, token);
    record.membership = group.mode();
    record.membership_note = group.note();
    record.cgroup = group.cgroup().string();
    const auto settings = restart_settings();
    auto start_watchdog = [&, alive_fd] {
      record.watchdog_pid = process::start_watchdog(
        [&, alive_fd] { wrapper::after_wrapper_killed(dir, token, group, alive_fd, settings); });
      group.set_watchdog(static_cast<pid_t>(record.watchdog_pid));
    };
    start_watchdog();
    // A watchdog that died (killed by someone) is replaced at once, so a later SIGKILL of this wrapper
    // is still answered.
    m_on_reaped = [&](pid_t pid) {
      if (pid == record.watchdog_pid) {
        start_watchdog();
        append_log(dir, fmt::format("wrapper {}: its watchdog (pid {}) died; started another (pid {})", ::getpid(),
                                    pid, record.watchdog_pid));
        record_run(dir, record);
      }
    };
    const int status = supervise_attempts(dir, token, group, record, blocked.set());
    process::stop_watchdog(static_cast<pid_t>(record.watchdog_pid));
    group.remove();
    return status;
  }

private:
  wrapper::RestartSettings restart_settings() const
  {
    return {m_restart, m_restart_delay, m_restart_delay_max, m_max_restarts, m_restart_window};
  }

  // The main process's command, environment and place. Throws std::runtime_error saying what is wrong.
  void prepare_task(const ManageableDir& dir, process::SpawnOptions& task) const
  {
    task.argv = {"/bin/sh", "-c", m_command};
    task.new_session = true;
    task.extra_env = environment(dir);
    if (!m_cwd) {
      return;
    }
    struct stat st {};
    std::string reason;
    if (::stat(m_cwd->c_str(), &st) != 0) {
      reason = std::strerror(errno);
    } else if (!S_ISDIR(st.st_mode)) {
      reason = "not a directory";
    } else if (::access(m_cwd->c_str(), X_OK) != 0) {
      reason = std::strerror(errno);
    }
    if (!reason.empty()) {
      throw std::runtime_error(fmt::format("{}: cannot use '{}' as the working directory ({}); create it or "
                                           "fix the path", m_cwd_where, m_cwd->string(), reason));
    }
    task.cwd = *m_cwd;
  }

  // Writes the run record; a full disk must not end the wrapper while it supervises a task.
  static void record_run(const ManageableDir& dir, const RunRecord& record)
  {
    try {
      dir.write_run(record);
    } catch (const Error& e) {
      append_log(dir, fmt::format("wrapper {}: cannot record the run: {}", ::getpid(), e.what()));
    }
  }

  // Runs the task, again and again as the restart policy says; records each attempt. @return the
  // wrapper's exit status.
  int supervise_attempts(const ManageableDir& dir, const std::string& token, process::TaskGroup& group,
                         RunRecord& record, const sigset_t& waitable) const
  {
    auto fail_start = [&](const std::string& message) {
      record.finished_at = Clock::now();
      record.error = message;
      append_log(dir, record.error);
      record_run(dir, record);
      return 1;
    };
    process::SuperviseOptions options;
    try {
      prepare_task(dir, options.task);
    } catch (const std::exception& e) {
      return fail_start(e.what());
    }
    options.marker_env = process::task_marker(token);
    options.group = &group;
    options.kill_request_signal = kill_request_signal();
    bool kill_requested = false;
    options.on_signal = [&](int signo) { kill_requested = kill_requested || signo == kill_request_signal(); };
    options.on_reaped = m_on_reaped;
    options.on_started = [&](pid_t pid) {
      record.pid = pid;
      record_run(dir, record);
    };
    auto ended_by_user = [&] { return kill_requested || wrapper::wanted_down(dir, token); };
    int out = -1;
    int err = -1;
    std::unique_ptr<OutputPump> pump;
    try {
      if (m_max_output_size > 0 || m_timestamps) {
        pump = std::make_unique<OutputPump>(dir, m_mixed_stdout, m_max_output_size, m_output_files_kept, m_timestamps);
        options.task.stdout_fd = pump->out_fd();
        options.task.stderr_fd = pump->err_fd();
      } else {
        out = open_output(dir, "stdout");
        err = m_mixed_stdout ? out : open_output(dir, "stderr");
        options.task.stdout_fd = out;
        options.task.stderr_fd = err;
      }
      // Read-write, so opening never blocks and writers (connect) always find a reader.
      const int in = dir.open_file("stdin", O_RDWR, 0, FileKind::fifo);
      if (in < 0) {
        throw_errno("cannot open the stdin FIFO " + dir.stdin_path().string());
      }
      options.task.stdin_fd = in;
      // A replacement for a killed wrapper first waits out the backoff its watchdog set.
      if (record.next_attempt && !wait_backoff(dir, token, waitable, *record.next_attempt, kill_requested)) {
        record.next_attempt.reset();
        pump.reset();
        record_run(dir, record);
        return 0;
      }
      record.next_attempt.reset();
      record.finished_at.reset();
      record.started_at = record.restarts > 0 ? Clock::now() : record.started_at;
      while (true) {
        const auto status = process::supervise(options);
        if (pump) {
          pump->drain();  // all the attempt wrote is in the files before its end is recorded
        }
        if (!next_attempt(dir, token, record, status, ended_by_user(), waitable, kill_requested)) {
          break;
        }
      }
    } catch (const Error& e) {
      pump.reset();
      return fail_start(fmt::format("the wrapper could not start the command: {}", e.what()));
    }
    pump.reset();
    record_run(dir, record);
    return 0;
  }

  // Records how an attempt ended and decides on the next: false when there is none (no policy, the user
  // ended it, max_restarts reached, or a stop during the backoff).
  bool next_attempt(const ManageableDir& dir, const std::string& token, RunRecord& record,
                    const process::ExitStatus& status, bool ended_by_user, const sigset_t& waitable,
                    bool& kill_requested) const
  {
    const auto now = Clock::now();
    record.finished_at = now;
    record.exit_code.reset();
    record.exit_signal.reset();
    if (status.signal != 0) {
      record.exit_signal = status.signal;
    } else {
      record.exit_code = status.code;
    }
    if (!wrapper::wants_restart(m_restart, status.code, status.signal, ended_by_user)) {
      return false;
    }
    const int recent = wrapper::recent_restarts(record.restart_times, m_restart_window, now);
    if (recent >= m_max_restarts) {
      record.failed = true;
      append_log(dir, fmt::format("wrapper {}: the command ended ({}) after {} restarts within {} s; "
                                  "giving up (max_restarts = {})",
                                  ::getpid(), describe(status), recent, m_restart_window.count() / 1000.0,
                                  m_max_restarts));
      return false;
    }
    const auto delay = wrapper::backoff_delay(m_restart_delay, m_restart_delay_max, recent);
    record.next_attempt = now + delay;
    record_run(dir, record);
    if (!wait_backoff(dir, token, waitable, now + delay, kill_requested)) {
      record.next_attempt.reset();
      return false;
    }
    record.restart_times.push_back(Clock::now());
    record.next_attempt.reset();
    record.restarts += 1;
    record.finished_at.reset();
    record.started_at = Clock::now();
    return true;
  }

  // Signals that mean "end": the stop signal, the kill request, and what a terminal or a scheduler sends.
  bool is_ending_signal(int signo) const
  {
    return signo == m_stop_signal || signo == kill_request_signal() || signo == SIGINT || signo == SIGTERM ||
           signo == SIGHUP || signo == SIGQUIT;
  }

  static std::string describe(const process::ExitStatus& status)
  {
    return status.signal != 0 ? fmt::format("killed by {}", process::signal_name(status.signal))
                              : fmt::format("exit code {}", status.code);
  }

  // Waits until `deadline`; false when the user ended the run meanwhile (a kill request, or an ending
  // signal after `stop` wrote that the run is wanted down). Other signals, such as the hang-up of a
  // closed terminal or session, change nothing.
  bool wait_backoff(const ManageableDir& dir, const std::string& token, const sigset_t& set, TimePoint deadline,
                    bool& kill_requested) const
  {
    while (true) {
      // Leftover children of the last attempt are reaped as they come.
      pid_t reaped;
      while ((reaped = ::waitpid(-1, nullptr, WNOHANG)) > 0) {
        if (m_on_reaped) {
          m_on_reaped(reaped);
        }
      }
      const auto now = Clock::now();
      if (now >= deadline) {
        return true;
      }
      const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now);
      const timespec timeout{static_cast<time_t>(left.count() / 1000000000), static_cast<long>(left.count() % 1000000000)};
      siginfo_t info{};
      const int signo = ::sigtimedwait(&set, &info, &timeout);
      if (signo == kill_request_signal()) {
        kill_requested = true;
        return false;
      }
      if (signo > 0 && is_ending_signal(signo) && wrapper::wanted_down(dir, token)) {
        return false;
      }
    }
  }

  // The task's added environment: env_file, then env (which wins), then SPMI_ID.
  std::vector<std::string> environment(const ManageableDir& dir) const
  {
    std::vector<std::string> result;
    if (m_env_file) {
      const int fd = ::open(m_env_file->c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        throw std::runtime_error(fmt::format("{}: cannot read '{}' ({}); create it or fix the path", m_env_file_where,
                                             m_env_file->string(), std::strerror(errno)));
      }
      ::close(fd);
      std::optional<std::string> text;
      try {
        text = read_file(*m_env_file);
      } catch (const Error& e) {
        throw std::runtime_error(fmt::format("{}: {}", m_env_file_where, e.what()));
      }
      try {
        for (const auto& [name, value] : wrapper::parse_env_file(text.value_or(""), m_env_file->string())) {
          result.push_back(name + "=" + value);
        }
      } catch (const std::invalid_argument& e) {
        throw std::runtime_error(fmt::format("{} (named by {})", e.what(), m_env_file_where));
      }
    }
    for (const auto& [name, value] : m_env) {
      result.push_back(name + "=" + value);
    }
    result.push_back("SPMI_ID=" + dir.id());
    return result;
  }

  std::string m_command;
  bool m_mixed_stdout = false;
  int m_stop_signal = SIGINT;
  std::chrono::milliseconds m_stop_timeout = k_default_stop_timeout;
  wrapper::RestartPolicy m_restart = wrapper::RestartPolicy::no;
  std::chrono::milliseconds m_restart_delay = 1s;
  std::chrono::milliseconds m_restart_delay_max = 60s;
  int m_max_restarts = 5;
  std::chrono::milliseconds m_restart_window = 300s;
  std::optional<fs::path> m_cwd;
  std::optional<fs::path> m_env_file;
  std::string m_cwd_where;
  std::string m_env_file_where;
  std::vector<std::pair<std::string, std::string>> m_env;
  std::uint64_t m_max_output_size = wrapper::k_default_max_output_size;
  int m_output_files_kept = wrapper::k_default_output_files_kept;
  bool m_timestamps = false;
  bool m_autostart = false;
  std::function<void(pid_t)> m_on_reaped;  ///< set by run(): replaces a dead watchdog
};

std::unique_ptr<Wrapper>
create(const PluginContext& context)
{
  return std::make_unique<DefaultWrapper>(context);
}

} // namespace

SPMI_EXPORT_WRAPPER(DefaultWrapper, create)

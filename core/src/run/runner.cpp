// SPDX-License-Identifier: MIT
#include "runner.hpp"

#include "../matrix.hpp"

#include "direct.hpp"
#include "output_pump.hpp"
#include "recovery.hpp"

#include <spmi/errors.hpp>
#include <spmi/plugin.hpp>
#include <spmi/state.hpp>
#include <spmi/unique_fd.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace spmi::wrapper {

namespace {

std::string
describe(const process::ExitStatus& status)
{
  return status.signal != 0 ? fmt::format("killed by {}", process::signal_name(status.signal))
                            : fmt::format("exit code {}", status.code);
}

} // namespace

Runner::Runner(const ManageableDir& dir, const std::string& token, const RunSettings& settings, const RunHooks& hooks,
               process::TaskGroup& group, RunRecord& record, const sigset_t& waitable,
               std::function<void(pid_t)> on_reaped)
  : m_dir(dir), m_token(token), m_settings(settings), m_hooks(hooks), m_group(group), m_record(record),
    m_waitable(waitable), m_on_reaped(std::move(on_reaped))
{
}

void
Runner::record_run() const
{
  try {
    m_dir.write_run(m_record);
  } catch (const Error& e) {
    append_log(m_dir, fmt::format("wrapper {}: cannot record the run: {}", ::getpid(), e.what()));
  }
}

int
Runner::fail_start(const std::string& message)
{
  m_record.finished_at = Clock::now();
  m_record.error = message;
  append_log(m_dir, m_record.error);
  record_run();
  return 1;
}

nlohmann::json&
Runner::facts()
{
  auto& mine = m_record.facts[m_hooks.facts_key.empty() ? std::string("wrapper") : m_hooks.facts_key];
  if (!mine.is_object()) {
    mine = nlohmann::json::object();
  }
  return mine;
}

void
Runner::signal(int signo)
{
  if (signo == SIGKILL) {
    m_group.kill(std::chrono::milliseconds(0));
  } else {
    m_group.signal(signo);
  }
}

void
Runner::stop()
{
  m_group.signal(m_settings.stop_signal);
  if (!m_kill_at) {
    m_kill_at = std::chrono::steady_clock::now() + m_settings.stop_timeout;
  }
}

void
Runner::at(std::chrono::steady_clock::time_point when, std::function<void(Attempt&)> action)
{
  m_timer_at = when;
  m_timer = std::move(action);
}

void
Runner::log(const std::string& line)
{
  append_log(m_dir, fmt::format("wrapper {}: {}", ::getpid(), line));
}

namespace {

// Throws std::runtime_error when `cwd` can't be a working directory (`where` it was given, `fix`).
void
check_cwd(const std::filesystem::path& cwd, const std::string& where, const std::string& fix)
{
  struct stat st {};
  std::string reason;
  if (::stat(cwd.c_str(), &st) != 0) {
    reason = std::strerror(errno);
  } else if (!S_ISDIR(st.st_mode)) {
    reason = "not a directory";
  } else if (::access(cwd.c_str(), X_OK) != 0) {
    reason = std::strerror(errno);
  }
  if (!reason.empty()) {
    throw std::runtime_error(
      fmt::format("{}: cannot use '{}' as the working directory ({}); {}", where, cwd.string(), reason, fix));
  }
}

// True when `variables` ("NAME=value") set `name`.
bool
sets(const std::vector<std::string>& variables, const std::string& name)
{
  return std::any_of(variables.begin(), variables.end(), [&](const auto& entry) { return entry.rfind(name + "=", 0) == 0; });
}

} // namespace

void
Runner::prepare_task(process::SpawnOptions& task) const
{
  task.argv = m_settings.argv.empty() ? std::vector<std::string>{"/bin/sh", "-c", m_settings.command} : m_settings.argv;
  task.new_session = true;
  // What `load` recorded (manageable.json as `start` launched it): its directory and environment; a
  // manageable loaded by an older spmi has neither, and gets the wrapper's own (`spmi start`'s).
  const auto launched = m_dir.read_launched(m_token);
  if (const auto name = launched.find("environment"); name != launched.end() && name->is_string()) {
    task.env = m_dir.read_environment(name->get<std::string>());
  }
  task.extra_env = environment(task.env);
  if (const auto values = launched.find("matrix"); values != launched.end() && values->is_object()) {
    // Its matrix combination (docs/guide/sweeps.md), before env and env_file, which win.
    std::vector<std::string> matrix;
    for (const auto& [name, value] : values->items()) {
      if (sets(task.extra_env, matrix::variable(name))) {
        continue;
      }
      matrix.push_back(matrix::variable(name) + "=" + (value.is_string() ? value.get<std::string>() : value.dump()));
    }
    task.extra_env.insert(task.extra_env.begin(), matrix.begin(), matrix.end());
  }
  if (m_settings.cwd) {
    check_cwd(*m_settings.cwd, m_settings.cwd_where, "create it or fix the path");
    task.cwd = *m_settings.cwd;
  } else if (const auto cwd = launched.find("cwd"); cwd != launched.end() && cwd->is_string()) {
    check_cwd(cwd->get<std::string>(), fmt::format("manageable '{}'", m_dir.id()),
              "it is where `spmi load` ran; create it again, or set cwd in the descriptor and `spmi reload` it");
    task.cwd = cwd->get<std::string>();
  } else if (const auto launch = m_dir.read_launch(); launch && launch->token == m_token && !launch->cwd.empty()) {
    task.cwd = launch->cwd;  // loaded by an older spmi, queued by `start` (SLURM): where that start ran, as then
  }
  if (m_settings.argv.empty()) {
    run_directly(m_settings.command, task);  // a simple command needs no shell in between
  }
}

std::vector<std::string>
Runner::environment(const std::optional<std::vector<std::string>>& base) const
{
  std::vector<std::string> result;
  if (const auto& file = m_settings.env_file) {
    const auto& where = m_settings.env_file_where;
    const UniqueFd readable(::open(file->c_str(), O_RDONLY | O_CLOEXEC));  // for errno's reason
    if (!readable) {
      throw std::runtime_error(fmt::format("{}: cannot read '{}' ({}); create it or fix the path", where,
                                           file->string(), std::strerror(errno)));
    }
    std::optional<std::string> text;
    try {
      text = read_file(*file);
    } catch (const Error& e) {
      throw std::runtime_error(fmt::format("{}: {}", where, e.what()));
    }
    try {
      for (const auto& [name, value] : parse_env_file(text.value_or(""), file->string())) {
        result.push_back(name + "=" + value);
      }
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("{} (named by {})", e.what(), where));
    }
  }
  for (const auto& [name, value] : m_settings.env) {
    result.push_back(name + "=" + value);
  }
  // Python buffers output to a file (`spmi logs` would show nothing for minutes); unless told otherwise.
  const bool python_set = base ? sets(*base, k_python_unbuffered) : std::getenv(k_python_unbuffered) != nullptr;
  if (!python_set && !sets(result, k_python_unbuffered)) {
    result.insert(result.begin(), std::string(k_python_unbuffered) + "=1");
  }
  result.push_back(std::string(process::k_id_variable) + "=" + m_dir.id());
  return result;
}

process::SuperviseOptions
Runner::supervise_options(process::SpawnOptions task)
{
  process::SuperviseOptions options;
  options.task = std::move(task);
  options.marker_env = process::task_marker(m_token);
  options.group = &m_group;
  options.kill_request_signal = kill_request_signal();
  options.on_signal = [this](int signo) { m_kill_requested = m_kill_requested || signo == kill_request_signal(); };
  options.on_reaped = m_on_reaped;
  options.on_started = [this](pid_t pid) {
    m_record.pid = pid;
    m_timer_at.reset();
    m_timer = nullptr;
    m_kill_at.reset();
    m_end_reason.clear();
    if (m_settings.max_memory > 0) {
      m_memory_at = std::chrono::steady_clock::now() + k_memory_interval;
    }
    record_run();
    join_supervisor(m_dir, m_group);  // after the record: `start` does not wait for the move
    if (m_hooks.on_start) {
      m_hooks.on_start(*this);
      record_run();
    }
  };
  options.next_wakeup = [this] { return next_wakeup(); };
  options.on_wakeup = [this] { wake_up(); };
  return options;
}

int
Runner::run()
{
  process::SpawnOptions task;
  try {
    prepare_task(task);
  } catch (const std::exception& e) {
    return fail_start(e.what());
  }
  auto options = supervise_options(std::move(task));
  std::unique_ptr<OutputPump> pump;
  UniqueFd out, err, in;  // the task's ends, when no pump comes between; closed when the run ends
  try {
    if (m_settings.max_output_size > 0 || m_settings.timestamps) {
      pump = std::make_unique<OutputPump>(m_dir, m_settings.mixed_stdout, m_settings.max_output_size,
                                          m_settings.output_files_kept, m_settings.timestamps);
      options.task.stdout_fd = pump->out_fd();
      options.task.stderr_fd = pump->err_fd();
      options.io_signal = OutputPump::k_signal;
      options.on_io = [&pump] { return pump->pump(); };
    } else {
      out.reset(open_output(m_dir, "stdout"));
      if (!m_settings.mixed_stdout) {
        err.reset(open_output(m_dir, "stderr"));
      }
      options.task.stdout_fd = out.get();
      options.task.stderr_fd = m_settings.mixed_stdout ? out.get() : err.get();
    }
    // Read-write, so opening never blocks and writers (connect) always find a reader.
    in.reset(m_dir.open_file("stdin", O_RDWR, 0, FileKind::fifo));
    options.task.stdin_fd = in.get();
    if (!in) {
      throw_errno("cannot open the stdin FIFO " + m_dir.stdin_path().string());
    }
    // A replacement for a killed wrapper first waits out the backoff its watchdog set.
    if (m_record.next_attempt && !wait_backoff(*m_record.next_attempt)) {
      m_record.next_attempt.reset();
      m_record.restarts = std::max(0, m_record.restarts - 1);  // counted by the watchdog, never made
      pump.reset();
      record_run();
      return 0;
    }
    m_record.next_attempt.reset();
    m_record.finished_at.reset();
    m_record.started_at = m_record.restarts > 0 ? Clock::now() : m_record.started_at;
    while (true) {
      const auto status = process::supervise(options);
      if (pump) {
        pump->drain();  // all the attempt wrote is in the files before its end is recorded
      }
      if (m_hooks.on_end) {
        m_hooks.on_end(*this, status);
      }
      if (!next_attempt(status)) {
        break;
      }
    }
  } catch (const Error& e) {
    pump.reset();
    return fail_start(fmt::format("the wrapper could not start the command: {}", e.what()));
  }
  pump.reset();
  record_run();
  return 0;
}

bool
Runner::ended_by_user() const
{
  return m_kill_requested || wanted_down(m_dir, m_token);
}

bool
Runner::next_attempt(const process::ExitStatus& status)
{
  const auto now = Clock::now();
  m_record.finished_at = now;
  m_record.exit_code.reset();
  m_record.exit_signal.reset();
  if (status.signal != 0) {
    m_record.exit_signal = status.signal;
  } else {
    m_record.exit_code = status.code;
  }
  m_memory_at.reset();
  m_record.end_reason = m_end_reason;
  // An attempt the wrapper ended (max_memory) failed, whatever the task made of the stop signal.
  const int code = m_end_reason.empty() || status.code != 0 ? status.code : 1;
  if (!wants_restart(m_settings.restart, code, status.signal, ended_by_user())) {
    return false;
  }
  const int recent = recent_restarts(m_record.restart_times, m_settings.restart_window, now);
  if (recent >= m_settings.max_restarts) {
    m_record.failed = true;
    append_log(m_dir, fmt::format("wrapper {}: the command ended ({}) after {} restarts within {} s; giving up "
                                  "(max_restarts = {})",
                                  ::getpid(), describe(status), recent, m_settings.restart_window.count() / 1000.0,
                                  m_settings.max_restarts));
    return false;
  }
  const auto delay = backoff_delay(m_settings.restart_delay, m_settings.restart_delay_max, recent);
  m_record.next_attempt = now + delay;
  // Counted once decided, as a replaced wrapper's is: while restarting, the count includes the one awaited.
  m_record.restarts += 1;
  record_run();
  if (!wait_backoff(now + delay)) {
    m_record.next_attempt.reset();
    m_record.restarts -= 1;  // the user ended it first: that restart never happened
    return false;
  }
  m_record.restart_times.push_back(Clock::now());
  m_record.next_attempt.reset();
  m_record.finished_at.reset();
  m_record.started_at = Clock::now();
  return true;
}

} // namespace spmi::wrapper

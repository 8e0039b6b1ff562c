// SPDX-License-Identifier: MIT
// DefaultWrapper: runs the command with /bin/sh -c, output to files, stdin from a FIFO, and records
// the task's pid, start, finish and exit status.
#include <spmi/errors.hpp>
#include <spmi/plugin.hpp>
#include <spmi/process.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cmath>
#include <cstring>

namespace {

using namespace spmi;

constexpr std::chrono::milliseconds k_default_stop_timeout{10000};

// Opens `path` for appending; throws SystemError.
int
open_output(const std::filesystem::path& path)
{
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw_errno("cannot open " + path.string());
  }
  return fd;
}

void
append_log(const ManageableDir& dir, const std::string& line)
{
  const int fd = ::open(dir.wrapper_log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd >= 0) {
    const auto text = line + "\n";
    [[maybe_unused]] auto n = ::write(fd, text.data(), text.size());
    ::close(fd);
  }
}

class DefaultWrapper final : public Wrapper
{
public:
  explicit DefaultWrapper(const PluginContext& context)
  {
    const auto& section = context.section;
    warn_unknown_keys(context, {"type", "command", "mixed_stdout", "stop_signal", "stop_timeout"});
    m_command = section.require_string("command");
    m_mixed_stdout = section.optional_bool("mixed_stdout", false);
    if (auto name = section.optional_string("stop_signal")) {
      auto signo = process::parse_signal(*name);
      if (!signo) {
        throw DescriptorError(fmt::format("{}: unknown signal '{}'; use a name such as SIGINT or SIGTERM",
                                          section.where("stop_signal"), *name));
      }
      m_stop_signal = *signo;
    }
    if (auto seconds = section.optional_number("stop_timeout")) {
      if (*seconds < 0 || *seconds > 86400) {
        throw DescriptorError(fmt::format("{}: {} is out of range; use 0 to 86400 seconds",
                                          section.where("stop_timeout"), *seconds));
      }
      m_stop_timeout = std::chrono::milliseconds(static_cast<long long>(std::llround(*seconds * 1000)));
    }
  }

  std::string type() const override { return "default"; }
  std::string command() const override { return m_command; }
  int stop_signal() const override { return m_stop_signal; }
  std::chrono::milliseconds stop_timeout() const override { return m_stop_timeout; }

  int run(const ManageableDir& dir, const std::string& token) override
  {
    if (!dir.hold_alive_lock()) {
      append_log(dir, fmt::format("wrapper {}: another wrapper is running this manageable; not starting", ::getpid()));
      return 75;
    }
    RunRecord record;
    record.token = token;
    record.wrapper_pid = ::getpid();
    record.started_at = Clock::now();

    process::SuperviseOptions options;
    options.task.argv = {"/bin/sh", "-c", m_command};
    options.task.new_session = true;
    options.task.extra_env = {"SPMI_ID=" + dir.id()};
    options.marker_env = "SPMI_RUN_TOKEN=" + token;
    options.kill_request_signal = kill_request_signal();
    options.on_started = [&](pid_t pid) {
      record.pid = pid;
      dir.write_run(record);
    };
    options.on_supervisor_killed = [&] {
      auto current = dir.read_run();
      if (current && current->token == token && !current->finished_at) {
        current->finished_at = Clock::now();
        current->error = fmt::format("the wrapper (pid {}) was killed; spmi ended the task's processes", record.wrapper_pid);
        dir.write_run(*current);
      }
    };
    process::ExitStatus status;
    try {
      const int out = open_output(dir.stdout_path());
      const int err = m_mixed_stdout ? out : open_output(dir.stderr_path());
      // Read-write, so opening never blocks and writers (connect) always find a reader.
      const int in = ::open(dir.stdin_path().c_str(), O_RDWR | O_CLOEXEC);
      if (in < 0) {
        throw_errno("cannot open the stdin FIFO " + dir.stdin_path().string());
      }
      options.task.stdin_fd = in;
      options.task.stdout_fd = out;
      options.task.stderr_fd = err;
      status = process::supervise(options);
    } catch (const Error& e) {
      record.finished_at = Clock::now();
      record.error = fmt::format("the wrapper could not start the command: {}", e.what());
      append_log(dir, record.error);
      dir.write_run(record);
      return 1;
    }
    record.finished_at = Clock::now();
    if (status.signal != 0) {
      record.exit_signal = status.signal;
    } else {
      record.exit_code = status.code;
    }
    dir.write_run(record);
    return 0;
  }

private:
  std::string m_command;
  bool m_mixed_stdout = false;
  int m_stop_signal = SIGINT;
  std::chrono::milliseconds m_stop_timeout = k_default_stop_timeout;
};

std::unique_ptr<Wrapper>
create(const PluginContext& context)
{
  return std::make_unique<DefaultWrapper>(context);
}

} // namespace

SPMI_EXPORT_WRAPPER(DefaultWrapper, create)

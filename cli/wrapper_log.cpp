// SPDX-License-Identifier: MIT
#include "wrapper_log.hpp"

#include "commands.hpp"

#include <spmi/controller.hpp>
#include <spmi/errors.hpp>
#include <spmi/log.hpp>
#include <spmi/process.hpp>
#include <spmi/registry.hpp>
#include <spmi/state.hpp>
#include <spmi/text.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/sinks/sink.h>

#include <unistd.h>

#include <chrono>
#include <ctime>

namespace spmi::cli {

namespace {

// Keeps no state but the directory, so it needs no lock (a lock held across the watchdog's fork would
// stay held in the child): each line is formatted apart and appended in one write.
class WrapperLogSink final : public spdlog::sinks::sink
{
public:
  explicit WrapperLogSink(ManageableDir dir) : m_dir(std::move(dir)) {}

  void log(const spdlog::details::log_msg& msg) override
  {
    const auto line = format_line(msg);
    try {
      m_dir.append("wrapper.log", line);
    } catch (const Error&) {
      // An insecure directory or a full disk: the line goes where the wrapper's stderr goes.
      [[maybe_unused]] const auto written = ::write(STDERR_FILENO, line.data(), line.size());
    }
  }
  void flush() override {}
  void set_pattern(const std::string&) override {}
  void set_formatter(std::unique_ptr<spdlog::formatter>) override {}

private:
  static std::string format_line(const spdlog::details::log_msg& msg)
  {
    static constexpr const char* k_levels[] = {"TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "OFF"};
    const auto time = std::chrono::system_clock::to_time_t(msg.time);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count() % 1000;
    std::tm local{};
    ::localtime_r(&time, &local);
    // Continuation lines of a multi-line message are indented, so every line that starts unindented
    // is a line of its own.
    std::string text = escape_control(std::string_view(msg.payload.data(), msg.payload.size()), "\n\t");
    for (auto at = text.find('\n'); at != std::string::npos; at = text.find('\n', at + 3)) {
      text.insert(at + 1, "  ");
    }
    return fmt::format("wrapper {}: [{:%Y-%m-%d %H:%M:%S},{:03} - {}] {}\n", ::getpid(), local, ms,
                       k_levels[static_cast<int>(msg.level)], text);
  }

  ManageableDir m_dir;
};

} // namespace

void
log_to_wrapper_log(spdlog::logger& logger, const std::filesystem::path& dir)
{
  ManageableDir manageable(dir);
  try {
    manageable.verify();  // once, here, before any thread logs; run_wrapper reports an insecure one
  } catch (const Error&) {
  }
  logger.sinks().assign({std::make_shared<WrapperLogSink>(std::move(manageable))});
}

int
run_wrapper_process(const std::filesystem::path& dir, const std::string& token)
{
  // Its stderr is a backend's terminal, /dev/null or wrapper.log itself: what it logs (its plugins
  // through PluginContext::logger, and the reason it fails, below) goes to wrapper.log, where `start`
  // and the user look.
  log_to_wrapper_log(*logger(), dir);
  return run_reporting_errors([&] {
    PluginRegistry registry(PluginRegistry::default_dirs());  // outlives every plugin object
    Controller controller(Controller::default_state_root(), registry, logger());
    return controller.run_wrapper(dir, token);
  });
}

} // namespace spmi::cli

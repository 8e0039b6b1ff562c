// SPDX-License-Identifier: MIT
#include <spmi/log.hpp>
#include <spmi/text.hpp>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>
#include <cctype>

namespace spmi {

namespace {

std::atomic<bool> g_color{false};

// %L in the guide's form: INFO, DEBUG, WARNING, ERROR.
class UpperLevel : public spdlog::custom_flag_formatter
{
public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override
  {
    static constexpr const char* k_names[] = {"TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "OFF"};
    const std::string_view name = k_names[static_cast<int>(msg.level)];
    const std::string_view color = !g_color ? ""
                                   : msg.level >= spdlog::level::err ? "\x1b[31m"
                                   : msg.level == spdlog::level::warn ? "\x1b[33m" : "";
    dest.append(color.data(), color.data() + color.size());
    dest.append(name.data(), name.data() + name.size());
    if (!color.empty()) {
      const std::string_view reset = "\x1b[0m";
      dest.append(reset.data(), reset.data() + reset.size());
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<UpperLevel>(); }
};

// %& : the message, with control characters (but newlines and tabs) escaped (escape_control), so text
// taken from a descriptor or a file can't drive the user's terminal.
class EscapedMessage : public spdlog::custom_flag_formatter
{
public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override
  {
    const auto escaped = escape_control(std::string_view(msg.payload.data(), msg.payload.size()), "\n\t");
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<EscapedMessage>(); }
};

std::shared_ptr<spdlog::logger>
make_logger()
{
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("Spmi", sink);
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<UpperLevel>('*').add_flag<EscapedMessage>('&').set_pattern(
    "[%Y-%m-%d %H:%M:%S,%e - Spmi - %*]\n%&");
  logger->set_formatter(std::move(formatter));
  logger->set_level(spdlog::level::info);
  logger->flush_on(spdlog::level::trace);
  return logger;
}

} // namespace

std::shared_ptr<spdlog::logger>
logger()
{
  static auto instance = make_logger();
  return instance;
}

void
set_debug(bool on)
{
  logger()->set_level(on ? spdlog::level::debug : spdlog::level::info);
}

} // namespace spmi

namespace spmi {

void
set_log_color(bool on)
{
  g_color = on;
}

} // namespace spmi

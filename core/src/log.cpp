// SPDX-License-Identifier: MIT
#include <spmi/log.hpp>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cctype>

namespace spmi {

namespace {

// %L in the guide's form: INFO, DEBUG, WARNING, ERROR.
class UpperLevel : public spdlog::custom_flag_formatter
{
public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override
  {
    static constexpr const char* k_names[] = {"TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "OFF"};
    const std::string_view name = k_names[static_cast<int>(msg.level)];
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<UpperLevel>(); }
};

std::shared_ptr<spdlog::logger>
make_logger()
{
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("Spmi", sink);
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<UpperLevel>('*').set_pattern("[%Y-%m-%d %H:%M:%S,%e - Spmi - %*]\n%v");
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

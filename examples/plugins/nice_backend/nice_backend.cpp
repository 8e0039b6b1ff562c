// SPDX-License-Identifier: MIT
// NiceBackend (descriptor `type = "nice"`): an example third-party spmi backend. It runs the wrapper,
// and so the whole task, as a plain detached process like the built-in `local` backend, but at a lower
// CPU and I/O priority and with resource limits, using nice(1) from coreutils and ionice(1) and
// prlimit(1) from util-linux. The argv is passed as a vector: no shell, no quoting.
//
//   [task.backend]
//   type = "nice"
//   niceness = 10            # 0..19, default 10
//   io_class = "idle"        # "idle", "best-effort" (default) or "none" (leave as is)
//   io_priority = 7          # 0..7, for best-effort only, default 7
//   max_open_files = 1024    # RLIMIT_NOFILE, optional
//   max_memory_mb = 4096     # RLIMIT_AS in MiB, optional
#include <spmi/errors.hpp>
#include <spmi/plugin.hpp>
#include <spmi/process.hpp>
#include <spmi/recorded.hpp>

#include <fmt/format.h>

#include <cmath>
#include <csignal>

namespace {

using namespace spmi;

// An optional whole number within [low, high] at `key`; DescriptorError naming the key otherwise.
std::optional<long long>
whole_number(const Section& section, std::string_view key, long long low, long long high)
{
  const auto value = section.optional_number(key);
  if (!value) {
    return std::nullopt;
  }
  if (*value != std::floor(*value) || *value < static_cast<double>(low) || *value > static_cast<double>(high)) {
    throw DescriptorError(
      fmt::format("{}: {} is not a whole number from {} to {}", section.where(key), *value, low, high));
  }
  return static_cast<long long>(*value);
}

// The full path of `program`; BackendError saying what to install otherwise.
std::string
program_path(const std::string& program, const char* package)
{
  auto found = process::find_in_path(program);
  if (!found) {
    throw BackendError(fmt::format("backend 'nice': {} is not in PATH; install {}", program, package));
  }
  return found->string();
}

class NiceBackend final : public Backend
{
public:
  explicit NiceBackend(const PluginContext& context)
  {
    const auto& section = context.section;
    warn_unknown_keys(context, {"type", "niceness", "io_class", "io_priority", "max_open_files", "max_memory_mb"});
    m_niceness = whole_number(section, "niceness", 0, 19).value_or(10);
    m_io_class = section.optional_string("io_class").value_or("best-effort");
    if (m_io_class != "idle" && m_io_class != "best-effort" && m_io_class != "none") {
      throw DescriptorError(fmt::format("{}: '{}' is not an I/O class; use \"idle\", \"best-effort\" or \"none\"",
                                        section.where("io_class"), m_io_class));
    }
    m_io_priority = whole_number(section, "io_priority", 0, 7).value_or(7);
    m_max_open_files = whole_number(section, "max_open_files", 16, 1 << 20);
    m_max_memory_mb = whole_number(section, "max_memory_mb", 16, 1LL << 30);
  }

  std::string type() const override { return "nice"; }

  LaunchResult launch(const LaunchSpec& spec) override
  {
    std::vector<std::string> argv{program_path("nice", "coreutils"), "-n", std::to_string(m_niceness)};
    if (m_io_class == "idle") {
      argv.insert(argv.end(), {program_path("ionice", "util-linux"), "-c", "3"});
    } else if (m_io_class == "best-effort") {
      argv.insert(argv.end(), {program_path("ionice", "util-linux"), "-c", "2", "-n", std::to_string(m_io_priority)});
    }
    if (m_max_open_files || m_max_memory_mb) {
      argv.push_back(program_path("prlimit", "util-linux"));
      if (m_max_open_files) {
        argv.push_back(fmt::format("--nofile={}", *m_max_open_files));
      }
      if (m_max_memory_mb) {
        argv.push_back(fmt::format("--as={}", *m_max_memory_mb * 1024 * 1024));
      }
      argv.push_back("--");
    }
    argv.insert(argv.end(), spec.argv.begin(), spec.argv.end());
    // nice, ionice and prlimit each exec the next program, so the launched pid ends up being the
    // wrapper's: it is the Backend ID, and its early exit (a bad option, say) fails the start; what
    // they print goes to the manageable's wrapper.log, which `start` then quotes.
    return launch_detached(argv, "nice", spec);
  }

  bool signal(const ManageableDir& dir, const LaunchRecord&, const RunRecord& run, int signo) override
  {
    // Only while run.wrapper_pid is verifiably the wrapper (start time, boot, alive lock), never by the pid alone.
    return process::signal_wrapper(dir, run, signo);
  }

  std::map<std::string, QueueState> queue_states(const std::vector<std::string>&) override { return {}; }

  bool cancel(const LaunchRecord&) override { return false; }

private:
  long long m_niceness = 10;
  std::string m_io_class;
  long long m_io_priority = 7;
  std::optional<long long> m_max_open_files;
  std::optional<long long> m_max_memory_mb;
};

std::unique_ptr<Backend>
create(const PluginContext& context)
{
  return std::make_unique<NiceBackend>(context);
}

} // namespace

SPMI_EXPORT_BACKEND(NiceBackend, create)

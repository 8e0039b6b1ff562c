// SPDX-License-Identifier: MIT
// ScreenBackend: runs the wrapper in a detached GNU screen session; Backend ID = the session's pid.
#include <spmi/errors.hpp>
#include <spmi/plugin.hpp>
#include <spmi/process.hpp>
#include <spmi/recorded.hpp>

#include <fmt/format.h>

namespace {

using namespace spmi;

class ScreenBackend final : public Backend
{
public:
  explicit ScreenBackend(const PluginContext& context)
  {
    warn_unknown_keys(context, {"type"});
  }

  std::string type() const override { return "screen"; }

  LaunchResult launch(const LaunchSpec& spec) override
  {
    const auto screen = process::find_in_path("screen");
    if (!screen) {
      throw BackendError("backend 'screen': screen not found in PATH; install GNU screen (apt-get install screen) "
                         "or use another backend type");
    }
    // -D -m: a detached session whose server is the process we start, so its pid is the Backend ID and
    // its early exit tells that the launch failed. Why it failed, screen prints (on stdout: "Cannot
    // access /run/screen"...) into the manageable's wrapper.log, which `start` then quotes.
    std::vector<std::string> argv = {screen->string(), "-D", "-m", "-S", spec.session_name};
    argv.insert(argv.end(), spec.argv.begin(), spec.argv.end());
    return launch_detached(argv, "screen", spec);
  }

  bool signal(const ManageableDir& dir, const LaunchRecord&, const RunRecord& run, int signo) override
  {
    return process::signal_wrapper(dir, run, signo);
  }

  std::map<std::string, QueueState> queue_states(const std::vector<std::string>&) override { return {}; }

  bool cancel(const LaunchRecord&) override { return false; }
};

std::unique_ptr<Backend>
create(const PluginContext& context)
{
  return std::make_unique<ScreenBackend>(context);
}

} // namespace

SPMI_EXPORT_BACKEND(ScreenBackend, create)

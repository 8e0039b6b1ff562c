// SPDX-License-Identifier: MIT
// LocalBackend: runs the wrapper as a plain detached process, no external program; Backend ID = its pid.
#include <spmi/errors.hpp>
#include <spmi/plugin.hpp>
#include <spmi/process.hpp>
#include <spmi/recorded.hpp>

#include <fmt/format.h>

namespace {

using namespace spmi;

class LocalBackend final : public Backend
{
public:
  explicit LocalBackend(const PluginContext& context)
  {
    warn_unknown_keys(context, {"type"});
  }

  std::string type() const override { return "local"; }

  LaunchResult launch(const LaunchSpec& spec) override
  {
    // A new session: no controlling terminal, so neither the CLI's exit nor a hang-up of the user's
    // terminal reaches it; stdin is /dev/null, stdout and stderr the manageable's wrapper.log (the
    // wrapper gives the task its own files), so a wrapper that can't even start says why there. The
    // wrapper is our child, so it is also the launcher: core reaps it and reports an exit before the
    // run record.
    return launch_detached(spec.argv, "local", spec);
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
  return std::make_unique<LocalBackend>(context);
}

} // namespace

SPMI_EXPORT_BACKEND(LocalBackend, create)

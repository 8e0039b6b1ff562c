// SPDX-License-Identifier: MIT
// DefaultWrapper: the run protocol (spmi/run_protocol.hpp) as its table says, nothing added. The
// protocol runs the command with /bin/sh -c, output to files, stdin from a FIFO, records the task's
// pid, start, finish and exit status, restarts it as its restart policy says, sets its environment and
// working directory, and rotates and timestamps its output. It adds no hooks, so its wrapper process is
// the lean supervisor (`spmi-supervise`), started by the backend with the settings `start` wrote.
#include <spmi/plugin.hpp>
#include <spmi/run_protocol.hpp>

#include <memory>

namespace {

using namespace spmi;

class DefaultWrapper final : public ProtocolWrapper
{
public:
  explicit DefaultWrapper(const PluginContext& context) : ProtocolWrapper(context) {}

  std::string type() const override { return "default"; }
  // No hooks: the backend starts the lean supervisor itself, with the settings `start` hands it
  // (core/src/run/lean.hpp); run() is what `spmi __run` calls where it does not (recovery, no trusted
  // lean supervisor), and the protocol hands over there too.
  std::vector<std::string> launch_argv(const ManageableDir& dir, const std::string& token) const override
  {
    return lean_launch_argv(dir, token, settings());
  }
  int run(const ManageableDir& dir, const std::string& token) override { return run_protocol(dir, token, settings()); }
};

std::unique_ptr<Wrapper>
create(const PluginContext& context)
{
  return std::make_unique<DefaultWrapper>(context);
}

} // namespace

SPMI_EXPORT_WRAPPER(DefaultWrapper, create)

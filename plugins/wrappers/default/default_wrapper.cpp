// SPDX-License-Identifier: MIT
// DefaultWrapper: the run protocol (spmi/run_protocol.hpp) as its table says, nothing added. The
// protocol runs the command with /bin/sh -c, output to files, stdin from a FIFO, records the task's
// pid, start, finish and exit status, restarts it as its restart policy says, sets its environment and
// working directory, and rotates and timestamps its output. It adds no hooks, so once its settings are
// read the wrapper process becomes the lean supervisor (`spmi-supervise`).
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
  // No hooks: the protocol hands the run over to the lean supervisor (core/src/run/lean.hpp).
  int run(const ManageableDir& dir, const std::string& token) override { return run_protocol(dir, token, settings()); }
};

std::unique_ptr<Wrapper>
create(const PluginContext& context)
{
  return std::make_unique<DefaultWrapper>(context);
}

} // namespace

SPMI_EXPORT_WRAPPER(DefaultWrapper, create)

// SPDX-License-Identifier: MIT
// DefaultWrapper: the run protocol (spmi/run_protocol.hpp) as its table says, nothing added. The
// protocol runs the command with /bin/sh -c, output to files, stdin from a FIFO, records the task's
// pid, start, finish and exit status, restarts it as its restart policy says, sets its environment and
// working directory, and rotates and timestamps its output.
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
};

std::unique_ptr<Wrapper>
create(const PluginContext& context)
{
  return std::make_unique<DefaultWrapper>(context);
}

} // namespace

SPMI_EXPORT_WRAPPER(DefaultWrapper, create)

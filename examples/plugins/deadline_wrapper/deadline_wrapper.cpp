// SPDX-License-Identifier: MIT
// DeadlineWrapper (`type = "deadline"`): the default wrapper's behaviour, built on spmi's run protocol,
// plus a time limit per attempt. An attempt still running after `deadline` is stopped as `spmi stop`
// would (the stop signal, SIGKILL after stop_timeout); the restart policy then decides what follows.
// It records its facts in run.json and shows them in `spmi status` (and under "DeadlineWrapper" in
// `spmi status --json`).
#include <spmi/plugin.hpp>
#include <spmi/run_protocol.hpp>

#include <fmt/format.h>

#include <memory>

namespace {

using namespace spmi;

class DeadlineWrapper final : public ProtocolWrapper
{
public:
  explicit DeadlineWrapper(const PluginContext& context)
    : ProtocolWrapper(context, {"deadline"}),
      m_deadline(context.section.require_duration("deadline", std::chrono::milliseconds(1), std::chrono::hours(24 * 365)))
  {
  }

  std::string type() const override { return "deadline"; }

  void add_status(const StatusQuery& query, StatusReport& report) const override
  {
    ProtocolWrapper::add_status(query, report);  // the default wrapper's lines: restart policy, cwd, environment...
    const auto facts = query.run ? query.run->facts.value("DeadlineWrapper", nlohmann::json::object())
                                 : nlohmann::json::object();
    const int timeouts = facts.value("timeouts", 0);
    report.lines.push_back({"Deadline", fmt::format("{} s per attempt; {}", m_deadline.count() / 1000.0,
                                                    timeouts == 0 ? std::string("never reached")
                                                                  : fmt::format("reached {} time(s)", timeouts))});
    report.plugins["DeadlineWrapper"].update({{"deadline_seconds", m_deadline.count() / 1000.0},
                                             {"timeouts", timeouts},
                                             {"timed_out", facts.value("timed_out", false)}});
  }

protected:
  void on_start(Attempt& attempt) override
  {
    attempt.facts()["timed_out"] = false;
    attempt.at(std::chrono::steady_clock::now() + m_deadline, [this](Attempt& late) {
      auto& facts = late.facts();
      facts["timed_out"] = true;
      facts["timeouts"] = facts.value("timeouts", 0) + 1;
      late.log(fmt::format("the task (pid {}) ran past its deadline of {} s; stopping it", late.pid(),
                           m_deadline.count() / 1000.0));
      late.stop();
    });
  }

private:
  std::chrono::milliseconds m_deadline;
};

std::unique_ptr<Wrapper>
create(const PluginContext& context)
{
  return std::make_unique<DeadlineWrapper>(context);
}

} // namespace

SPMI_EXPORT_WRAPPER(DeadlineWrapper, create)

// SPDX-License-Identifier: MIT
// The decisions of views.cpp that need no state: which run is on another host; and the plugin
// interface's defaults for several launches at once and for the queue report (plugin.cpp).
#include <spmi/errors.hpp>
#include <spmi/plugin.hpp>
#include <spmi/views.hpp>

#include <gtest/gtest.h>

namespace spmi {
namespace {

RunRecord
run_on(const std::string& host)
{
  RunRecord run;
  run.host = host;
  return run;
}

TEST(RemoteHost, ARunOnAnotherHostIsRemote)
{
  EXPECT_EQ(remote_host(run_on("node12"), "login1"), std::optional<std::string>("node12"));
}

TEST(RemoteHost, ARunOnThisHostIsNot)
{
  EXPECT_FALSE(remote_host(run_on("login1"), "login1"));
}

TEST(RemoteHost, UnknownHostsAreTakenAsLocal)
{
  EXPECT_FALSE(remote_host(run_on(""), "login1"));  // an older wrapper's record: as before, measured here
  EXPECT_FALSE(remote_host(run_on("node12"), ""));  // this host's name unknown: nothing to compare
}

// Launches succeed except for the spec whose session name is "fail".
class CountingBackend final : public Backend
{
public:
  std::string type() const override { return "counting"; }
  LaunchResult launch(const LaunchSpec& spec) override
  {
    if (spec.session_name == "fail") {
      throw BackendError("refused " + spec.session_name);
    }
    ++launched;
    LaunchResult result;
    result.backend_id = spec.session_name;
    return result;
  }
  bool signal(const ManageableDir&, const LaunchRecord&, const RunRecord&, int) override { return false; }
  std::map<std::string, QueueState> queue_states(const std::vector<std::string>& ids) override
  {
    std::map<std::string, QueueState> states;
    for (const auto& id : ids) {
      states[id] = QueueState::pending;
    }
    return states;
  }
  int launched = 0;
};

TEST(LaunchMany, ByDefaultLaunchesEachAndSaysWhichFailed)
{
  CountingBackend backend;
  std::vector<LaunchSpec> specs(3);
  specs[0].session_name = "a";
  specs[1].session_name = "fail";
  specs[2].session_name = "c";
  const auto results = backend.launch_many(specs);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(backend.launched, 2);
  EXPECT_EQ(results[0].backend_id, "a");
  EXPECT_FALSE(results[0].failure);
  ASSERT_TRUE(results[1].failure);
  EXPECT_THROW(std::rethrow_exception(results[1].failure), BackendError);
  EXPECT_EQ(results[2].backend_id, "c");
}

TEST(QueueReport, ByDefaultTheQueueStatesWithoutHowTheyEnded)
{
  CountingBackend backend;
  const auto report = backend.queue_report({"1", "2"});
  ASSERT_EQ(report.size(), 2u);
  EXPECT_EQ(report.at("1").state, QueueState::pending);
  EXPECT_EQ(report.at("2").ended, "");
}

} // namespace
} // namespace spmi

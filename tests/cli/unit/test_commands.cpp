// SPDX-License-Identifier: MIT
// The CLI's pure logic: state words, --dry-run plans, and the formats of times, sizes and uptimes.
#include "commands.hpp"

#include <gtest/gtest.h>

namespace {

using namespace spmi;
using namespace std::chrono_literals;

TEST(StateWord, ActivePendingFailedInactive)
{
  RunRecord failed;
  failed.failed = true;
  EXPECT_EQ(spmi::state_word(spmi::decide_state(true, false, failed)), std::string("active"));  // a live wrapper wins over an old record
  EXPECT_EQ(spmi::state_word(spmi::decide_state(false, true, std::nullopt)), std::string("pending"));
  EXPECT_EQ(spmi::state_word(spmi::decide_state(false, false, failed)), std::string("failed"));
  EXPECT_EQ(spmi::state_word(spmi::decide_state(false, false, RunRecord{})), std::string("inactive"));
  EXPECT_EQ(spmi::state_word(spmi::decide_state(false, false, std::nullopt)), std::string("inactive"));
}

TEST(StateWord, RestartingWhileTheWrapperWaitsForTheNextAttempt)
{
  RunRecord waiting;
  waiting.next_attempt = Clock::now();
  EXPECT_EQ(spmi::state_word(spmi::decide_state(true, false, waiting)), std::string("restarting"));
  // Without a live wrapper nobody waits: a record left behind says nothing.
  EXPECT_EQ(spmi::state_word(spmi::decide_state(false, false, waiting)), std::string("inactive"));
}

TEST(PlannedAction, FollowsTheRulesOfEachCommand)
{
  std::string refusal;
  EXPECT_NE(cli::planned_action("stop", "active", refusal), "");
  EXPECT_EQ(cli::planned_action("stop", "pending", refusal), "cancel its queued launch");
  refusal.clear();
  EXPECT_EQ(cli::planned_action("kill", "inactive", refusal), "");
  EXPECT_NE(refusal.find("kill would refuse"), std::string::npos);
  refusal.clear();
  EXPECT_EQ(cli::planned_action("clean", "active", refusal), "");
  EXPECT_NE(refusal.find("clean would refuse"), std::string::npos);
  refusal.clear();
  EXPECT_EQ(cli::planned_action("clean", "failed", refusal), "remove it and its state directory");
  EXPECT_EQ(cli::planned_action("restart", "inactive", refusal), "start it (it is inactive)");
  EXPECT_NE(cli::planned_action("restart", "active", refusal).find("stop it"), std::string::npos);
  EXPECT_EQ(refusal, "");
  // Restarting is running: stop, kill and restart act, clean refuses.
  EXPECT_NE(cli::planned_action("stop", "restarting", refusal).find("not restarted"), std::string::npos);
  EXPECT_NE(cli::planned_action("kill", "restarting", refusal), "");
  EXPECT_NE(cli::planned_action("restart", "restarting", refusal).find("stop it"), std::string::npos);
  EXPECT_EQ(refusal, "");
  EXPECT_EQ(cli::planned_action("clean", "restarting", refusal), "");
  EXPECT_NE(refusal.find("it is restarting; clean would refuse"), std::string::npos);
}

TEST(Formats, Uptime)
{
  EXPECT_EQ(cli::format_uptime(-5s), "0s");
  EXPECT_EQ(cli::format_uptime(59s), "59s");
  EXPECT_EQ(cli::format_uptime(60s), "1m");
  EXPECT_EQ(cli::format_uptime(3599s), "59m");
  EXPECT_EQ(cli::format_uptime(7200s), "2h");
  EXPECT_EQ(cli::format_uptime(3 * 86400s + 5s), "3d");
}

TEST(Formats, Bytes)
{
  EXPECT_EQ(cli::format_bytes(0), "0B");
  EXPECT_EQ(cli::format_bytes(1023), "1023B");
  EXPECT_EQ(cli::format_bytes(1024), "1.0K");
  EXPECT_EQ(cli::format_bytes(1536 * 1024), "1.5M");
  EXPECT_EQ(cli::format_bytes(300ull * 1024 * 1024), "300M");
  EXPECT_EQ(cli::format_bytes(5ull * 1024 * 1024 * 1024), "5.0G");
}

TEST(Formats, Iso8601IsUtcWithMilliseconds)
{
  EXPECT_EQ(cli::format_iso8601(from_epoch(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(cli::format_iso8601(from_epoch(1700000000.25)), "2023-11-14T22:13:20.250Z");
}

TEST(Formats, DeltaInTheGuidesForm)
{
  EXPECT_EQ(cli::format_delta(49s), "0:00:49");
  EXPECT_EQ(cli::format_delta(86400s + 3661s), "1 day, 1:01:01");
  EXPECT_EQ(cli::format_delta(2 * 86400s), "2 days, 0:00:00");
}

} // namespace

// SPDX-License-Identifier: MIT
// spmi startup's text: quoting for units, /bin/sh and cron, the crontab merge, and the plan's unit and line.
#include <spmi/errors.hpp>
#include <spmi/startup.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace {

using namespace spmi::startup;
using testing::HasSubstr;

// Backslash, quote, specifier and variable characters are escaped inside one double-quoted word.
TEST(Startup, SystemdQuote)
{
  EXPECT_EQ(systemd_quote(R"(/a b/%h/$X/"q"\z)"), R"("/a b/%%h/$$X/\"q\"\\z")");
}

// A single quote ends the quoting, is escaped, and starts it again.
TEST(Startup, ShellQuote)
{
  EXPECT_EQ(shell_quote("it's a b"), R"('it'\''s a b')");
}

// cron turns % into a newline unless it is escaped.
TEST(Startup, CronEscape)
{
  EXPECT_EQ(cron_escape("50%/x%"), R"(50\%/x\%)");
}

// Our line replaces the old one in place; duplicates go; foreign lines stay in order.
TEST(Startup, MergeCrontabReplacesOurLine)
{
  const std::string before = "MAILTO=x\n@reboot old # m\n0 * * * * job\n@reboot dup # m\n";
  EXPECT_EQ(merge_crontab(before, "# m", "@reboot new # m"), "MAILTO=x\n@reboot new # m\n0 * * * * job\n");
}

// An empty line removes ours; a crontab without it gets it appended; a last line without '\n' is kept.
TEST(Startup, MergeCrontabAddsAndRemoves)
{
  EXPECT_EQ(merge_crontab("a\n@reboot x # m\n", "# m", ""), "a\n");
  EXPECT_EQ(merge_crontab("a", "# m", "@reboot x # m"), "a\n@reboot x # m\n");
  EXPECT_EQ(merge_crontab("", "# m", "@reboot x # m"), "@reboot x # m\n");
  // Another store's marker is only a prefix match of ours, so it stays.
  EXPECT_EQ(merge_crontab("@reboot y # m2\n", "# m", ""), "@reboot y # m2\n");
}

// The plan for a store with a space and a %: both texts quote it for their reader.
TEST(Startup, PlanTexts)
{
  const auto plan = spmi::startup::plan(Method::cron, "/srv/my store %1", "/usr/bin/spmi", "/opt/p");
  EXPECT_EQ(plan.why, "asked for with --method");
  EXPECT_EQ(plan.cron_line, R"(@reboot SPMI_PATH='/srv/my store \%1' SPMI_PLUGIN_PATH='/opt/p' '/usr/bin/spmi' resurrect )"
                            R"(>> '/srv/my store \%1/resurrect.log' 2>&1 # spmi-startup /srv/my store \%1)");
  EXPECT_THAT(plan.unit_text, HasSubstr("\nEnvironment=\"SPMI_PATH=/srv/my store %%1\"\n"));
  EXPECT_THAT(plan.unit_text, HasSubstr("\nEnvironment=\"SPMI_PLUGIN_PATH=/opt/p\"\n"));
  EXPECT_THAT(plan.unit_text, HasSubstr("\nExecStart=\"/usr/bin/spmi\" resurrect\n"));
  EXPECT_THAT(plan.unit_text, HasSubstr("\nKillMode=process\n"));
  EXPECT_EQ(plan.unit_path.filename(), "spmi-resurrect.service");
}

// A relative store or one with a newline can't be written into a unit or a crontab.
TEST(Startup, PlanRefusesOddPaths)
{
  EXPECT_THAT([] { spmi::startup::plan(Method::cron, "state", "/usr/bin/spmi", ""); },
              testing::ThrowsMessage<spmi::UsageError>(HasSubstr("the store path (SPMI_PATH) 'state' is relative")));
  EXPECT_THAT([] { spmi::startup::plan(Method::cron, "/a\nb", "/usr/bin/spmi", ""); },
              testing::ThrowsMessage<spmi::UsageError>(HasSubstr("holds a control character")));
}

} // namespace

// SPDX-License-Identifier: MIT
// `spmi top`'s screen and keys (cli/top_view.cpp): what each key does, scrolling, cutting lines to the
// width, and the frame's header, rows and question.
#include "top.hpp"

#include <gtest/gtest.h>

namespace {

using namespace spmi;
using namespace spmi::cli;

MonitorSample
sample()
{
  MonitorSample s;
  s.taken_at = Clock::now();
  MonitorRow web;
  web.view.id = "web";
  web.view.state = State::active;
  web.view.pid = 4242;
  web.view.restarts = 3;
  web.view.comment = "the site";
  web.view.resources = process::TreeUsage{2, 1.0, 0, 5 * 1024 * 1024};
  web.cpu_percent = 12.5;
  web.uptime = std::chrono::seconds(125);
  MonitorRow db;
  db.view.id = "db";
  db.view.state = State::failed;
  s.rows = {web, db};
  s.counts[static_cast<std::size_t>(State::active)] = 1;
  s.counts[static_cast<std::size_t>(State::failed)] = 1;
  return s;
}

TEST(TopKeys, EachKeysAction)
{
  EXPECT_EQ(top_action('q'), TopAction::quit);
  EXPECT_EQ(top_action(3), TopAction::quit);  // Ctrl-C in raw mode
  EXPECT_EQ(top_action('j'), TopAction::down);
  EXPECT_EQ(top_action(k_key_up), TopAction::up);
  EXPECT_EQ(top_action('c'), TopAction::sort_cpu);
  EXPECT_EQ(top_action('m'), TopAction::sort_memory);
  EXPECT_EQ(top_action('n'), TopAction::sort_id);
  EXPECT_EQ(top_action('s'), TopAction::stop);
  EXPECT_EQ(top_action('r'), TopAction::restart);
  EXPECT_EQ(top_action('x'), TopAction::kill);
  EXPECT_EQ(top_action('l'), TopAction::logs);
  EXPECT_EQ(top_action('\r'), TopAction::logs);
  EXPECT_EQ(top_action('Z'), TopAction::none);
}

TEST(TopKeys, SortStepWrapsAround)
{
  EXPECT_EQ(sort_step(SortKey::id, 1), SortKey::state);
  EXPECT_EQ(sort_step(SortKey::id, -1), SortKey::uptime);
  EXPECT_EQ(sort_step(SortKey::uptime, 1), SortKey::id);
}

TEST(TopScreen, ScrollKeepsTheSelectionVisible)
{
  EXPECT_EQ(scroll_to(0, 0, 10), 0u);
  EXPECT_EQ(scroll_to(12, 0, 10), 3u);
  EXPECT_EQ(scroll_to(2, 3, 10), 2u);
  EXPECT_EQ(scroll_to(5, 3, 10), 3u);
}

TEST(TopScreen, FitWidthKeepsEscapesAndWholeCharacters)
{
  EXPECT_EQ(fit_width("abcdef", 3), "abc");
  EXPECT_EQ(fit_width("\x1b[32mabcdef\x1b[39m", 2), "\x1b[32mab");
  EXPECT_EQ(fit_width("h\xc3\xa9llo", 2), "h\xc3\xa9");  // é is one character of two bytes
  EXPECT_EQ(fit_width("ab", 10), "ab");
}

TEST(TopScreen, FrameShowsHeaderRowsQuestionAndHelp)
{
  TopLayout layout;
  layout.rows = 10;
  layout.cols = 120;
  layout.message = confirm_question(TopAction::stop, "web");
  const auto lines = top_frame(sample(), {}, layout);
  ASSERT_EQ(lines.size(), 10u);  // the whole screen
  EXPECT_NE(lines[0].find("2 manageables: 1 active, 1 failed"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("CPU%"), std::string::npos);
  EXPECT_NE(lines[2].find("web"), std::string::npos);
  EXPECT_NE(lines[2].find("4242"), std::string::npos);
  EXPECT_NE(lines[2].find("12.5"), std::string::npos);
  EXPECT_NE(lines[2].find("5.0M"), std::string::npos) << lines[2];
  EXPECT_NE(lines[2].find("2m"), std::string::npos) << lines[2];
  EXPECT_EQ(lines[2].rfind("\x1b[7m", 0), 0u);  // the selected row is reversed
  EXPECT_NE(lines[3].find("failed"), std::string::npos);
  EXPECT_EQ(lines[8], "Stop web? [y/N]");
  EXPECT_NE(lines[9].find("s stop"), std::string::npos);
}

TEST(TopScreen, BatchHasEveryRowAndNoEscapes)
{
  TopLayout layout;
  layout.batch = true;
  layout.rows = 3;  // ignored: batch prints every row
  const auto lines = top_frame(sample(), {"nothing.*"}, layout);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_NE(lines[0].find("no manageable matches 'nothing.*'"), std::string::npos);
  for (const auto& line : lines) {
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
  }
}

TEST(TopScreen, LogsFrameShowsTheLastLinesThatFit)
{
  TopLayout layout;
  layout.rows = 3;
  layout.cols = 40;
  const auto frame = logs_frame("web", {"one", "two", "three", "four"}, layout);
  ASSERT_EQ(frame.size(), 3u);
  EXPECT_EQ(frame[1], "three");
  EXPECT_EQ(frame[2], "four");
}

} // namespace

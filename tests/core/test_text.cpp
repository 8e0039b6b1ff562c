// SPDX-License-Identifier: MIT
// Hostile text: escaping for the terminal, and the last lines of a file in linear time.
#include <spmi/errors.hpp>
#include <spmi/text.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <ctime>
#include <cstdlib>
#include <string>

namespace {

using spmi::escape_control;
using namespace std::string_literals;

// Control characters become C-style escapes; printable ASCII, backslashes and valid UTF-8 stay.
TEST(EscapeControl, EscapesControlsKeepsText)
{
  EXPECT_EQ(escape_control("plain text, \\ and \"quotes\""), "plain text, \\ and \"quotes\"");
  EXPECT_EQ(escape_control("a\nb\tc\rd"), "a\\nb\\tc\\rd");
  EXPECT_EQ(escape_control("\x1b[2J\x1b]0;title\a"), "\\x1b[2J\\x1b]0;title\\x07");
  EXPECT_EQ(escape_control("nul\0end"s), "nul\\x00end");
  EXPECT_EQ(escape_control("del\x7f"), "del\\x7f");
  EXPECT_EQ(escape_control("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(escape_control("nbsp\xc2\xa0"), "nbsp\xc2\xa0");  // U+00A0 is text, not C1
}

// C1 controls, as UTF-8 (U+009B) or as a lone 8-bit byte (0x9b, invalid UTF-8), never pass raw.
TEST(EscapeControl, EscapesC1AndInvalidUtf8)
{
  EXPECT_EQ(escape_control("csi\xc2\x9b" "2J"), "csi\\u009b2J");
  EXPECT_EQ(escape_control("csi\x9b" "2J"), "csi\\x9b2J");
  EXPECT_EQ(escape_control("cut\xe2\x82"), "cut\\xe2\\x82");           // a sequence cut short
  EXPECT_EQ(escape_control("over\xc0\xaf"), "over\\xc0\\xaf");         // an overlong '/'
  EXPECT_EQ(escape_control("surr\xed\xa0\x80"), "surr\\xed\\xa0\\x80");  // a UTF-16 surrogate
  EXPECT_EQ(escape_control("big\xf4\x90\x80\x80"), "big\\xf4\\x90\\x80\\x80");
}

// `keep` lets chosen C0 characters through (multi-line messages), never ESC unless named.
TEST(EscapeControl, KeepPassesChosenControls)
{
  EXPECT_EQ(escape_control("a\nb\tc\x1b", "\n\t"), "a\nb\tc\\x1b");
}

// UTF-8 validity, as escape_control judges it.
TEST(IsValidUtf8, AcceptsTextRefusesBrokenSequences)
{
  EXPECT_TRUE(spmi::is_valid_utf8("plain caf\xc3\xa9 \xf0\x9f\x98\x80 \xc2\x9b"));
  EXPECT_FALSE(spmi::is_valid_utf8("x\x9b"));
  EXPECT_FALSE(spmi::is_valid_utf8("\xc0\xaf"));
  EXPECT_FALSE(spmi::is_valid_utf8("\xed\xa0\x80"));
  EXPECT_FALSE(spmi::is_valid_utf8("cut \xe2\x82"));
}

class TailOffsetTest : public testing::Test
{
protected:
  void SetUp() override
  {
    char name[] = "/tmp/spmi-test-tail-XXXXXX";
    m_fd = ::mkstemp(name);
    ASSERT_GE(m_fd, 0);
    ::unlink(name);
  }
  void TearDown() override { ::close(m_fd); }

  // The text from where the last `lines` lines begin, for `content`.
  std::string tail(const std::string& content, std::size_t lines)
  {
    EXPECT_EQ(::ftruncate(m_fd, 0), 0);
    EXPECT_EQ(::pwrite(m_fd, content.data(), content.size(), 0), static_cast<ssize_t>(content.size()));
    const auto offset = spmi::tail_offset(m_fd, static_cast<off_t>(content.size()), lines);
    return content.substr(static_cast<std::size_t>(offset));
  }

  int m_fd = -1;
};

// As `tail -n` counts: a final newline ends the last line; fewer lines than asked gives the whole file.
TEST_F(TailOffsetTest, CountsLinesAsTail)
{
  EXPECT_EQ(tail("one\ntwo\nthree\n", 2), "two\nthree\n");
  EXPECT_EQ(tail("one\ntwo\nthree", 2), "two\nthree");
  EXPECT_EQ(tail("one\ntwo\n", 5), "one\ntwo\n");
  EXPECT_EQ(tail("one\n\n\nfour\n", 3), "\n\nfour\n");
  EXPECT_EQ(tail("one\ntwo\n", 0), "");
  EXPECT_EQ(tail("", 3), "");
  EXPECT_EQ(tail("\n", 1), "\n");
}

// Lines across the 64 KiB blocks it reads, many short ones and one very long one.
TEST_F(TailOffsetTest, AcrossBlocks)
{
  std::string many;
  for (int i = 0; i < 100000; ++i) {
    many += "line " + std::to_string(i) + "\n";
  }
  EXPECT_EQ(tail(many, 3), "line 99997\nline 99998\nline 99999\n");
  const std::string long_line(200000, 'x');
  EXPECT_EQ(tail("first\n" + long_line + "\nlast\n", 2), long_line + "\nlast\n");
  EXPECT_EQ(tail("first\n" + long_line, 1), long_line);
}

// A file without a newline (a progress bar redrawn with '\r') is one line, found in linear time.
TEST_F(TailOffsetTest, NoNewlineIsLinear)
{
  std::string bar;
  for (int i = 0; bar.size() < 32 * 1024 * 1024; ++i) {
    bar += "\rprogress " + std::to_string(i % 100) + "%";
  }
  ASSERT_EQ(::pwrite(m_fd, bar.data(), bar.size(), 0), static_cast<ssize_t>(bar.size()));
  // CPU time, so a busy machine can't fail it (the quadratic search took seconds on 32 MB).
  const std::clock_t started = std::clock();
  EXPECT_EQ(spmi::tail_offset(m_fd, static_cast<off_t>(bar.size()), 10), 0);
  const double seconds = static_cast<double>(std::clock() - started) / CLOCKS_PER_SEC;
  EXPECT_LT(seconds, std::getenv("SPMI_TEST_SANITIZED") ? 20.0 : 1.0);
}

// A file shorter than it was said to be (truncated meanwhile) is an error, not a hang or garbage.
TEST_F(TailOffsetTest, TruncatedMeanwhileIsError)
{
  ASSERT_EQ(::pwrite(m_fd, "abc", 3, 0), 3);
  EXPECT_THROW(spmi::tail_offset(m_fd, 100, 1), spmi::SystemError);
}

} // namespace

// SPDX-License-Identifier: MIT
// The run protocol's pure logic (core/src/run/logic.cpp): restart decisions and
// backoff, env_file parsing, timestamps and size-rotated output files.
#include "../../core/src/run/logic.hpp"

#include <spmi/errors.hpp>
#include <spmi/state.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace {

using namespace spmi::wrapper;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST(WrapperLogic, RestartPolicyNames)
{
  EXPECT_EQ(parse_restart_policy("no"), RestartPolicy::no);
  EXPECT_EQ(parse_restart_policy("on-failure"), RestartPolicy::on_failure);
  EXPECT_EQ(parse_restart_policy("always"), RestartPolicy::always);
  EXPECT_EQ(parse_restart_policy("on_failure"), std::nullopt);
  EXPECT_EQ(parse_restart_policy("yes"), std::nullopt);
  EXPECT_EQ(parse_restart_policy(""), std::nullopt);
}

TEST(WrapperLogic, WantsRestart)
{
  EXPECT_FALSE(wants_restart(RestartPolicy::no, 1, 0, false));
  EXPECT_FALSE(wants_restart(RestartPolicy::on_failure, 0, 0, false));
  EXPECT_TRUE(wants_restart(RestartPolicy::on_failure, 3, 0, false));
  EXPECT_TRUE(wants_restart(RestartPolicy::on_failure, 0, 11, false));
  EXPECT_TRUE(wants_restart(RestartPolicy::always, 0, 0, false));
  // A user's stop or kill never restarts.
  EXPECT_FALSE(wants_restart(RestartPolicy::always, 0, 0, true));
  EXPECT_FALSE(wants_restart(RestartPolicy::on_failure, 130, 0, true));
  EXPECT_FALSE(wants_restart(RestartPolicy::on_failure, 0, 9, true));
}

TEST(WrapperLogic, BackoffDoublesUpToTheCap)
{
  EXPECT_EQ(backoff_delay(500ms, 10s, 0), 500ms);
  EXPECT_EQ(backoff_delay(500ms, 10s, 1), 1000ms);
  EXPECT_EQ(backoff_delay(500ms, 10s, 2), 2000ms);
  EXPECT_EQ(backoff_delay(500ms, 10s, 4), 8000ms);
  EXPECT_EQ(backoff_delay(500ms, 10s, 5), 10s);
  EXPECT_EQ(backoff_delay(500ms, 10s, 1000000), 10s);  // no overflow
  EXPECT_EQ(backoff_delay(0ms, 10s, 3), 0ms);
  EXPECT_EQ(backoff_delay(2s, 2s, 3), 2s);
}

// max_memory's messages say sizes as the keys read them (1024-based), whole ones without a decimal.
TEST(WrapperLogic, SizeText)
{
  EXPECT_EQ(size_text(100), "100B");
  EXPECT_EQ(size_text(60ull << 20), "60M");
  EXPECT_EQ(size_text(2ull << 30), "2G");
  EXPECT_EQ(size_text((23ull << 30) / 10), "2.3G");
  EXPECT_EQ(size_text(1536), "1.5K");
  EXPECT_EQ(size_text(k_min_memory), "1M");
}

// status's Restart policy line.
TEST(WrapperLogic, RestartPolicyText)
{
  spmi::RunSettings s;
  EXPECT_EQ(restart_policy_text(s), "never");
  s.restart = spmi::RestartPolicy::on_failure;
  EXPECT_EQ(restart_policy_text(s), "on-failure (at most 5 restarts in 300 s; delay 1 s, doubling up to 60 s)");
  s.restart = spmi::RestartPolicy::always;
  s.max_restarts = 1;
  s.restart_delay = 500ms;
  s.restart_delay_max = 500ms;
  EXPECT_EQ(restart_policy_text(s), "always (at most 1 restart in 300 s; delay 0.5 s)");
}

// Output is bounded by default as supervisord's is: 50 MiB per stream, 10 old files kept.
TEST(WrapperLogic, OutputIsBoundedByDefault)
{
  EXPECT_EQ(k_default_max_output_size, 50ull * 1024 * 1024);
  EXPECT_EQ(k_default_output_files_kept, 10);
}

TEST(WrapperLogic, EnvFile)
{
  const auto vars = parse_env_file("# comment\n\nA=1\n  B = two words\nexport C='quoted'\nD=\"x=y\"\nE=\r\n  # indented\nF=a#b",
                                   "env.txt");
  ASSERT_EQ(vars.size(), 6u);
  EXPECT_EQ(vars[0], (std::pair<std::string, std::string>{"A", "1"}));
  EXPECT_EQ(vars[1], (std::pair<std::string, std::string>{"B", " two words"}));
  EXPECT_EQ(vars[2], (std::pair<std::string, std::string>{"C", "quoted"}));
  EXPECT_EQ(vars[3], (std::pair<std::string, std::string>{"D", "x=y"}));
  EXPECT_EQ(vars[4], (std::pair<std::string, std::string>{"E", ""}));
  EXPECT_EQ(vars[5], (std::pair<std::string, std::string>{"F", "a#b"}));
}

TEST(WrapperLogic, EnvFileErrorsNameFileAndLine)
{
  try {
    parse_env_file("A=1\n\nnot a pair\n", "/x/env.txt");
    FAIL() << "accepted a line without '='";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("/x/env.txt:3:"), std::string::npos) << e.what();
  }
  try {
    parse_env_file("1A=1\n", "e");
    FAIL() << "accepted a bad name";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("e:1: the name before '=' is not a valid variable name"), std::string::npos)
      << e.what();
  }
  EXPECT_THROW(parse_env_file(std::string_view("A=1\nB=x\0y\n", 10), "e"), std::invalid_argument);
  EXPECT_THROW(parse_env_file("A-B=1\n", "e"), std::invalid_argument);
  EXPECT_THROW(parse_env_file("=1\n", "e"), std::invalid_argument);
}

// An env_file may be a file of secrets: a bad line is named by its number, its text never shown.
TEST(WrapperLogic, EnvFileErrorsNeverQuoteTheLine)
{
  const std::string secret = "root:$y$j9T$SECRETSALT$SECRETHASH:19000:0:99999:7:::";
  const std::vector<std::string> texts{secret + "\n", "A=1\n" + secret + "=x\n",
                                      "A=1\n# c\n" + secret + "=" + secret + "\n", std::string("A=1\nSECRET\0=x\n", 14)};
  for (const auto& text : texts) {
    try {
      parse_env_file(text, "/etc/x.env");
      FAIL() << "accepted a bad line";
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.find("SECRET"), std::string::npos) << what;
      EXPECT_EQ(what.rfind("/etc/x.env:", 0), 0u) << what;
    }
  }
}

TEST(WrapperLogic, TimestampPrefix)
{
  EXPECT_EQ(timestamp_prefix(spmi::from_epoch(1795633632.345)), "2026-11-25T19:07:12.345Z ");
  EXPECT_EQ(timestamp_prefix(spmi::from_epoch(0)), "1970-01-01T00:00:00.000Z ");
}

class OutputFileTest : public ::testing::Test
{
protected:
  void SetUp() override
  {
    // A manageable's directory "m" in a store of its own: both private, as StrictModes want them.
    m_base = fs::temp_directory_path() / ("spmi-output-" + std::to_string(::getpid()) + "-" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name());
    m_dir = m_base / "m";
    fs::remove_all(m_base);
    fs::create_directories(m_dir);
    fs::permissions(m_base, fs::perms::owner_all);
    fs::permissions(m_dir, fs::perms::owner_all);
  }
  void TearDown() override { fs::remove_all(m_base); }
  // An output file `path` (in m_dir), opened relative to the verified directory.
  OutputFile output(const fs::path& path, std::uint64_t max_size, int kept, bool timestamps) const
  {
    return OutputFile(spmi::ManageableDir(m_dir), path.filename().string(), max_size, kept, timestamps);
  }
  static std::string read(const fs::path& path)
  {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  fs::path m_base;
  fs::path m_dir;
};

TEST_F(OutputFileTest, RotatesAtLineBoundariesKeepingAtMostKept)
{
  const auto path = m_dir / "stdout";
  auto file = output(path, 100, 2, false);
  file.open();
  std::string all;
  for (int i = 0; i < 50; ++i) {
    const auto line = "line " + std::to_string(i) + "\n";
    all += line;
    file.write(line, std::chrono::system_clock::now());
  }
  EXPECT_TRUE(fs::exists(path));
  EXPECT_TRUE(fs::exists(m_dir / "stdout.1"));
  EXPECT_TRUE(fs::exists(m_dir / "stdout.2"));
  EXPECT_FALSE(fs::exists(m_dir / "stdout.3"));
  const auto kept = read(m_dir / "stdout.2") + read(m_dir / "stdout.1") + read(path);
  for (const auto& name : {"stdout", "stdout.1", "stdout.2"}) {
    const auto text = read(m_dir / name);
    EXPECT_LE(text.size(), 100u) << name;
    EXPECT_EQ(text.back(), '\n') << name << " ends mid-line";
  }
  // What is kept is the end of the output, whole.
  EXPECT_EQ(all.substr(all.size() - kept.size()), kept);
}

// Many lines in one write (as a pipe's read gives them) go in whole-line runs, rotating between lines.
TEST_F(OutputFileTest, ManyLinesInOneWriteRotateBetweenLines)
{
  const auto path = m_dir / "stdout";
  auto file = output(path, 100, 100, false);
  file.open();
  std::string all;
  for (int i = 0; i < 60; ++i) {
    all += "line " + std::to_string(i) + "\n";
  }
  file.write(all, std::chrono::system_clock::now());
  std::string joined;
  for (int n = 100; n >= 1; --n) {
    const auto old = m_dir / ("stdout." + std::to_string(n));
    if (fs::exists(old)) {
      const auto text = read(old);
      EXPECT_LE(text.size(), 100u) << old;
      EXPECT_GT(text.size(), 90u) << old << ": rotated before it was full";
      EXPECT_EQ(text.back(), '\n') << old << " ends mid-line";
      joined += text;
    }
  }
  joined += read(path);
  EXPECT_EQ(joined, all);
}

TEST_F(OutputFileTest, LongLinesAreSplitAndNothingIsLost)
{
  const auto path = m_dir / "out";
  auto file = output(path, 64, 100, false);
  file.open();
  const std::string line(150, 'x');
  file.write(line + "\nshort\n", std::chrono::system_clock::now());
  std::string joined;
  for (int n = 100; n >= 1; --n) {
    const auto old = m_dir / ("out." + std::to_string(n));
    if (fs::exists(old)) {
      EXPECT_LE(fs::file_size(old), 64u);
      joined += read(old);
    }
  }
  EXPECT_LE(fs::file_size(path), 64u);
  joined += read(path);
  EXPECT_EQ(joined, line + "\nshort\n");
}

TEST_F(OutputFileTest, TimestampsPrefixEveryLineEvenAcrossWrites)
{
  const auto path = m_dir / "out";
  auto file = output(path, 0, 5, true);
  file.open();
  const auto t = spmi::from_epoch(1795633632.345);
  file.write("a\nb", t);
  file.write("c\n\nd", t);
  file.end_line();
  const std::string p = "2026-11-25T19:07:12.345Z ";
  EXPECT_EQ(read(path), p + "a\n" + p + "bc\n" + p + "\n" + p + "d\n");
}

// Many timestamped lines in one write (more than one writev's worth), with and without rotation: every
// line has its prefix, each file stays under the limit and ends a line, nothing is lost or doubled.
TEST_F(OutputFileTest, ManyTimestampedLinesInOneWrite)
{
  const auto t = spmi::from_epoch(1795633632.345);
  const std::string p = "2026-11-25T19:07:12.345Z ";
  std::string all;
  std::string expected;
  for (int i = 0; i < 60; ++i) {
    const auto line = "line " + std::to_string(i) + "\n";
    all += line;
    expected += p + line;
  }
  for (const std::uint64_t max : {std::uint64_t{0}, std::uint64_t{200}}) {
    const auto path = m_dir / ("ts" + std::to_string(max));
    auto file = output(path, max, 100, true);
    file.open();
    file.write(all, t);
    std::string joined;
    for (int n = 100; n >= 1; --n) {
      const fs::path old = path.string() + "." + std::to_string(n);
      if (fs::exists(old)) {
        const auto text = read(old);
        EXPECT_LE(text.size(), max) << old;
        EXPECT_EQ(text.back(), '\n') << old << " ends mid-line";
        joined += text;
      }
    }
    joined += read(path);
    EXPECT_EQ(joined, expected) << "max " << max;
    EXPECT_EQ(file.size(), fs::file_size(path)) << "max " << max;
  }
}

TEST_F(OutputFileTest, ContinuesAnExistingFile)
{
  const auto path = m_dir / "out";
  std::ofstream(path) << std::string(90, 'y');  // no newline: a line still open
  auto file = output(path, 100, 1, false);
  file.open();
  EXPECT_EQ(file.size(), 90u);
  file.write("zzzzzzzzzzzzzzzzzzzz\n", std::chrono::system_clock::now());  // 21 bytes: does not fit
  EXPECT_EQ(read(m_dir / "out.1"), std::string(90, 'y') + std::string(10, 'z'));
  EXPECT_EQ(read(path), std::string(10, 'z') + "\n");
}

// A rotation that renamed nothing or could not create the next file (a full disk) leaves no file open;
// the next write opens one, so output comes back once there is room.
TEST_F(OutputFileTest, WritesAgainAfterAFailedRotation)
{
  const auto path = m_dir / "out";
  auto file = output(path, 10, 1, false);
  file.open();
  file.write("12345678\n", std::chrono::system_clock::now());
  fs::create_directories(m_dir / "out.1" / "x");  // the rotation can't rename `out` over it
  EXPECT_THROW(file.write("abc\n", std::chrono::system_clock::now()), spmi::SystemError);
  fs::remove_all(m_dir / "out.1");
  file.write("def\n", std::chrono::system_clock::now());
  EXPECT_EQ(read(path), "def\n");
  EXPECT_EQ(read(m_dir / "out.1"), "12345678\n");
}

TEST_F(OutputFileTest, KeptZeroKeepsOnlyTheCurrentFile)
{
  const auto path = m_dir / "out";
  auto file = output(path, 10, 0, false);
  file.open();
  file.write("12345678\nabcdefgh\n", std::chrono::system_clock::now());
  EXPECT_EQ(read(path), "abcdefgh\n");
  EXPECT_FALSE(fs::exists(m_dir / "out.1"));
}

} // namespace

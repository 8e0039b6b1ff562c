// SPDX-License-Identifier: MIT
// OutputFollower (core/src/follow.cpp) on real files of a real store directory: the tail it starts
// from, rotation as the default wrapper does it (stdout renamed to stdout.1, a new stdout), a file
// made anew, truncation, a file that appears late, and StrictModes (a planted symlink is refused).
#include <spmi/errors.hpp>
#include <spmi/follow.hpp>
#include <spmi/state.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;

class Follow : public testing::Test
{
protected:
  void SetUp() override
  {
    m_root = fs::temp_directory_path() / ("spmi-follow-" + std::to_string(::getpid()));
    fs::remove_all(m_root);
    fs::create_directories(m_root / "web");
    fs::permissions(m_root, fs::perms::owner_all);
    fs::permissions(m_root / "web", fs::perms::owner_all);
  }
  void TearDown() override { fs::remove_all(m_root); }

  // Appends `text` to the file `name` of the manageable, making it (0600) when missing.
  void append(const std::string& name, const std::string& text) const
  {
    const auto path = m_root / "web" / name;
    std::ofstream(path, std::ios::app) << text;
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  }
  // What one pump() hands over.
  std::string pump(spmi::OutputFollower& follower) const
  {
    std::string got;
    follower.pump([&](const char* data, std::size_t size) { got.append(data, size); });
    return got;
  }
  spmi::ManageableDir dir() const { return spmi::ManageableDir(m_root / "web"); }

  fs::path m_root;
};

TEST_F(Follow, StartsAtTheLastLinesOrBytes)
{
  append("stdout", "one\ntwo\nthree\n");
  spmi::OutputFollower lines(dir(), "stdout");
  ASSERT_TRUE(lines.start_at_tail_lines(2));
  EXPECT_EQ(pump(lines), "two\nthree\n");
  spmi::OutputFollower bytes(dir(), "stdout");
  ASSERT_TRUE(bytes.start_at_tail_bytes(6));
  EXPECT_EQ(pump(bytes), "three\n");
  spmi::OutputFollower all(dir(), "stdout");
  ASSERT_TRUE(all.start_at_tail_bytes(1000));
  EXPECT_EQ(pump(all), "one\ntwo\nthree\n");
  EXPECT_EQ(pump(all), "");
  append("stdout", "four\n");
  EXPECT_EQ(pump(all), "four\n");
}

// The default wrapper's rotation: what was written to the old file after the last pump is not lost,
// and the new file is read from its start.
TEST_F(Follow, FollowsRotation)
{
  append("stdout", "before\n");
  spmi::OutputFollower follower(dir(), "stdout");
  ASSERT_TRUE(follower.start_at_tail_bytes(0));
  EXPECT_EQ(pump(follower), "");
  append("stdout", "last of the old file\n");
  fs::rename(m_root / "web" / "stdout", m_root / "web" / "stdout.1");
  EXPECT_EQ(pump(follower), "last of the old file\n");  // between the rename and the new file
  append("stdout", "first of the new file\n");
  EXPECT_EQ(pump(follower), "first of the new file\n");
  append("stdout", "more\n");
  EXPECT_EQ(pump(follower), "more\n");
  // Rotated again, with output on both sides before the next pump.
  append("stdout", "old again\n");
  fs::rename(m_root / "web" / "stdout", m_root / "web" / "stdout.1");
  append("stdout", "new again\n");
  EXPECT_EQ(pump(follower), "old again\nnew again\n");
}

// A restart that makes the file anew (removed, then created) reads the new one from its start.
TEST_F(Follow, FollowsAFileMadeAnew)
{
  append("stdout", "first run\n");
  spmi::OutputFollower follower(dir(), "stdout");
  ASSERT_TRUE(follower.start_at_tail_bytes(0));
  fs::remove(m_root / "web" / "stdout");
  append("stdout", "second run\n");
  EXPECT_EQ(pump(follower), "second run\n");
}

TEST_F(Follow, ReadsATruncatedFileFromItsStart)
{
  append("stdout", "a long first line\n");
  spmi::OutputFollower follower(dir(), "stdout");
  ASSERT_TRUE(follower.start_at_tail_bytes(0));
  fs::resize_file(m_root / "web" / "stdout", 0);
  append("stdout", "new\n");
  EXPECT_EQ(pump(follower), "new\n");
}

TEST_F(Follow, FollowsAFileThatAppearsLaterFromItsStart)
{
  spmi::OutputFollower follower(dir(), "stderr");
  EXPECT_FALSE(follower.start_at_tail_lines(10));
  EXPECT_EQ(pump(follower), "");
  append("stderr", "hello\n");
  EXPECT_EQ(pump(follower), "hello\n");
}

TEST_F(Follow, RefusesASymlink)
{
  append("elsewhere", "secret\n");
  fs::create_symlink(m_root / "web" / "elsewhere", m_root / "web" / "stdout");
  spmi::OutputFollower follower(dir(), "stdout");
  EXPECT_THROW(follower.start_at_tail_bytes(0), spmi::StateError);
}

TEST_F(Follow, ChangeFdWakesOnAWrite)
{
  spmi::OutputFollower follower(dir(), "stdout");
  const int fd = follower.change_fd();
  ASSERT_GE(fd, 0);
  append("stdout", "x");
  char buffer[4096];
  EXPECT_GT(::read(fd, buffer, sizeof(buffer)), 0);
  follower.clear_changes();
  EXPECT_LT(::read(fd, buffer, sizeof(buffer)), 0);  // emptied (non-blocking: EAGAIN)
}

} // namespace

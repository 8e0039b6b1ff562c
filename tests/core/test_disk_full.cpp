// SPDX-License-Identifier: MIT
// full_disk_bytes_free (core/src/state.cpp): how `status` and `stop` tell a full file system, on a real
// tmpfs filled to the brim (root only).
#include <spmi/state.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace {

namespace fs = std::filesystem;

TEST(DiskFull, RoomOrUnknownIsNotFull)
{
  EXPECT_EQ(spmi::full_disk_bytes_free(fs::temp_directory_path()), std::nullopt);  // has room (> 64 KiB)
  EXPECT_EQ(spmi::full_disk_bytes_free("/nonexistent/spmi"), std::nullopt);       // statvfs fails
}

// A small tmpfs, unmounted and removed on destruction.
class SmallTmpfs
{
public:
  explicit SmallTmpfs(const char* options)
    : m_dir(fs::temp_directory_path() / ("spmi-full-" + std::to_string(::getpid())))
  {
    fs::create_directories(m_dir);
    m_mounted = ::mount("tmpfs", m_dir.c_str(), "tmpfs", 0, options) == 0;
  }
  ~SmallTmpfs()
  {
    if (m_mounted) {
      ::umount2(m_dir.c_str(), MNT_DETACH);
    }
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;
  bool mounted() const { return m_mounted; }
  const fs::path& dir() const { return m_dir; }

private:
  fs::path m_dir;
  bool m_mounted = false;
};

// Tests on a tmpfs of their own, skipped unless root can mount one.
class DiskFullTmpfs : public ::testing::Test
{
protected:
  void SetUp() override
  {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "mounting a tmpfs needs root";
    }
  }
};

TEST_F(DiskFullTmpfs, FilledIsFull)
{
  const SmallTmpfs tmpfs("size=256k,mode=0700");
  if (!tmpfs.mounted()) {
    GTEST_SKIP() << "cannot mount a tmpfs here";
  }
  EXPECT_EQ(spmi::full_disk_bytes_free(tmpfs.dir()), std::nullopt);
  const int fd = ::open((tmpfs.dir() / "fill").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  const std::string block(4096, 'x');
  while (::write(fd, block.data(), block.size()) > 0) {
  }
  ::close(fd);
  const auto free = spmi::full_disk_bytes_free(tmpfs.dir() / "fill");
  ASSERT_TRUE(free.has_value());
  EXPECT_LT(*free, spmi::k_full_disk_bytes);
}

TEST_F(DiskFullTmpfs, NoFreeInodeIsFull)
{
  const SmallTmpfs tmpfs("size=1m,nr_inodes=4,mode=0700");
  if (!tmpfs.mounted()) {
    GTEST_SKIP() << "cannot mount a tmpfs here";
  }
  for (int i = 0; ::close(::open((tmpfs.dir() / std::to_string(i)).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) == 0;
       ++i) {
  }
  const auto free = spmi::full_disk_bytes_free(tmpfs.dir());
  ASSERT_TRUE(free.has_value());
  EXPECT_GE(*free, spmi::k_full_disk_bytes);  // bytes to spare, but no inode
}

} // namespace

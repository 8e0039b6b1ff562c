// SPDX-License-Identifier: MIT
// UniqueFd (core/include/spmi/unique_fd.hpp): a descriptor is closed exactly once, by its last owner.
#include <spmi/unique_fd.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace {

// True when `fd` is an open descriptor of this process.
bool
is_open(int fd)
{
  return ::fcntl(fd, F_GETFD) != -1;
}

int
open_null()
{
  return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

TEST(UniqueFd, ClosesOnDestruction)
{
  int raw = -1;
  {
    const spmi::UniqueFd fd(open_null());
    raw = fd.get();
    ASSERT_GE(raw, 0);
    EXPECT_TRUE(fd);
    EXPECT_TRUE(is_open(raw));
  }
  EXPECT_FALSE(is_open(raw));
}

TEST(UniqueFd, EmptyAndNegative)
{
  const spmi::UniqueFd none;
  EXPECT_FALSE(none);
  EXPECT_EQ(none.get(), -1);
  const spmi::UniqueFd failed(-5);
  EXPECT_FALSE(failed);
  EXPECT_EQ(failed.get(), -1);
}

TEST(UniqueFd, MoveHandsOverOwnership)
{
  spmi::UniqueFd first(open_null());
  const int raw = first.get();
  spmi::UniqueFd second(std::move(first));
  EXPECT_FALSE(first);  // NOLINT(bugprone-use-after-move): that is the point
  EXPECT_EQ(second.get(), raw);
  spmi::UniqueFd third(open_null());
  const int replaced = third.get();
  third = std::move(second);
  EXPECT_EQ(third.get(), raw);
  EXPECT_FALSE(is_open(replaced));  // what the target owned is closed
  EXPECT_TRUE(is_open(raw));
}

TEST(UniqueFd, ReleaseGivesUpWithoutClosing)
{
  int raw = -1;
  {
    spmi::UniqueFd fd(open_null());
    raw = fd.release();
    EXPECT_FALSE(fd);
  }
  EXPECT_TRUE(is_open(raw));
  ::close(raw);
}

TEST(UniqueFd, ResetClosesAndKeepsErrno)
{
  spmi::UniqueFd fd(open_null());
  const int raw = fd.get();
  errno = ENOENT;
  fd.reset(open_null());
  EXPECT_EQ(errno, ENOENT);  // an error path can drop a descriptor and still report its error
  EXPECT_FALSE(is_open(raw));
  const int second = fd.get();
  EXPECT_TRUE(is_open(second));
  fd.reset();
  EXPECT_FALSE(fd);
  EXPECT_FALSE(is_open(second));
}

TEST(UniqueFd, CloseReportsTheResult)
{
  spmi::UniqueFd fd(open_null());
  const int raw = fd.get();
  EXPECT_TRUE(fd.close());
  EXPECT_FALSE(fd);
  EXPECT_FALSE(is_open(raw));
  EXPECT_TRUE(fd.close());  // nothing owned: nothing to fail
}

} // namespace

// SPDX-License-Identifier: MIT
// The one /proc reader (core/src/proc_scan.cpp): stat lines whose command names hold spaces and
// parentheses, zombies, environments, command lines and the pid list, on a fake /proc; and the same
// functions on the real /proc for this process.
#include "../../core/src/proc_scan.hpp"

#include <spmi/process.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;
namespace detail = spmi::process::detail;
using testing::ElementsAre;
using testing::UnorderedElementsAre;

// A stat line for `pid` with the command name `comm` and state `state`; ppid 1, pgrp 20, session 30,
// utime 7, stime 5, starttime 4242, rss 99.
std::string
stat_line(int pid, const std::string& comm, char state = 'S')
{
  return std::to_string(pid) + " (" + comm + ") " + state +
         " 1 20 30 0 -1 4194560 100 0 0 0 7 5 0 0 20 0 1 0 4242 1000000 99 18446744073709551615 1 1 0 0 0 0 0\n";
}

class ProcScan : public testing::Test
{
protected:
  void SetUp() override
  {
    m_root = fs::temp_directory_path() / ("spmi-proc-scan-" + std::to_string(::getpid()));
    fs::remove_all(m_root);
    fs::create_directories(m_root);
  }
  void TearDown() override { fs::remove_all(m_root); }

  void write(int pid, const std::string& name, const std::string& text) const
  {
    fs::create_directories(m_root / std::to_string(pid));
    std::ofstream(m_root / std::to_string(pid) / name) << text;
  }
  std::string root() const { return m_root.string(); }

  fs::path m_root;
};

// The command name may hold anything a process calls itself: spaces, ") S 1 2 3", newlines.
TEST(ParseStat, ReadsTheFieldsAfterTheLastParenthesis)
{
  for (const std::string comm : {"sh", "my prog", "evil) Z 9 9 9 (", "a)b", "(x)", "two\nlines"}) {
    const auto info = detail::parse_stat(77, stat_line(77, comm));
    ASSERT_TRUE(info) << comm;
    EXPECT_EQ(info->pid, 77);
    EXPECT_EQ(info->state, 'S') << comm;
    EXPECT_EQ(info->ppid, 1) << comm;
    EXPECT_EQ(info->pgrp, 20);
    EXPECT_EQ(info->session, 30);
    EXPECT_EQ(info->cpu_ticks, 12u);
    EXPECT_EQ(info->start_ticks, 4242u);
    EXPECT_EQ(info->rss_pages, 99);
    EXPECT_FALSE(info->ended());
  }
  EXPECT_TRUE(detail::parse_stat(1, stat_line(1, "z", 'Z'))->ended());
  EXPECT_TRUE(detail::parse_stat(1, stat_line(1, "x", 'X'))->ended());
  EXPECT_FALSE(detail::parse_stat(1, "1 (no closing parenthesis S 1 2 3"));
  EXPECT_FALSE(detail::parse_stat(1, "1 (cut short) S 1 2"));
  EXPECT_FALSE(detail::parse_stat(1, ""));
}

TEST_F(ProcScan, StatZombiesAndThePidList)
{
  write(10, "stat", stat_line(10, "live one"));
  write(11, "stat", stat_line(11, "zombie) R", 'Z'));
  write(12, "environ", "");  // gone meanwhile: no stat
  fs::create_directories(m_root / "self");
  fs::create_directories(m_root / "sys");
  std::ofstream(m_root / "uptime") << "1.0 2.0\n";
  EXPECT_THAT(detail::list_pids(root()), UnorderedElementsAre(10, 11, 12));
  EXPECT_TRUE(detail::read_proc(10, root()));
  EXPECT_FALSE(detail::read_proc(11, root()));  // a zombie does not live
  ASSERT_TRUE(detail::read_stat(11, root()));   // ... but has a stat
  EXPECT_EQ(detail::read_stat(11, root())->state, 'Z');
  EXPECT_FALSE(detail::read_stat(12, root()));
  EXPECT_FALSE(detail::read_stat(0, root()));
  const auto scan = detail::scan_proc(root());
  ASSERT_EQ(scan.size(), 1u);
  EXPECT_EQ(scan.begin()->first, 10);
}

TEST_F(ProcScan, EnvironmentAndCommandLine)
{
  constexpr char environ[] = "A=1\0SPMI_RUN_TOKEN=abc\0B=x=y\0EMPTY=";
  constexpr char cmdline[] = "/bin/sh\0-c\0sleep 5\0";
  write(10, "environ", std::string(environ, sizeof(environ) - 1));
  write(10, "cmdline", std::string(cmdline, sizeof(cmdline) - 1));
  EXPECT_EQ(detail::environ_value(10, "SPMI_RUN_TOKEN=", root()), "abc");
  EXPECT_EQ(detail::environ_value(10, "B=", root()), "x=y");
  EXPECT_EQ(detail::environ_value(10, "EMPTY=", root()), "");
  EXPECT_FALSE(detail::environ_value(10, "C=", root()));
  EXPECT_FALSE(detail::environ_value(11, "A=", root()));
  EXPECT_TRUE(detail::has_environ_entry(10, "SPMI_RUN_TOKEN=abc", root()));
  EXPECT_FALSE(detail::has_environ_entry(10, "SPMI_RUN_TOKEN=ab", root()));
  EXPECT_FALSE(detail::has_environ_entry(10, "SPMI_RUN_TOKEN", root()));
  EXPECT_EQ(detail::read_cmdline(10, root()), "/bin/sh -c sleep 5");
  EXPECT_FALSE(detail::read_cmdline(11, root()));
}

// The same functions on the real /proc, for this process.
TEST(ProcScanReal, ThisProcess)
{
  const pid_t self = ::getpid();
  const auto info = detail::read_proc(self);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->ppid, ::getppid());
  EXPECT_EQ(info->pgrp, ::getpgrp());
  const auto pids = detail::list_pids();
  EXPECT_NE(std::find(pids.begin(), pids.end(), self), pids.end());
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const auto fds = detail::list_fds(self);
  ASSERT_TRUE(fds);
  EXPECT_NE(std::find(fds->begin(), fds->end(), fd), fds->end());
  ::close(fd);
  EXPECT_TRUE(detail::read_cmdline(self));
}

} // namespace

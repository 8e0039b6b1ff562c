// SPDX-License-Identifier: MIT
// TaskGroup's membership rules (fallback) on a fake /proc, the cgroup probe's knobs, and a real group
// of real processes in each mode this machine offers.
#include <spmi/membership.hpp>
#include <spmi/process.hpp>

#include "../../core/src/cgroup.hpp"
#include "../../core/src/proc_scan.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace process = spmi::process;
namespace detail = spmi::process::detail;
using namespace std::chrono_literals;
using testing::ElementsAre;
using testing::HasSubstr;

// A process in a fake /proc: its stat line (pid, ppid, pgrp, session) and environment.
void
fake(const fs::path& root, int pid, int ppid, int pgrp, int session, const std::string& environ = "", char state = 'S')
{
  fs::create_directories(root / std::to_string(pid));
  std::ofstream(root / std::to_string(pid) / "stat")
    << pid << " (p) " << state << " " << ppid << " " << pgrp << " " << session
    << " 0 -1 4194560 100 0 0 0 1 1 0 0 20 0 1 0 100 1000000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1\n";
  std::ofstream(root / std::to_string(pid) / "environ") << environ;
}

std::string
env(const std::string& entry)
{
  return entry + '\0';
}

class FakeProc : public testing::Test
{
protected:
  void SetUp() override
  {
    m_root = fs::temp_directory_path() / ("spmi-membership-" + std::to_string(::getpid()));
    fs::remove_all(m_root);
    fs::create_directories(m_root);
  }
  void TearDown() override { fs::remove_all(m_root); }

  std::vector<pid_t> members(const detail::GroupSpec& spec) const
  {
    const auto procs = detail::scan_proc(m_root.string());
    return detail::group_members(spec, procs, detail::children_of(procs), m_root.string());
  }

  fs::path m_root;
};

// Everything below the wrapper counts, whatever its environment or session: an `env -i` child, a
// setsid daemon without the marker. Not the watchdog, not a zombie, not what carries another run's
// marker (another wrapper started from inside the task, and its task).
TEST_F(FakeProc, FallbackCountsTheWholeSubtreeButOtherRuns)
{
  fake(m_root, 100, 1, 100, 100);                                   // wrapper
  fake(m_root, 101, 100, 101, 101, env("SPMI_RUN_TOKEN=abc"));      // main
  fake(m_root, 102, 101, 101, 101);                                 // env -i child
  fake(m_root, 103, 100, 103, 103);                                 // setsid daemon, reparented
  fake(m_root, 104, 100, 104, 104, env("SPMI_RUN_TOKEN=abc"));      // watchdog
  fake(m_root, 105, 100, 105, 105, env("SPMI_WRAPPER_TOKEN=zzz"));  // another run's wrapper
  fake(m_root, 106, 105, 106, 106, env("SPMI_RUN_TOKEN=zzz"));      // ... and its task
  fake(m_root, 107, 101, 101, 101, "", 'Z');                        // a zombie
  fake(m_root, 200, 1, 200, 200);                                   // unrelated
  EXPECT_THAT(members({"", "abc", 100, 104, 101, false}), ElementsAre(101, 102, 103));
}

// The main process's session and group count even outside the wrapper's tree (a subreaper that could
// not be set up); the marker counts only once the wrapper is gone (include_marked).
TEST_F(FakeProc, SessionGroupAndMarker)
{
  fake(m_root, 101, 1, 101, 101);                              // main, its wrapper gone
  fake(m_root, 102, 1, 102, 101);                              // its session
  fake(m_root, 103, 1, 101, 103);                              // its process group
  fake(m_root, 104, 1, 104, 104, env("SPMI_RUN_TOKEN=abc"));   // escaped, still marked
  fake(m_root, 105, 1, 105, 105, env("SPMI_RUN_TOKEN=abcd"));  // another run's marker
  EXPECT_THAT(members({"", "abc", 0, 0, 101, false}), ElementsAre(101, 102, 103));
  EXPECT_THAT(members({"", "abc", 0, 0, 101, true}), ElementsAre(101, 102, 103, 104));
}

TEST(Cgroup, EscapesNamesThatLookLikeInterfaceFiles)
{
  EXPECT_EQ(process::cgroup::escape("web-123-4"), "web-123-4");
  EXPECT_EQ(process::cgroup::escape("cgroup.procs"), "_cgroup_procs");
  EXPECT_EQ(process::cgroup::escape("memory.max-1"), "_memory_max-1");
  EXPECT_EQ(process::cgroup::escape("_x"), "__x");
}

// max_memory's measure in a cgroup: memory.current less the page cache (memory.stat's file), which the
// kernel reclaims; a cgroup without the memory controller has none (the caller sums RSS instead).
TEST(Cgroup, MemoryLessItsPageCache)
{
  const fs::path dir = fs::temp_directory_path() / ("spmi-memory-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  EXPECT_EQ(process::cgroup::unreclaimable_memory_bytes(dir), std::nullopt);
  std::ofstream(dir / "memory.current") << "73400320\n";
  EXPECT_EQ(process::cgroup::unreclaimable_memory_bytes(dir), 73400320u);  // no memory.stat: all of it
  std::ofstream(dir / "memory.stat") << "anon 52428800\nfile 20971520\nkernel 0\n";
  EXPECT_EQ(process::cgroup::unreclaimable_memory_bytes(dir), 52428800u);
  std::ofstream(dir / "memory.stat") << "anon 1\nfile_mapped 5\nfile 9999999999\n";
  EXPECT_EQ(process::cgroup::unreclaimable_memory_bytes(dir), 0u);  // never below zero
  // A recorded group in that cgroup measures it the same way.
  const process::TaskGroup group(dir, "tok", 0, 0, 0);
  EXPECT_EQ(group.memory_bytes(), 0u);
  fs::remove_all(dir);
}

TEST(Cgroup, ProbeKnobs)
{
  ::setenv("SPMI_MEMBERSHIP", "fallback", 1);
  auto probe = process::probe_cgroup();
  EXPECT_TRUE(probe.base.empty());
  EXPECT_EQ(probe.note, "SPMI_MEMBERSHIP=fallback is set");
  ::unsetenv("SPMI_MEMBERSHIP");
  ::setenv("SPMI_CGROUP_BASE", "relative/path", 1);
  probe = process::probe_cgroup();
  EXPECT_TRUE(probe.base.empty());
  EXPECT_THAT(probe.note, HasSubstr("is not an absolute path"));
  ::setenv("SPMI_CGROUP_BASE", "/tmp/not-a-cgroup", 1);
  probe = process::probe_cgroup();
  EXPECT_TRUE(probe.base.empty());
  EXPECT_THAT(probe.note, HasSubstr("is not in a cgroup v2 hierarchy"));
  ::unsetenv("SPMI_CGROUP_BASE");
}

// A real group: a task started into it, with a child that changes session and drops its environment,
// is counted whole and killed whole; in cgroup mode the run's directories go away afterwards.
void
run_real_group(bool fallback)
{
  if (fallback) {
    ::setenv("SPMI_MEMBERSHIP", "fallback", 1);
  }
  const pid_t wrapper = ::fork();
  ASSERT_GE(wrapper, 0);
  if (wrapper == 0) {
    // The wrapper's part, in a child of the test (it moves itself into the run's cgroup).
    process::become_subreaper();
    auto group = process::TaskGroup::create("unit-test-" + std::to_string(::getpid()), "tok");
    process::SpawnOptions task;
    task.argv = {"/bin/sh", "-c", "setsid env -i sleep 600 & sleep 600"};
    task.new_session = true;
    task.cgroup_procs_fd = group.procs_fd();
    task.cgroup_dir_fd = group.task_dir_fd();
    group.set_main(process::spawn(task));
    if (!group.join().empty()) {
      ::_exit(4);
    }
    const bool counted = process::wait_until([&] { return group.members().size() == 3; }, 5s);
    const bool killed = group.kill(5s);
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    const auto cgroup = group.cgroup();
    group.remove();
    ::_exit(!counted ? 1 : !killed ? 2 : (!cgroup.empty() && fs::exists(cgroup)) ? 3 : 0);
  }
  int status = 0;
  ::waitpid(wrapper, &status, 0);
  ::unsetenv("SPMI_MEMBERSHIP");
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: not all counted, 2: not all killed, 3: cgroup left behind, 4: no join";
}

TEST(TaskGroup, RealGroupFallback)
{
  run_real_group(true);
}

TEST(TaskGroup, RealGroupCgroupWhereWritable)
{
  if (process::probe_cgroup().base.empty()) {
    GTEST_SKIP() << process::probe_cgroup().note;
  }
  run_real_group(false);
}

// A task started again into its cgroup after the cgroup was killed (a restart) runs and is a member:
// a kernel that SIGKILLs a child cloned into such a cgroup (6.18 here) makes spawn() fork and move it.
TEST(TaskGroup, SpawnsAgainIntoAKilledCgroup)
{
  if (process::probe_cgroup().base.empty()) {
    GTEST_SKIP() << process::probe_cgroup().note;
  }
  const pid_t wrapper = ::fork();
  ASSERT_GE(wrapper, 0);
  if (wrapper == 0) {
    process::become_subreaper();
    auto group = process::TaskGroup::create("unit-test-again-" + std::to_string(::getpid()), "tok");
    process::SpawnOptions task;
    task.argv = {"/bin/sleep", "600"};
    task.cgroup_procs_fd = group.procs_fd();
    task.cgroup_dir_fd = group.task_dir_fd();
    int code = 0;
    for (int attempt = 1; attempt <= 2 && code == 0; ++attempt) {
      const pid_t pid = process::spawn(task);
      group.set_main(pid);
      const bool member = process::wait_until([&] { return group.members() == std::vector<pid_t>{pid}; }, 5s);
      std::this_thread::sleep_for(100ms);
      const bool alive = ::waitpid(pid, nullptr, WNOHANG) == 0;
      const bool killed = group.kill(5s);
      while (::waitpid(-1, nullptr, WNOHANG) > 0) {
      }
      code = !member ? 10 * attempt + 1 : !alive ? 10 * attempt + 2 : !killed ? 10 * attempt + 3 : 0;
    }
    group.remove();
    ::_exit(code);
  }
  int status = 0;
  ::waitpid(wrapper, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "attempt*10 + 1: not a member, 2: died at once, 3: not killed";
}

// The cgroup a process is in, as /proc/PID/cgroup's cgroup v2 line says ("/spmi/x"); empty if none.
std::string
cgroup_of(pid_t pid)
{
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("0::", 0) == 0) {
      return line.substr(3);
    }
  }
  return {};
}

// fork_into_cgroup() says where its child started: in the cgroup (placed), or, where the kernel would
// not (no CLONE_INTO_CGROUP; a cgroup once written cgroup.kill, whose clones this kernel kills at
// birth), a live forked child where its parent is.
TEST(ForkIntoCgroup, SaysWhereItsChildStarted)
{
  const auto probe = process::probe_cgroup();
  if (probe.base.empty()) {
    GTEST_SKIP() << probe.note;
  }
  const auto name = "unit-test-fork-into-" + std::to_string(::getpid());
  const auto dir = probe.base / name;
  fs::create_directories(dir);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  const std::string ours = cgroup_of(::getpid());
  for (const bool killed : {false, true}) {
    if (killed) {
      std::ofstream(dir / "cgroup.kill") << "1";
    }
    const auto [pid, placed] = process::fork_into_cgroup(fd);
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::pause();
      ::_exit(0);
    }
    std::this_thread::sleep_for(50ms);
    const bool alive = ::waitpid(pid, nullptr, WNOHANG) == 0;
    const std::string where = cgroup_of(pid);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    EXPECT_TRUE(alive) << "killed: " << killed;
    if (placed) {
      EXPECT_EQ(where.substr(where.rfind('/') + 1), name) << "killed: " << killed;
    } else {
      EXPECT_EQ(where, ours) << "killed: " << killed;
    }
    if (!killed) {
      EXPECT_TRUE(placed) << "a fresh cgroup: CLONE_INTO_CGROUP (Linux 5.7) places the child";
    }
  }
  ::close(fd);
  ::rmdir(dir.c_str());
}

} // namespace

// SPDX-License-Identifier: MIT
// Acting on what a run record names: a wrapper is signalled only while it is verifiably the wrapper
// (start time, boot, alive lock), and only the run's own cgroup is trusted.
#include <spmi/errors.hpp>
#include <spmi/process.hpp>
#include <spmi/recorded.hpp>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;
namespace process = spmi::process;
using spmi::ManageableDir;
using spmi::RunRecord;
using testing::HasSubstr;

// What a child does with `alive` before it waits to be killed.
enum class Alive { lock, open_only, none };

class RecordedTest : public testing::Test
{
protected:
  void SetUp() override
  {
    char pattern[] = "/tmp/spmi-recorded-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    m_root = pattern;
    fs::create_directory(m_root / "web");
  }
  void TearDown() override
  {
    for (pid_t pid : m_children) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    fs::remove_all(m_root);
  }

  ManageableDir dir() const { return ManageableDir(m_root / "web"); }

  // A child that does `what` with web/alive, then waits; returns once it has done it.
  pid_t child(Alive what)
  {
    int ready[2];
    EXPECT_EQ(::pipe(ready), 0);
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(ready[0]);
      if (what != Alive::none) {
        const int fd = ::open((m_root / "web" / "alive").c_str(), O_RDWR | O_CREAT, 0600);
        struct flock request {};
        request.l_type = F_WRLCK;
        request.l_whence = SEEK_SET;
        if (fd < 0 || (what == Alive::lock && ::fcntl(fd, F_OFD_SETLK, &request) != 0)) {
          ::_exit(1);
        }
      }
      [[maybe_unused]] auto n = ::write(ready[1], "x", 1);
      while (true) {
        ::pause();
      }
    }
    ::close(ready[1]);
    char byte = 0;
    EXPECT_EQ(::read(ready[0], &byte, 1), 1);
    ::close(ready[0]);
    m_children.push_back(pid);
    return pid;
  }

  // The record a wrapper `pid` would write.
  static RunRecord record_of(pid_t pid)
  {
    RunRecord run;
    run.token = "1-2";
    run.wrapper_pid = pid;
    run.wrapper_start_time = process::start_time(pid).value_or(0);
    run.boot_id = process::boot_id();
    return run;
  }

  // True when `pid` still runs (not a zombie).
  static bool alive(pid_t pid) { return ::waitpid(pid, nullptr, WNOHANG) == 0; }

  fs::path m_root;
  std::vector<pid_t> m_children;
};

TEST_F(RecordedTest, StartTimeIsField22OfStat)
{
  std::ifstream stat("/proc/self/stat");
  std::string line;
  std::getline(stat, line);
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    fields >> field;
  }
  EXPECT_EQ(process::start_time(::getpid()), std::stoull(field));
  EXPECT_EQ(process::start_time(0), std::nullopt);
  EXPECT_EQ(process::start_time(4194304 + 1), std::nullopt);  // above pid_max
}

TEST_F(RecordedTest, SignalsTheWrapperThatHoldsTheLock)
{
  const pid_t pid = child(Alive::lock);
  const auto run = record_of(pid);
  EXPECT_EQ(process::wrapper_problem(dir(), run), "");
  EXPECT_TRUE(process::signal_wrapper(dir(), run, SIGTERM));
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  m_children.clear();
  EXPECT_FALSE(process::signal_wrapper(dir(), run, SIGTERM));  // gone: nothing there
}

// Each way a record can name a process that is not the wrapper: refused, and the process lives on.
void
expect_refused(const ManageableDir& dir, const RunRecord& run, const std::string& why)
{
  EXPECT_THAT(process::wrapper_problem(dir, run), HasSubstr(why));
  try {
    process::signal_wrapper(dir, run, SIGKILL);
    ADD_FAILURE() << "signal_wrapper did not refuse (" << why << ")";
  } catch (const spmi::StateError& e) {
    EXPECT_THAT(e.what(), HasSubstr(fmt::format("names pid {} as its wrapper", run.wrapper_pid)));
    EXPECT_THAT(e.what(), HasSubstr("not the wrapper any more"));
    EXPECT_THAT(e.what(), HasSubstr(why));
    EXPECT_THAT(e.what(), HasSubstr("nothing was signalled"));
  }
}

TEST_F(RecordedTest, RefusesARecordWithoutStartTime)
{
  const pid_t pid = child(Alive::lock);
  auto run = record_of(pid);
  run.wrapper_start_time = 0;  // an older wrapper's record
  expect_refused(dir(), run, "records no start time");
  EXPECT_TRUE(alive(pid));
}

TEST_F(RecordedTest, RefusesAnotherStartTime)
{
  const pid_t pid = child(Alive::lock);
  auto run = record_of(pid);
  run.wrapper_start_time += 1;  // the pid was reused
  expect_refused(dir(), run, "the pid belongs to another process");
  EXPECT_TRUE(alive(pid));
}

TEST_F(RecordedTest, RefusesARecordOfAnotherBoot)
{
  const pid_t pid = child(Alive::lock);
  auto run = record_of(pid);
  run.boot_id = "00000000-0000-0000-0000-000000000000";
  expect_refused(dir(), run, "another boot");
  run.boot_id.clear();
  expect_refused(dir(), run, "another boot");
  EXPECT_TRUE(alive(pid));
}

TEST_F(RecordedTest, RefusesAProcessThatDoesNotHoldTheLock)
{
  child(Alive::lock);  // someone else holds it
  const pid_t unrelated = child(Alive::none);
  expect_refused(dir(), record_of(unrelated), "does not have");
  const pid_t reader = child(Alive::open_only);
  expect_refused(dir(), record_of(reader), "does not hold its lock");
  EXPECT_TRUE(alive(unrelated));
  EXPECT_TRUE(alive(reader));
}

TEST_F(RecordedTest, RefusesWhenNothingHoldsTheLock)
{
  const pid_t pid = child(Alive::open_only);
  expect_refused(dir(), record_of(pid), "nothing holds the lock");
  EXPECT_TRUE(alive(pid));
}

TEST_F(RecordedTest, RefusesInitAndNoPid)
{
  RunRecord run = record_of(1);
  expect_refused(dir(), run, "no valid wrapper pid");
  run.wrapper_pid = 0;
  expect_refused(dir(), run, "no valid wrapper pid");
}

TEST_F(RecordedTest, TrustsOnlyTheRunsOwnCgroup)
{
  RunRecord run;
  run.token = "100-7";
  std::string why;
  EXPECT_EQ(process::trusted_cgroup("web", run, &why), fs::path());  // fallback: none recorded
  EXPECT_EQ(why, "");
  for (const std::string planted : {"/sys/fs/cgroup/system.slice", "/sys/fs/cgroup/unified/spmi/db-100-7/task",
                                    "sys/fs/cgroup/spmi/web-100-7/task", "/sys/fs/cgroup/spmi/web-100-7/task/..",
                                    "/sys/fs/cgroup/spmi/../web-100-7/task", "/sys/fs/cgroup/spmi/web-100-7/task/",
                                    "/sys/fs/cgroup/spmi/web-100-8/task", "/sys/fs/cgroup/spmi/web-100-7"}) {
    run.cgroup = planted;
    why.clear();
    EXPECT_EQ(process::trusted_cgroup("web", run, &why), fs::path()) << planted;
    EXPECT_THAT(why, HasSubstr("is not trusted")) << planted;
  }
  // Named for the run but not a cgroup of this user's: a plain directory.
  fs::create_directories(m_root / "web-100-7" / "task");
  run.cgroup = (m_root / "web-100-7" / "task").string();
  why.clear();
  EXPECT_EQ(process::trusted_cgroup("web", run, &why), fs::path());
  EXPECT_THAT(why, HasSubstr("is not a cgroup v2 directory"));
  // Named for the run and gone (its wrapper removed it): nothing can be read from it.
  run.cgroup = (m_root / "gone" / "web-100-7" / "task").string();
  EXPECT_EQ(process::trusted_cgroup("web", run), fs::path(run.cgroup));
  // IDs with '.' are escaped as the wrapper names them.
  run.cgroup = (m_root / "gone" / "_a_b-100-7" / "task").string();
  EXPECT_EQ(process::trusted_cgroup("a.b", run), fs::path(run.cgroup));
}

TEST_F(RecordedTest, TrustsTheRunsCgroupUnderTheBase)
{
  const auto base = process::probe_cgroup().base;
  if (base.empty()) {
    GTEST_SKIP() << "no cgroup base here";
  }
  RunRecord run;
  run.token = "100-7";
  run.cgroup = (base / "web-100-7" / "task").string();
  std::string why;
  EXPECT_EQ(process::trusted_cgroup("web", run, &why), fs::path(run.cgroup));
  EXPECT_EQ(why, "");
  run.cgroup = (base / "db-100-7" / "task").string();
  EXPECT_EQ(process::trusted_cgroup("web", run, &why), fs::path());
  EXPECT_THAT(why, HasSubstr("web-100-7"));
}

} // namespace

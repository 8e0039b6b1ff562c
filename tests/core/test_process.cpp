// SPDX-License-Identifier: MIT
// The process module: spawn, wait, sessions, signals and PATH lookup.
#include <spmi/errors.hpp>
#include <spmi/process.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;
namespace process = spmi::process;
using namespace std::chrono_literals;
using testing::HasSubstr;
using testing::ThrowsMessage;

pid_t
spawn(std::vector<std::string> argv, bool new_session = false)
{
  process::SpawnOptions options;
  options.argv = std::move(argv);
  options.new_session = new_session;
  return process::spawn(options);
}

class ProcessTest : public testing::Test
{
protected:
  void SetUp() override
  {
    std::string pattern = (fs::temp_directory_path() / "spmi-test-process-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    m_dir = pattern;
  }

  void TearDown() override
  {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }

  fs::path m_dir;
};

// wait reports the child's exit code.
TEST_F(ProcessTest, ExitCode)
{
  const auto status = process::wait(spawn({"/bin/sh", "-c", "exit 3"}));
  EXPECT_EQ(status.code, 3);
  EXPECT_EQ(status.signal, 0);
  EXPECT_EQ(status.shell_code(), 3);
}

// A program without '/' is looked up in PATH.
TEST_F(ProcessTest, LooksUpPath)
{
  EXPECT_EQ(process::wait(spawn({"sh", "-c", "exit 0"})).code, 0);
}

// A child killed by SIGTERM reports signal 15 and the shell's 143.
TEST_F(ProcessTest, KilledBySignal)
{
  const auto status = process::wait(spawn({"/bin/sh", "-c", "kill -TERM $$; sleep 5"}));
  EXPECT_EQ(status.signal, SIGTERM);
  EXPECT_EQ(status.code, 0);
  EXPECT_EQ(status.shell_code(), 143);
}

// decode_wait_status decodes both exits and signals.
TEST(DecodeWaitStatus, ExitAndSignal)
{
  EXPECT_EQ(process::decode_wait_status(7 << 8).code, 7);
  EXPECT_EQ(process::decode_wait_status(SIGKILL).signal, SIGKILL);
  EXPECT_EQ(process::decode_wait_status(SIGKILL).shell_code(), 137);
}

// A missing program is a SystemError naming it, both via PATH and by path.
TEST_F(ProcessTest, MissingProgram)
{
  EXPECT_THAT([] { spawn({"spmi-no-such-program"}); },
              ThrowsMessage<spmi::SystemError>(HasSubstr("spmi-no-such-program")));
  const auto missing = (m_dir / "absent").string();
  EXPECT_THAT([&] { spawn({missing}); }, ThrowsMessage<spmi::SystemError>(HasSubstr(missing)));
  EXPECT_THROW(spawn({}), spmi::SystemError);
}

// The child's descriptors 0-2 go where asked, and its working directory is set.
TEST_F(ProcessTest, RedirectsOutputAndCwd)
{
  const auto out_path = m_dir / "out";
  const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(out, 0);
  process::SpawnOptions options;
  options.argv = {"/bin/sh", "-c", "pwd; echo err >&2; read line || echo eof"};
  options.stdout_fd = out;
  options.stderr_fd = out;
  options.cwd = m_dir;
  const auto pid = process::spawn(options);
  ::close(out);
  EXPECT_EQ(process::wait(pid).code, 0);
  std::ifstream in(out_path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, m_dir.string() + "\nerr\neof\n");  // stdin is /dev/null
}

// No descriptor beyond 0-2 leaks into the child.
TEST_F(ProcessTest, NoInheritedDescriptors)
{
  const int leaked = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(leaked, 3);
  const auto status = process::wait(spawn({"/bin/sh", "-c", "test ! -e /proc/self/fd/" + std::to_string(leaked)}));
  ::close(leaked);
  EXPECT_EQ(status.code, 0);
}

// A new_session child leads its own session and process group; signal_group reaches it.
TEST_F(ProcessTest, NewSessionAndSignalGroup)
{
  const auto pid = spawn({"/bin/sh", "-c", "sleep 30 & wait"}, true);
  EXPECT_EQ(::getpgid(pid), pid);
  EXPECT_EQ(::getsid(pid), pid);
  EXPECT_NE(::getpgid(pid), ::getpgrp());
  EXPECT_TRUE(process::is_running(pid));
  EXPECT_TRUE(process::signal_group(pid, SIGTERM));
  const auto status = process::wait(pid);
  EXPECT_EQ(status.signal, SIGTERM);
  EXPECT_EQ(status.shell_code(), 143);
}

// A child without new_session stays in our process group.
TEST_F(ProcessTest, DefaultKeepsProcessGroup)
{
  const auto pid = spawn({"/bin/sh", "-c", "exit 0"});
  EXPECT_EQ(::getpgid(pid), ::getpgrp());
  process::wait(pid);
}

// signal_group refuses pgid 0, 1 and negative ones, and reports a group that does not exist.
TEST(SignalGroup, RefusesDangerousGroups)
{
  EXPECT_FALSE(process::signal_group(0, 0));
  EXPECT_FALSE(process::signal_group(1, 0));
  EXPECT_FALSE(process::signal_group(-1, 0));
  const auto pid = spawn({"/bin/sh", "-c", "exit 0"}, true);
  process::wait(pid);
  EXPECT_FALSE(process::signal_group(pid, 0));
}

// try_wait is nullopt while the child runs and its status afterwards.
TEST_F(ProcessTest, TryWait)
{
  const auto pid = spawn({"/bin/sh", "-c", "read line"}, true);  // stdin is /dev/null: ends at once
  std::optional<process::ExitStatus> status;
  EXPECT_TRUE(process::wait_until([&] { return (status = process::try_wait(pid)).has_value(); }, 5000ms));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code, 1);

  const auto sleeper = spawn({"/bin/sh", "-c", "sleep 30"}, true);
  EXPECT_EQ(process::try_wait(sleeper), std::nullopt);
  process::signal_group(sleeper, SIGKILL);
  EXPECT_EQ(process::wait(sleeper).signal, SIGKILL);
}

// wait of a pid that is not our child is a SystemError.
TEST(Wait, NotAChild)
{
  EXPECT_THROW(process::wait(1), spmi::SystemError);
}

// is_running is false for a zombie that has not been reaped yet.
TEST_F(ProcessTest, ZombieIsNotRunning)
{
  EXPECT_TRUE(process::is_running(::getpid()));
  const auto pid = spawn({"/bin/sh", "-c", "exit 0"});
  EXPECT_TRUE(process::wait_until([&] { return !process::is_running(pid); }, 5000ms));
  // Still a zombie: the wait below reaps it.
  EXPECT_EQ(::kill(pid, 0), 0);
  EXPECT_EQ(process::wait(pid).code, 0);
  EXPECT_FALSE(process::is_running(pid));
}

// is_running is false for pids that name no single process, whatever errno held before.
TEST(IsRunning, NonPositivePids)
{
  errno = EPERM;
  EXPECT_FALSE(process::is_running(0));
  errno = EPERM;
  EXPECT_FALSE(process::is_running(-1));
}

// parse_signal accepts names with or without SIG, any case, and numbers.
TEST(ParseSignal, NamesAndNumbers)
{
  EXPECT_EQ(process::parse_signal("INT"), SIGINT);
  EXPECT_EQ(process::parse_signal("int"), SIGINT);
  EXPECT_EQ(process::parse_signal("SIGTERM"), SIGTERM);
  EXPECT_EQ(process::parse_signal("sigkill"), SIGKILL);
  EXPECT_EQ(process::parse_signal("9"), 9);
  EXPECT_EQ(process::parse_signal("15"), SIGTERM);
}

// parse_signal gives nullopt for unknown names and out-of-range numbers.
TEST(ParseSignal, Unknown)
{
  EXPECT_EQ(process::parse_signal("bogus"), std::nullopt);
  EXPECT_EQ(process::parse_signal(""), std::nullopt);
  EXPECT_EQ(process::parse_signal("SIG"), std::nullopt);
  EXPECT_EQ(process::parse_signal("0"), std::nullopt);
  EXPECT_EQ(process::parse_signal("100000"), std::nullopt);
  EXPECT_EQ(process::parse_signal("-9"), std::nullopt);
}

// parse_signal gives nullopt for numbers too large for an int instead of throwing.
TEST(ParseSignal, HugeNumber)
{
  EXPECT_EQ(process::parse_signal("99999999999"), std::nullopt);
}

// signal_name names known signals and numbers the rest.
TEST(SignalName, KnownAndUnknown)
{
  EXPECT_EQ(process::signal_name(2), "SIGINT");
  EXPECT_EQ(process::signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(process::signal_name(SIGKILL), "SIGKILL");
  EXPECT_EQ(process::signal_name(77), "signal 77");
  for (const char* name : {"SIGHUP", "SIGINT", "SIGQUIT", "SIGKILL", "SIGUSR1", "SIGTERM", "SIGCONT"}) {
    EXPECT_EQ(process::signal_name(*process::parse_signal(name)), name);
  }
}

// find_in_path finds sh as an absolute executable, and nothing for a missing name.
TEST(FindInPath, FindsShell)
{
  const auto sh = process::find_in_path("sh");
  ASSERT_TRUE(sh.has_value());
  EXPECT_TRUE(sh->is_absolute()) << *sh;
  EXPECT_EQ(sh->filename(), "sh");
  EXPECT_EQ(::access(sh->c_str(), X_OK), 0);
  EXPECT_EQ(process::find_in_path("spmi-no-such-program"), std::nullopt);
}

// self_exe is this test binary.
TEST(SelfExe, IsThisBinary)
{
  EXPECT_EQ(process::self_exe().filename(), "spmi_core_tests");
}

// wait_until returns as soon as the predicate holds, and false after the timeout.
TEST(WaitUntil, TrueAndTimeout)
{
  int calls = 0;
  EXPECT_TRUE(process::wait_until([&] { return ++calls >= 3; }, 1000ms));
  EXPECT_EQ(calls, 3);
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_FALSE(process::wait_until([] { return false; }, 50ms));
  EXPECT_GE(std::chrono::steady_clock::now() - begin, 50ms);
}

} // namespace

// tree_usage reads a /proc-like directory: a fake one pins down the parsing and the tree walk.
namespace {

void
fake_process(const fs::path& root, int pid, int ppid, const std::string& comm, unsigned long utime, unsigned long stime,
             unsigned long long start_ticks, long rss_pages, const std::string& environ = "", char state = 'S')
{
  fs::create_directories(root / std::to_string(pid));
  std::ofstream(root / std::to_string(pid) / "stat")
    << pid << " (" << comm << ") " << state << " " << ppid << " " << pid << " " << pid
    << " 0 -1 4194560 100 0 0 0 " << utime << " " << stime << " 0 0 20 0 1 0 " << start_ticks << " 1000000 "
    << rss_pages << " 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  std::ofstream(root / std::to_string(pid) / "environ") << environ;
}

} // namespace

TEST(TreeUsage, SumsEachRootsDescendantsFromAFakeProc)
{
  const fs::path root = fs::temp_directory_path() / ("spmi-fake-proc-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  std::ofstream(root / "uptime") << "1000.00 3000.00\n";
  const std::string marker = std::string("SPMI_RUN_TOKEN=abc") + '\0';
  // Wrapper 100: its task 101 (with a child 102 whose name has spaces and parentheses) and its watchdog
  // 103; an orphan 104 reparented to the wrapper, with the marker; a zombie 105; 106, below the wrapper
  // but another run's (its marker differs), with its child 107.
  fake_process(root, 100, 1, "spmi", 5, 5, static_cast<unsigned long long>(900 * hz), 1000);
  fake_process(root, 101, 100, "sh", static_cast<unsigned long>(10 * hz), static_cast<unsigned long>(10 * hz),
               static_cast<unsigned long long>(900 * hz), 200, std::string("A=1\0", 4) + marker);
  fake_process(root, 102, 101, "a b) (c", static_cast<unsigned long>(5 * hz), 0,
               static_cast<unsigned long long>(990 * hz), 300, marker);
  fake_process(root, 103, 100, "spmi", 0, 0, static_cast<unsigned long long>(900 * hz), 1000);
  fake_process(root, 104, 100, "daemon", 0, 0, static_cast<unsigned long long>(950 * hz), 50, marker);
  fake_process(root, 105, 101, "dead", static_cast<unsigned long>(100 * hz), 0, 0, 999, marker, 'Z');
  fake_process(root, 106, 100, "spmi", 0, 0, 0, 77, std::string("SPMI_WRAPPER_TOKEN=other") + '\0');
  fake_process(root, 107, 106, "other", 0, 0, 0, 77, std::string("SPMI_RUN_TOKEN=other") + '\0');
  // Another tree, measured without a marker: everything below 200.
  fake_process(root, 200, 1, "spmi", 0, 0, 0, 10);
  fake_process(root, 201, 200, "x", static_cast<unsigned long>(1 * hz), 0, static_cast<unsigned long long>(500 * hz), 7);
  fs::create_directories(root / "self");  // not a pid: skipped

  const auto usage = process::tree_usage({{100, "SPMI_RUN_TOKEN=abc", "", 103, 101}, {200, "", "", 0, 0}, {999, "", "", 0, 0}}, root);
  ASSERT_EQ(usage.size(), 3u);
  const auto& task = usage.at(100);
  EXPECT_EQ(task.processes, 3u);  // 101, 102, 104: not the wrapper, its watchdog, the zombie or another run
  EXPECT_EQ(task.rss_bytes, (200u + 300u + 50u) * page);
  EXPECT_NEAR(task.cpu_seconds, 25.0, 1e-6);
  // 101: 20 s over its 100 s of life = 20 %; 102: 5 s over 10 s = 50 %; 104: 0 %.
  EXPECT_NEAR(task.cpu_percent, 70.0, 1e-6);
  EXPECT_EQ(usage.at(200).processes, 1u);
  EXPECT_EQ(usage.at(200).rss_bytes, 7u * page);
  EXPECT_NEAR(usage.at(200).cpu_percent, 0.2, 1e-6);
  EXPECT_EQ(usage.at(999).processes, 0u);
  fs::remove_all(root);
}

TEST(TreeUsage, MeasuresARealBusyChild)
{
  // This test process is the root: a busy shell child shows CPU time and memory.
  const pid_t child = spawn({"/bin/sh", "-c", "i=0; while [ $i -lt 2000000 ]; do i=$((i+1)); done"});
  process::wait_until([&] { return process::tree_usage({{::getpid(), "", "", 0, 0}}).at(::getpid()).cpu_seconds > 0.05; }, 10s);
  const auto usage = process::tree_usage({{::getpid(), "", "", 0, 0}}).at(::getpid());
  process::signal_process(child, SIGKILL);
  process::wait(child);
  EXPECT_GE(usage.processes, 1u);
  EXPECT_GT(usage.cpu_seconds, 0.05);
  EXPECT_GT(usage.cpu_percent, 0.0);
  EXPECT_GT(usage.rss_bytes, 0u);
}

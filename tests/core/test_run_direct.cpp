// SPDX-License-Identifier: MIT
// A simple command run without a shell (core/src/run/direct.cpp): which commands run directly, which
// go to /bin/sh, the program found as sh finds it, and the environment sh would have passed on.
#include "../../core/src/run/direct.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace {

using namespace spmi::wrapper;
namespace fs = std::filesystem;
using Words = std::vector<std::string>;

TEST(DirectCommand, PlainWordsRunDirectly)
{
  EXPECT_EQ(direct_words("sleep 1000"), (Words{"sleep", "1000"}));
  EXPECT_EQ(direct_words("  /usr/bin/env\tA=1 python3 -m http.server --bind=127.0.0.1 8000 "),
            (Words{"/usr/bin/env", "A=1", "python3", "-m", "http.server", "--bind=127.0.0.1", "8000"}));
  EXPECT_EQ(direct_words("./run.sh user@host:/srv,a+b 50% x^2 é"),
            (Words{"./run.sh", "user@host:/srv,a+b", "50%", "x^2", "é"}));
}

TEST(DirectCommand, PlainQuotesAreRemoved)
{
  EXPECT_EQ(direct_words("echo2 'a b' \"c  d\" e'f'\"g\" '' \"$'\""), std::nullopt);  // "$" inside "..."
  EXPECT_EQ(direct_words("printf2 'a b' \"c  d\" e'f'\"g\" '' \"'\" '\"' '$HOME *'"),
            (Words{"printf2", "a b", "c  d", "efg", "", "'", "\"", "$HOME *"}));
}

TEST(DirectCommand, ShellSyntaxGoesToTheShell)
{
  for (const char* command :
       {"sleep 1 ; sleep 2", "a && b", "a || b", "a | b", "a &", "a > out", "a < in", "a 2>&1", "echo $HOME",
        "echo ${X}", "echo `date`", "echo $(date)", "ls *.txt", "ls file?", "ls [ab]", "ls ~", "ls ~/x", "a # comment",
        "a\\ b", "X=1 prog", "(a)", "{ a; }", "a\nb", "a \"$X\"", "a \"`b`\"", "a \"\\n\"", "a 'unterminated",
        "a \"unterminated", "a!", "a {b,c}", "", "   ", "''", "a\rb"}) {
    EXPECT_EQ(direct_words(command), std::nullopt) << command;
  }
}

TEST(DirectCommand, BuiltinsAndReservedWordsGoToTheShell)
{
  for (const char* command : {"echo hi", "cd /tmp", "exec sleep 1", "exit 3", "kill -9 1", "test -f x", "[ -f x ]",
                              "true", "false", "printf x", "wait", "ulimit -n 10", "umask 077", ". ./env", ": x",
                              "if", "while", "for", "time sleep 1", "'echo' hi", "\"exec\" sleep 1"}) {
    EXPECT_EQ(direct_words(command), std::nullopt) << command;
  }
  EXPECT_EQ(direct_words("sleep echo"), (Words{"sleep", "echo"}));  // only the first word counts
}

class DirectProgram : public ::testing::Test
{
protected:
  void SetUp() override
  {
    m_dir = fs::temp_directory_path() / ("spmi-direct-" + std::to_string(::getpid()));
    fs::remove_all(m_dir);
    fs::create_directories(m_dir / "bin");
    fs::create_directories(m_dir / "other");
  }
  void TearDown() override { fs::remove_all(m_dir); }
  fs::path file(const std::string& relative, const std::string& text, mode_t mode)
  {
    const auto path = m_dir / relative;
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }
  fs::path m_dir;
};

TEST_F(DirectProgram, FoundAsTheShellFindsIt)
{
  EXPECT_EQ(direct_program("sleep", "/nonexistent:/usr/bin:/bin", "/"), fs::path("/usr/bin/sleep"));
  file("bin/tool", "#!/bin/sh\nexit 0\n", 0755);
  file("other/tool", "#!/bin/sh\nexit 1\n", 0755);
  EXPECT_EQ(direct_program("tool", "bin:other", m_dir), m_dir / "bin" / "tool");  // relative: from cwd
  EXPECT_EQ(direct_program("tool", ":other", m_dir / "bin"), m_dir / "bin" / "." / "tool");  // empty: "."
  EXPECT_EQ(direct_program("./bin/tool", "", m_dir), m_dir / "./bin/tool");
  EXPECT_EQ(direct_program(m_dir / "other" / "tool", "", "/"), m_dir / "other" / "tool");
}

TEST_F(DirectProgram, WhatTheShellMustHandle)
{
  EXPECT_EQ(direct_program("no-such-program-xyz", "/usr/bin:/bin", "/"), std::nullopt);  // its "not found", 127
  file("bin/plain", "#!/bin/sh\n", 0644);
  EXPECT_EQ(direct_program("plain", "bin", m_dir), std::nullopt);  // not executable: its 126
  file("bin/script", "echo no shebang\n", 0755);
  EXPECT_EQ(direct_program("script", "bin", m_dir), std::nullopt);  // sh runs it as a script
  fs::create_directories(m_dir / "bin" / "dir");
  ::chmod((m_dir / "bin" / "dir").c_str(), 0755);
  EXPECT_EQ(direct_program("dir", "bin", m_dir), std::nullopt);
  file("other/dir", "#!/bin/sh\n", 0755);
  EXPECT_EQ(direct_program("dir", "bin:other", m_dir), m_dir / "other" / "dir");  // the search goes on
}

TEST_F(DirectProgram, EnvironmentAsShellPassesIt)
{
  fs::create_directory_symlink(m_dir / "bin", m_dir / "link");
  auto env = shell_environment({"A=1", "BAD-NAME=2", "1X=3", "NOEQUALS", "A=4", "PWD=/elsewhere", "B="}, m_dir);
  EXPECT_EQ(env, (Words{"A=4", "B=", "PWD=" + fs::canonical(m_dir).string()}));
  env = shell_environment({"PWD=" + (m_dir / "link").string()}, m_dir / "bin");  // names it: kept
  EXPECT_EQ(env, (Words{"PWD=" + (m_dir / "link").string()}));
  env = shell_environment({"PWD=link"}, m_dir / "bin");  // relative: replaced
  EXPECT_EQ(env, (Words{"PWD=" + fs::canonical(m_dir / "bin").string()}));
}

TEST_F(DirectProgram, TaskMadeDirectOrLeftToTheShell)
{
  spmi::process::SpawnOptions task;
  task.argv = {"unchanged"};
  task.cwd = m_dir;
  task.env = std::vector<std::string>{"PATH=/usr/bin:/bin", "X=1"};
  task.extra_env = {"X=2", "SPMI_ID=t"};
  EXPECT_FALSE(run_directly("sleep 1 | cat", task));
  EXPECT_FALSE(run_directly("no-such-program-xyz 1", task));
  EXPECT_EQ(task.argv, Words{"unchanged"});
  EXPECT_FALSE(task.program);
  ASSERT_TRUE(run_directly("sleep '1000'", task));
  EXPECT_EQ(task.argv, (Words{"sleep", "1000"}));
  EXPECT_EQ(task.program, fs::path("/usr/bin/sleep"));
  EXPECT_EQ(*task.env, (Words{"PATH=/usr/bin:/bin", "X=2", "SPMI_ID=t", "PWD=" + fs::canonical(m_dir).string()}));
  EXPECT_TRUE(task.extra_env.empty());
}

} // namespace

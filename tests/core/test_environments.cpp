// SPDX-License-Identifier: MIT
// The environments `load` captures (core/src/environments.cpp): stored once per content, private,
// read back exactly, and refused when their name, file or content is not what spmi wrote.
#include <spmi/descriptor.hpp>
#include <spmi/errors.hpp>
#include <spmi/state.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::HasSubstr;
using testing::ThrowsMessage;

class EnvironmentsTest : public testing::Test
{
protected:
  void SetUp() override
  {
    std::string pattern = (fs::temp_directory_path() / "spmi-test-env-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    m_dir = pattern;
    m_root = m_dir / "state";
  }

  void TearDown() override
  {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }

  // Registers a task "x" whose manageable.json names the environment `name`.
  void register_x(const spmi::StateStore& store, const std::string& name) const
  {
    auto descriptor = spmi::make_descriptor(json{{"task", {{"id", "x"}}}}, m_dir / "x.toml");
    descriptor.format = "toml";
    descriptor.text = "[task]\nid = \"x\"\n";
    store.register_all({descriptor}, json{{"environment", name}});
  }

  fs::path environments() const { return m_root / ".environments"; }

  fs::path m_dir;
  fs::path m_root;
};

std::size_t
files_in(const fs::path& dir)
{
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// One file per distinct content: the same variables share it, others get their own; both 0600.
TEST_F(EnvironmentsTest, StoredOncePerContent)
{
  const spmi::StateStore store(m_root);
  const auto a = store.store_environment({"HOME=/root", "PATH=/bin"});
  const auto again = store.store_environment({"HOME=/root", "PATH=/bin"});
  const auto b = store.store_environment({"HOME=/root", "PATH=/usr/bin"});
  EXPECT_EQ(a, again);
  EXPECT_NE(a, b);
  EXPECT_EQ(files_in(environments()), 2U);
  struct stat st {};
  ASSERT_EQ(::stat((environments() / (a + ".json")).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600U);
  ASSERT_EQ(::stat(environments().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700U);
}

// What was stored is read back exactly, values with '=', spaces and newlines included.
TEST_F(EnvironmentsTest, ReadBackExactly)
{
  const spmi::StateStore store(m_root);
  const std::vector<std::string> variables = {"A=b=c", "EMPTY=", "MULTI=one\ntwo", "SPACE=a b"};
  const auto name = store.store_environment(variables);
  register_x(store, name);
  EXPECT_EQ(store.dir("x").read_environment(name), variables);
}

// A name spmi does not give (a path, say) is refused before any file is opened.
TEST_F(EnvironmentsTest, RefusesForeignNames)
{
  const spmi::StateStore store(m_root);
  register_x(store, "x");
  const auto dir = store.dir("x");
  for (const std::string name : {"../../etc/passwd", "0123456789abcdeg", "0123456789abcdef-", "short", ""}) {
    EXPECT_THAT([&] { (void)dir.read_environment(name); },
                ThrowsMessage<spmi::StateError>(HasSubstr("is not a name spmi gives")))
      << name;
  }
}

// A missing file, a corrupt one and a symlink planted in its place are refused, each saying the fix.
TEST_F(EnvironmentsTest, RefusesMissingCorruptAndPlanted)
{
  const spmi::StateStore store(m_root);
  const auto name = store.store_environment({"A=1"});
  register_x(store, name);
  const auto dir = store.dir("x");
  const auto file = environments() / (name + ".json");

  fs::remove(file);
  EXPECT_THAT([&] { (void)dir.read_environment(name); },
              ThrowsMessage<spmi::StateError>(HasSubstr("the environment captured by `spmi load` is missing")));

  for (const std::string text : {"{\"A\": 1}\n", "[\"NOEQUALS\"]\n", "[1]\n"}) {
    std::ofstream(file, std::ios::trunc) << text;
    fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_THAT([&] { (void)dir.read_environment(name); },
                ThrowsMessage<spmi::StateError>(HasSubstr("`spmi reload x` captures the environment again")))
      << text;
  }

  fs::remove(file);
  std::ofstream(m_dir / "elsewhere.json") << "[\"A=planted\"]\n";
  fs::create_symlink(m_dir / "elsewhere.json", file);
  EXPECT_THROW((void)dir.read_environment(name), spmi::StateError);
}

// Removing the last manageable removes the captured environments with it.
TEST_F(EnvironmentsTest, RemovedWithTheLastManageable)
{
  const spmi::StateStore store(m_root);
  register_x(store, store.store_environment({"A=1"}));
  ASSERT_TRUE(fs::exists(environments()));
  store.remove("x");
  EXPECT_FALSE(fs::exists(environments()));
}

} // namespace

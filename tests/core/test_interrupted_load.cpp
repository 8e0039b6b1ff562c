// SPDX-License-Identifier: MIT
// Interrupted commands keep all or nothing: a load interrupted while interrupts are deferred registers
// nothing, and what a killed load or clean left behind goes at the next one (StateStore::lock_store).
#include <spmi/descriptor.hpp>
#include <spmi/errors.hpp>
#include <spmi/process.hpp>
#include <spmi/state.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

class InterruptedLoad : public testing::Test
{
protected:
  void SetUp() override
  {
    std::string pattern = (fs::temp_directory_path() / "spmi-test-interrupt-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    m_dir = pattern;
    m_root = m_dir / "state";
  }
  void TearDown() override
  {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }
  std::vector<spmi::Descriptor> descriptors(int count) const
  {
    std::vector<spmi::Descriptor> result;
    for (int i = 0; i < count; ++i) {
      const auto id = "t" + std::to_string(i);
      auto d = spmi::make_descriptor(json{{"task", {{"id", id}}}}, m_dir / (id + ".toml"));
      d.format = "toml";
      d.text = "[task]\nid = \"" + id + "\"\n";
      result.push_back(std::move(d));
    }
    return result;
  }
  std::set<std::string> entries() const
  {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(m_root)) {
      names.insert(entry.path().filename().string());
    }
    return names;
  }
  fs::path m_dir;
  fs::path m_root;
};

// While deferred, SIGINT, SIGTERM and SIGHUP are recorded, not fatal; without a DeferredInterrupts
// nothing is pending, and the first signal received is the one reported.
TEST(DeferredInterrupts, RecordsTheFirstSignal)
{
  EXPECT_EQ(spmi::process::interrupt_pending(), 0);
  {
    const spmi::process::DeferredInterrupts deferred;
    EXPECT_EQ(spmi::process::interrupt_pending(), 0);
    ::raise(SIGTERM);
    ::raise(SIGINT);
    ::raise(SIGHUP);
    EXPECT_EQ(spmi::process::interrupt_pending(), SIGTERM);
  }
  EXPECT_EQ(spmi::process::interrupt_pending(), 0);
  // The previous action is back: SIGHUP ignored stays ignored after a DeferredInterrupts.
  ::signal(SIGHUP, SIG_IGN);
  { const spmi::process::DeferredInterrupts deferred; }
  struct sigaction now {};
  ::sigaction(SIGHUP, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_IGN);
  ::signal(SIGHUP, SIG_DFL);
}

// An interrupt before anything is in place: nothing registered, nothing staged left, Interrupted says so
// and carries the signal (exit status 128 + its number).
TEST_F(InterruptedLoad, InterruptBeforeCommitRegistersNothing)
{
  const spmi::StateStore store(m_root);
  const spmi::process::DeferredInterrupts deferred;
  ::raise(SIGINT);
  try {
    store.register_all(descriptors(50));
    FAIL() << "register_all went on after SIGINT";
  } catch (const spmi::Interrupted& e) {
    EXPECT_EQ(e.signal_number(), SIGINT);
    EXPECT_EQ(e.exit_code(), 128 + SIGINT);
    EXPECT_NE(std::string(e.what()).find("nothing was loaded"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(store.ids().empty());
  EXPECT_EQ(entries(), (std::set<std::string>{".store.lock"}));
}

// Staging and trash directories of a killed load or clean are removed by the next command that takes
// the store's lock, but not while another load or clean holds it (they may be its own).
TEST_F(InterruptedLoad, LeftoversGoWithTheNextLockHolder)
{
  const spmi::StateStore store(m_root);
  {
    const auto other = store.lock_store();  // a load in progress (shared), staging these:
    fs::create_directories(m_root / ".load-web-123-4-0");
    std::ofstream(m_root / ".load-web-123-4-0" / "manageable.json") << "{}";
    fs::create_directories(m_root / ".clean-db-55-1-0");
    const auto mine = store.lock_store();
    EXPECT_TRUE(fs::exists(m_root / ".load-web-123-4-0"));
    EXPECT_TRUE(fs::exists(m_root / ".clean-db-55-1-0"));
  }
  // The load was killed: nobody holds the lock any more.
  const auto lock = store.lock_store();
  EXPECT_EQ(entries(), (std::set<std::string>{".store.lock"}));
}

// `load` after a killed one: the leftovers go and the new load registers.
TEST_F(InterruptedLoad, LoadAfterKilledLoad)
{
  const spmi::StateStore store(m_root);
  store.ensure_root();
  fs::create_directories(m_root / ".load-t0-9-9-0");
  store.register_all(descriptors(3));
  EXPECT_EQ(store.ids(), (std::vector<std::string>{"t0", "t1", "t2"}));
  EXPECT_EQ(entries(), (std::set<std::string>{".store.lock", "t0", "t1", "t2"}));
}

} // namespace

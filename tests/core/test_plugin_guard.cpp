// SPDX-License-Identifier: MIT
// The registry's proxies (core/src/plugin_guard.cpp, plugin_proxies.cpp) against the faulty fixture
// plugins (tests/fixtures/plugins/fault.hpp): every call of every interface reaches the plugin and
// comes back; whatever the plugin throws becomes a PluginError naming file, class and call, except
// spmi's own errors; a crash is named on stderr before the process dies of it.
#include <spmi/errors.hpp>
#include <spmi/log.hpp>
#include <spmi/registry.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;
using testing::HasSubstr;

const fs::path k_faulty = fs::path(SPMI_TEST_PLUGIN_DIR) / "faulty";
const std::string k_file = (k_faulty / "spmi_test_faulty.so").string();

class PluginGuardTest : public testing::Test
{
protected:
  void SetUp() override
  {
    std::string pattern = (fs::temp_directory_path() / "spmi-test-guard-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    m_path = pattern;
    m_dir.emplace(m_path);
  }

  void TearDown() override
  {
    ::unsetenv("SPMI_TEST_FAULT");
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }

  // Objects made in canned mode: fixed answers, no real task behind them.
  std::unique_ptr<spmi::Manageable> manageable()
  {
    return m_registry.create_manageable("faulty", context(m_manageable_node, "faulty"));
  }
  std::unique_ptr<spmi::Backend> backend() { return m_registry.create_backend("faulty", context(m_node, "faulty.backend")); }
  std::unique_ptr<spmi::Wrapper> wrapper() { return m_registry.create_wrapper("faulty", context(m_node, "faulty.wrapper")); }

  spmi::PluginContext context(const json& node, const std::string& path)
  {
    return spmi::PluginContext{spmi::Section(node, "unit.toml", path), spmi::logger(), &m_registry};
  }

  spmi::PluginRegistry m_registry{{k_faulty}};
  json m_manageable_node = json{{"id", "unit"}, {"canned", true}};
  json m_node = json{{"type", "faulty"}, {"canned", true}};
  fs::path m_path;
  std::optional<spmi::ManageableDir> m_dir;  // canned objects never touch it
  spmi::LaunchRecord m_launch{"token", "faulty", "backend-id", {}, false, "", "up", ""};
  spmi::RunRecord m_run{};
};

// Each call of each interface, as the fault.hpp name of the call and how to make it.
struct Call
{
  std::string fault;  // "FaultyBackend.launch"
  std::string shown;  // the call as messages name it: "launch", "its factory"
  std::function<void()> make;
};

std::vector<Call>
every_call(spmi::Manageable*& m, spmi::Backend*& b, spmi::Wrapper*& w, std::function<void()> create_m,
           std::function<void()> create_b, std::function<void()> create_w, const spmi::ManageableDir& dir,
           const spmi::LaunchRecord& launch, const spmi::RunRecord& run)
{
  return {
    {"FaultyManageable.create", "its factory", create_m},
    {"FaultyManageable.type", "type", [&] { m->type(); }},
    {"FaultyManageable.start", "start", [&] { m->start(dir, "token"); }},
    {"FaultyManageable.run", "run", [&] { m->run(dir, "token"); }},
    {"FaultyManageable.end", "end", [&] { m->end(dir, launch, run, spmi::Ending::graceful); }},
    {"FaultyManageable.stop_timeout", "stop_timeout", [&] { m->stop_timeout(); }},
    {"FaultyManageable.status", "status", [&] { m->status({dir, std::optional(launch), std::optional(run)}); }},
    {"FaultyManageable.autostart", "autostart", [&] { m->autostart(); }},
    {"FaultyBackend.create", "its factory", create_b},
    {"FaultyBackend.type", "type", [&] { b->type(); }},
    {"FaultyBackend.launch", "launch", [&] { b->launch(spmi::LaunchSpec{}); }},
    {"FaultyBackend.signal", "signal", [&] { b->signal(dir, launch, run, SIGTERM); }},
    {"FaultyBackend.queue_states", "queue_states", [&] { b->queue_states({"1"}); }},
    {"FaultyBackend.cancel", "cancel", [&] { b->cancel(launch); }},
    {"FaultyBackend.add_status", "add_status", [&] { spmi::StatusReport r; b->add_status({dir, std::optional(launch), std::optional(run)}, r); }},
    {"FaultyWrapper.create", "its factory", create_w},
    {"FaultyWrapper.type", "type", [&] { w->type(); }},
    {"FaultyWrapper.command", "command", [&] { w->command(); }},
    {"FaultyWrapper.stop_signal", "stop_signal", [&] { w->stop_signal(); }},
    {"FaultyWrapper.stop_timeout", "stop_timeout", [&] { w->stop_timeout(); }},
    {"FaultyWrapper.run", "run", [&] { w->run(dir, "token"); }},
    {"FaultyWrapper.launch_argv", "launch_argv", [&] { w->launch_argv(dir, "token"); }},
    {"FaultyWrapper.autostart", "autostart", [&] { w->autostart(); }},
    {"FaultyWrapper.add_status", "add_status", [&] { spmi::StatusReport r; w->add_status({dir, std::optional(launch), std::optional(run)}, r); }},
  };
}

// Without faults, every call reaches the plugin's object and its answer comes back.
TEST_F(PluginGuardTest, ForwardsEveryCall)
{
  auto m = manageable();
  EXPECT_EQ(m->type(), "faulty");
  EXPECT_EQ(m->start(*m_dir, "tok").backend_id, "canned tok");
  EXPECT_EQ(m->run(*m_dir, "tok"), 7);
  EXPECT_TRUE(m->end(*m_dir, m_launch, m_run, spmi::Ending::kill));
  EXPECT_FALSE(m->end(*m_dir, m_launch, m_run, spmi::Ending::graceful));
  EXPECT_EQ(m->stop_timeout(), 1234ms);
  const std::optional<spmi::LaunchRecord> launch(m_launch);
  const std::optional<spmi::RunRecord> run(m_run);
  const auto fields = m->status({*m_dir, launch, run}).lines;
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_EQ(fields[0].key, "Canned");
  EXPECT_EQ(fields[0].value, "backend-id");
  EXPECT_TRUE(m->autostart());

  auto b = backend();
  EXPECT_EQ(b->type(), "faulty");
  spmi::LaunchSpec spec;
  spec.session_name = "s";
  EXPECT_EQ(b->launch(spec).backend_id, "canned s");
  EXPECT_TRUE(b->signal(*m_dir, m_launch, m_run, SIGUSR1));
  EXPECT_FALSE(b->signal(*m_dir, m_launch, m_run, SIGUSR2));
  EXPECT_EQ(b->queue_states({"7"}), (std::map<std::string, spmi::QueueState>{{"7", spmi::QueueState::running}}));
  EXPECT_TRUE(b->cancel(m_launch));

  auto w = wrapper();
  EXPECT_EQ(w->type(), "faulty");
  EXPECT_EQ(w->command(), "canned command");
  EXPECT_EQ(w->stop_signal(), SIGUSR2);
  EXPECT_EQ(w->stop_timeout(), 4321ms);
  EXPECT_EQ(w->run(*m_dir, "tok"), 9);
  EXPECT_TRUE(w->autostart());
}

// `throw 42` and a std::runtime_error in any call become PluginError naming file, class and call; an
// spmi error the plugin throws passes through unchanged.
TEST_F(PluginGuardTest, ConvertsWhatEveryCallThrows)
{
  std::unique_ptr<spmi::Manageable> m_owner;
  std::unique_ptr<spmi::Backend> b_owner;
  std::unique_ptr<spmi::Wrapper> w_owner;
  spmi::Manageable* m = nullptr;
  spmi::Backend* b = nullptr;
  spmi::Wrapper* w = nullptr;
  auto create_m = [&] { m_owner = manageable(); m = m_owner.get(); };
  auto create_b = [&] { b_owner = backend(); b = b_owner.get(); };
  auto create_w = [&] { w_owner = wrapper(); w = w_owner.get(); };
  create_m();
  create_b();
  create_w();
  for (const auto& call : every_call(m, b, w, create_m, create_b, create_w, *m_dir, m_launch, m_run)) {
    SCOPED_TRACE(call.fault);
    const auto class_name = call.fault.substr(0, call.fault.find('.'));
    const std::string who = "plugin " + k_file + " (class " + class_name + ")";
    const std::string id = class_name == "FaultyManageable" ? " (manageable 'unit')" : "";

    ::setenv("SPMI_TEST_FAULT", (call.fault + "=int").c_str(), 1);
    EXPECT_THAT(call.make, testing::ThrowsMessage<spmi::PluginError>(
                             HasSubstr(who + " threw int in " + call.shown + id + "; ")));
    ::setenv("SPMI_TEST_FAULT", (call.fault + "=runtime").c_str(), 1);
    EXPECT_THAT(call.make, testing::ThrowsMessage<spmi::PluginError>(HasSubstr(
                             who + " threw std::runtime_error in " + call.shown + id + ": injected fault in " + call.fault)));
    ::setenv("SPMI_TEST_FAULT", (call.fault + "=spmi").c_str(), 1);
    EXPECT_THAT(call.make, testing::ThrowsMessage<spmi::BackendError>(testing::StrEq("injected fault in " + call.fault)));
    ::unsetenv("SPMI_TEST_FAULT");
    EXPECT_NO_THROW(call.make());
  }
}

// A crash in a call prints one line naming file, class, call and signal; the process dies of it.
TEST_F(PluginGuardTest, NamesCrashAndDiesOfIt)
{
  testing::FLAGS_gtest_death_test_style = "threadsafe";
  auto b = backend();
  const std::string who = "spmi: plugin " + k_file + " \\(class FaultyBackend\\) crashed in ";
  ::setenv("SPMI_TEST_FAULT", "FaultyBackend.launch=segv", 1);
  EXPECT_EXIT(b->launch(spmi::LaunchSpec{}), testing::KilledBySignal(SIGSEGV), who + "launch: SIGSEGV\n");
  ::setenv("SPMI_TEST_FAULT", "FaultyBackend.queue_states=overflow", 1);
  EXPECT_EXIT(b->queue_states({}), testing::KilledBySignal(SIGSEGV), who + "queue_states: SIGSEGV\n");
  ::setenv("SPMI_TEST_FAULT", "FaultyBackend.destroy=abort", 1);
  EXPECT_EXIT(b.reset(), testing::KilledBySignal(SIGABRT), who + "its destructor: SIGABRT\n");
  ::unsetenv("SPMI_TEST_FAULT");
}

// A crash in a manageable's call names the manageable; calls inside it (its backend's) inherit it.
TEST_F(PluginGuardTest, CrashNamesManageable)
{
  testing::FLAGS_gtest_death_test_style = "threadsafe";
  auto m = manageable();
  ::setenv("SPMI_TEST_FAULT", "FaultyManageable.stop_timeout=segv", 1);
  EXPECT_EXIT(m->stop_timeout(), testing::KilledBySignal(SIGSEGV),
              "spmi: plugin " + k_file + " \\(class FaultyManageable\\) crashed in stop_timeout \\(manageable 'unit'\\): SIGSEGV");
  ::unsetenv("SPMI_TEST_FAULT");
}

} // namespace

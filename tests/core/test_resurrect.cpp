// SPDX-License-Identifier: MIT
// What resurrect decides for each manageable from its records and the boot ID (dry runs: nothing starts).
#include <spmi/controller.hpp>
#include <spmi/log.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace {

namespace fs = std::filesystem;
using spmi::ResurrectVerdict;
using testing::HasSubstr;

class ResurrectTest : public testing::Test
{
protected:
  void SetUp() override
  {
    std::string pattern = (fs::temp_directory_path() / "spmi-test-resurrect-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    m_dir = pattern;
    write("boot_id", "this-boot\n");
    ::setenv("SPMI_BOOT_ID_FILE", (m_dir / "boot_id").c_str(), 1);
    m_controller = std::make_unique<spmi::Controller>(spmi::StateStore(m_dir / "state"), m_registry, spmi::logger());
  }

  void TearDown() override
  {
    ::unsetenv("SPMI_BOOT_ID_FILE");
    m_controller.reset();
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }

  fs::path write(const std::string& name, const std::string& text) const
  {
    std::ofstream(m_dir / name, std::ios::binary) << text;
    return m_dir / name;
  }

  // Loads a local task with `wrapper_lines`, and records a launch wanted `wanted` and a run of `boot`.
  void task(const std::string& id, const std::string& wrapper_lines, const std::string& wanted, const std::string& boot,
            bool finished = false)
  {
    m_controller->load({write(id + ".toml", "[task]\nid = \"" + id + "\"\n[task.backend]\ntype = \"local\"\n"
                                            "[task.wrapper]\ntype = \"default\"\ncommand = \"sleep 1\"\n" + wrapper_lines)});
    const auto dir = m_controller->store().dir(id);
    spmi::LaunchRecord launch;
    launch.token = "t-" + id;
    launch.wanted = wanted;
    launch.ended_by = wanted == "down" ? "kill" : "";
    dir.write_launch(launch);
    spmi::RunRecord run;
    run.token = launch.token;
    run.wrapper_pid = 1;  // never signalled: pid 1 would be refused anyway
    run.boot_id = boot;
    if (finished) {
      run.finished_at = spmi::Clock::now();
      run.exit_code = 0;
    }
    dir.write_run(run);
  }

  spmi::ResurrectOutcome outcome(const std::string& id)
  {
    const auto report = m_controller->resurrect({id}, true);
    EXPECT_EQ(report.outcomes.size(), 1u);
    return report.outcomes.at(0);
  }

  fs::path m_dir;
  spmi::PluginRegistry m_registry{{SPMI_BUILD_PLUGIN_DIR}};
  std::unique_ptr<spmi::Controller> m_controller;
};

// Wanted up, restart policy (autostart on), running in another boot: it would start.
TEST_F(ResurrectTest, RunningBeforeRebootStarts)
{
  task("web", "restart = \"always\"\n", "up", "old-boot");
  const auto o = outcome("web");
  EXPECT_EQ(o.verdict, ResurrectVerdict::start);
  EXPECT_EQ(o.summary(true), "web: would start (wanted up, autostart on, running when boot old-boot ended)");
  EXPECT_FALSE(fs::exists(m_dir / "state" / "resurrect.log"));  // a dry run writes nothing
}

// The user's stop or kill wins over everything else.
TEST_F(ResurrectTest, StoppedByUserStaysDown)
{
  task("db", "restart = \"always\"\n", "down", "old-boot");
  EXPECT_EQ(outcome("db").summary(true), "db: skipped: stopped by the user (spmi kill)");
}

// autostart = false, or no restart policy (autostart off by default), keeps it out.
TEST_F(ResurrectTest, AutostartOffStaysDown)
{
  task("a", "restart = \"always\"\nautostart = false\n", "up", "old-boot");
  task("b", "", "up", "old-boot");
  EXPECT_EQ(outcome("a").verdict, ResurrectVerdict::autostart_off);
  EXPECT_EQ(outcome("b").verdict, ResurrectVerdict::autostart_off);
  task("c", "autostart = true\n", "up", "old-boot");
  EXPECT_EQ(outcome("c").verdict, ResurrectVerdict::start);
}

// A run that had finished before the host went down is not started again.
TEST_F(ResurrectTest, FinishedRunStaysDown)
{
  task("job", "restart = \"on-failure\"\n", "up", "old-boot", true);
  const auto o = outcome("job");
  EXPECT_EQ(o.verdict, ResurrectVerdict::not_running);
  EXPECT_THAT(o.reason, HasSubstr("it exited with code 0 at "));
}

// Same boot ID: the wrapper died in this boot, which is a crash, not a reboot.
TEST_F(ResurrectTest, SameBootIsACrash)
{
  task("w", "restart = \"always\"\n", "up", "this-boot");
  const auto o = outcome("w");
  EXPECT_EQ(o.verdict, ResurrectVerdict::same_boot);
  EXPECT_THAT(o.reason, HasSubstr("`spmi start w` starts it again"));
}

} // namespace

// SPDX-License-Identifier: MIT
// The hand-over of RunSettings from the wrapper process to the lean supervisor (core/src/run/lean.hpp).
#include "../../core/src/run/lean.hpp"

#include <spmi/errors.hpp>

#include <gtest/gtest.h>

namespace {

using namespace spmi;
using namespace std::chrono_literals;

TEST(LeanSettingsTest, EveryFieldSurvivesTheHandOver)
{
  RunSettings s;
  s.command = "python3 -c 'print(1)' | tee out";
  s.argv = {"/usr/bin/sleep", "1000"};
  s.env = {{"A", "1"}, {"B", "two words"}, {"A", "again"}};
  s.env_file = "/etc/spmi.env";
  s.cwd = "/srv/work dir";
  s.env_file_where = "a.toml: task.wrapper.env_file";
  s.cwd_where = "a.toml: task.wrapper.cwd";
  s.mixed_stdout = true;
  s.stop_signal = 15;
  s.stop_timeout = 2500ms;
  s.restart = RestartPolicy::on_failure;
  s.restart_delay = 300ms;
  s.restart_delay_max = 9000ms;
  s.max_restarts = 7;
  s.restart_window = 60000ms;
  s.autostart = true;
  s.max_memory = 1ull << 33;
  s.max_output_size = 0;
  s.output_files_kept = 3;
  s.timestamps = true;
  const auto back = wrapper::settings_from_json(nlohmann::json::parse(wrapper::settings_to_json(s).dump()));
  EXPECT_EQ(back.command, s.command);
  EXPECT_EQ(back.argv, s.argv);
  EXPECT_EQ(back.env, s.env);
  EXPECT_EQ(back.env_file, s.env_file);
  EXPECT_EQ(back.cwd, s.cwd);
  EXPECT_EQ(back.env_file_where, s.env_file_where);
  EXPECT_EQ(back.cwd_where, s.cwd_where);
  EXPECT_EQ(back.mixed_stdout, s.mixed_stdout);
  EXPECT_EQ(back.stop_signal, s.stop_signal);
  EXPECT_EQ(back.stop_timeout, s.stop_timeout);
  EXPECT_EQ(back.restart, s.restart);
  EXPECT_EQ(back.restart_delay, s.restart_delay);
  EXPECT_EQ(back.restart_delay_max, s.restart_delay_max);
  EXPECT_EQ(back.max_restarts, s.max_restarts);
  EXPECT_EQ(back.restart_window, s.restart_window);
  EXPECT_EQ(back.autostart, s.autostart);
  EXPECT_EQ(back.max_memory, s.max_memory);
  EXPECT_EQ(back.max_output_size, s.max_output_size);
  EXPECT_EQ(back.output_files_kept, s.output_files_kept);
  EXPECT_EQ(back.timestamps, s.timestamps);
}

TEST(LeanSettingsTest, AbsentPathsStayAbsent)
{
  const auto back = wrapper::settings_from_json(wrapper::settings_to_json(RunSettings{}));
  EXPECT_FALSE(back.env_file);
  EXPECT_FALSE(back.cwd);
  EXPECT_EQ(back.restart, RestartPolicy::no);
}

TEST(LeanSettingsTest, ADocumentSpmiDidNotMakeIsRefused)
{
  auto json = wrapper::settings_to_json(RunSettings{});
  json.erase("stop_signal");
  EXPECT_THROW(wrapper::settings_from_json(json), SystemError);
  json = wrapper::settings_to_json(RunSettings{});
  json["restart"] = 7;
  EXPECT_THROW(wrapper::settings_from_json(json), SystemError);
  EXPECT_THROW(wrapper::settings_from_json(nlohmann::json::array()), SystemError);
}

} // namespace

// SPDX-License-Identifier: MIT
// The SLURM backend's questions to the scheduler (plugins/backends/slurm/slurm_queue.cpp), with the
// client programs replaced by a recorder: only spmi's own jobs are asked about, in few calls, and jobs
// squeue forgot are asked of sacct.
#include "../../plugins/backends/slurm/slurm_queue.hpp"

#include <spmi/errors.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace spmi::slurm {
namespace {

struct Recorder
{
  std::vector<std::vector<std::string>> calls;
  std::function<process::Captured(const std::vector<std::string>&)> answer;
  Runner runner()
  {
    return [this](std::vector<std::string> argv) {
      calls.push_back(argv);
      return answer(argv);
    };
  }
};

process::Captured
said(std::string out, int code = 0, std::string err = "")
{
  process::Captured captured;
  captured.out = std::move(out);
  captured.err = std::move(err);
  captured.status.code = code;
  return captured;
}

TEST(SlurmJobId, DigitsOrOneUnderscoreBetweenDigits)
{
  EXPECT_TRUE(is_job_id("5"));
  EXPECT_TRUE(is_job_id("5_1"));
  for (const char* bad : {"", "5__1", "5_1_2", "_1", "5_", "5_1 --signal=KILL", "-uroot", "5,6", "5_[0-3]"}) {
    EXPECT_FALSE(is_job_id(bad)) << bad;
  }
}

TEST(SlurmQueue, TwoHundredJobsAreOneSqueueOfThoseJobsOnly)
{
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i) {
    ids.insert(fmt::format("1234_{}", i));
  }
  Recorder recorder;
  recorder.answer = [](const std::vector<std::string>&) { return said("1234_0|RUNNING\n1234_1|PENDING\n"); };
  int calls = 0;
  const auto states = ask_scheduler(ids, recorder.runner(), calls);
  // squeue once, then sacct once for the 198 it did not list
  ASSERT_EQ(recorder.calls.size(), 2u);
  EXPECT_EQ(calls, 2);
  const auto& squeue = recorder.calls[0];
  EXPECT_EQ(squeue[0], "squeue");
  EXPECT_NE(std::find(squeue.begin(), squeue.end(), "--array"), squeue.end());
  const auto jobs = std::find_if(squeue.begin(), squeue.end(), [](const std::string& a) { return a.rfind("--jobs=", 0) == 0; });
  ASSERT_NE(jobs, squeue.end());
  EXPECT_NE(jobs->find("1234_199"), std::string::npos);
  EXPECT_EQ(recorder.calls[1][0], "sacct");
  EXPECT_EQ(states.at("1234_0").state, QueueState::running);
  EXPECT_EQ(states.at("1234_1").state, QueueState::pending);
  EXPECT_FALSE(states.count("1234_2"));  // sacct said nothing: left out, so gone
}

TEST(SlurmQueue, ForgottenJobsAreAskedOfSacctWithHowTheyEnded)
{
  Recorder recorder;
  recorder.answer = [](const std::vector<std::string>& argv) {
    if (argv[0] == "squeue") {
      return said("", 1, "slurm_load_jobs error: Invalid job id specified\n");
    }
    return said("7|TIMEOUT\n8_2|CANCELLED by 1000\n9|NODE_FAIL\n");
  };
  int calls = 0;
  const auto states = ask_scheduler({"7", "8_2", "9"}, recorder.runner(), calls);
  EXPECT_EQ(states.at("7").state, QueueState::gone);
  EXPECT_EQ(states.at("7").ended, "TIMEOUT");
  EXPECT_EQ(states.at("8_2").ended, "CANCELLED");
  EXPECT_EQ(states.at("9").ended, "NODE_FAIL");
}

TEST(SlurmQueue, WithoutAccountingTheyAreOnlyKnownToHaveEnded)
{
  Recorder recorder;
  recorder.answer = [](const std::vector<std::string>& argv) {
    return argv[0] == "squeue" ? said("5|COMPLETED\n") : said("", 1, "Slurm accounting storage is disabled\n");
  };
  int calls = 0;
  const auto states = ask_scheduler({"5", "6"}, recorder.runner(), calls);
  EXPECT_EQ(states.at("5").ended, "COMPLETED");
  EXPECT_FALSE(states.count("6"));
}

TEST(SlurmQueue, ASqueueThatFailsOtherwiseIsAnError)
{
  Recorder recorder;
  recorder.answer = [](const std::vector<std::string>&) { return said("", 1, "Unable to contact slurm controller"); };
  int calls = 0;
  EXPECT_THROW(ask_scheduler({"5"}, recorder.runner(), calls), BackendError);
}

TEST(SlurmQueue, LongListsAreSplitBelowTheLimit)
{
  std::set<std::string> ids;
  for (int i = 0; i < 5000; ++i) {
    ids.insert(std::to_string(1000000 + i));
  }
  const auto batches = comma_batches(ids, 16000);
  EXPECT_GT(batches.size(), 1u);
  std::size_t total = 0;
  for (const auto& batch : batches) {
    EXPECT_LE(batch.size(), 16000u);
    total += std::count(batch.begin(), batch.end(), ',') + 1;
  }
  EXPECT_EQ(total, ids.size());
}

} // namespace
} // namespace spmi::slurm

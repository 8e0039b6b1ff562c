// SPDX-License-Identifier: MIT
// The SLURM backend's questions to the cluster (slurm_queue.hpp): only about spmi's own jobs.
#include "slurm_queue.hpp"

#include <spmi/errors.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <sstream>
#include <string_view>

namespace spmi::slurm {

namespace {

// One --jobs argument stays far below Linux's 128 KiB limit of one argument.
constexpr std::size_t k_jobs_argument = 16000;

// How far back sacct looks: a queued launch is rarely older; one that is shows as ended, state unknown.
constexpr const char* k_sacct_window = "--starttime=now-7days";

// Reads "<job>|<state>" lines into `into`, for the IDs of `wanted` only.
void
read_states(const std::string& out, const std::set<std::string>& wanted, std::map<std::string, QueueInfo>& into)
{
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    const auto bar = line.find('|');
    if (bar == std::string::npos) {
      continue;
    }
    const auto job = trimmed(line.substr(0, bar));
    if (wanted.count(job) && !into.count(job)) {
      into[job] = queue_info(trimmed(line.substr(bar + 1)));
    }
  }
}

} // namespace

std::string
trimmed(std::string text)
{
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

bool
is_job_id(const std::string& id)
{
  const auto digits = [](std::string_view text) {
    return !text.empty() && text.size() <= 18 && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const auto bar = id.find('_');
  return bar == std::string::npos ? digits(id) : digits(std::string_view(id).substr(0, bar)) &&
                                                   digits(std::string_view(id).substr(bar + 1));
}

std::vector<std::string>
comma_batches(const std::set<std::string>& ids, std::size_t limit)
{
  std::vector<std::string> batches;
  for (const auto& id : ids) {
    if (batches.empty() || batches.back().size() + 1 + id.size() > limit) {
      batches.push_back(id);
    } else {
      batches.back() += "," + id;
    }
  }
  return batches;
}

QueueInfo
queue_info(const std::string& state)
{
  const auto word = state.substr(0, state.find(' '));  // sacct says "CANCELLED by 1000"
  if (word == "PENDING" || word == "CONFIGURING" || word == "REQUEUED" || word == "RESIZING" || word == "SUSPENDED" ||
      word == "REQUEUE_HOLD" || word == "REQUEUE_FED") {
    return {QueueState::pending, ""};
  }
  if (word == "RUNNING" || word == "COMPLETING" || word == "STAGE_OUT" || word == "SIGNALING") {
    return {QueueState::running, ""};
  }
  return {QueueState::gone, word};
}

std::map<std::string, QueueInfo>
ask_scheduler(const std::set<std::string>& ids, const Runner& run, int& calls)
{
  std::map<std::string, QueueInfo> states;
  // squeue about these jobs only (--array: each element of an array on its own line, <job>_<index>);
  // --states=all keeps those that ended within MinJobAge, with how they ended.
  for (const auto& batch : comma_batches(ids, k_jobs_argument)) {
    ++calls;
    const auto result = run({"squeue", "--noheader", "--array", "--states=all", "--jobs=" + batch, "--format=%i|%T"});
    if (result.status.code != 0 || result.status.signal != 0) {
      // One job ID the controller no longer knows makes squeue fail; they are asked of sacct below.
      if (result.err.find("Invalid job id") == std::string::npos) {
        throw BackendError(fmt::format("backend 'slurm': squeue failed: {}", trimmed(result.err)));
      }
      continue;
    }
    read_states(result.out, ids, states);
  }
  std::set<std::string> forgotten;
  std::copy_if(ids.begin(), ids.end(), std::inserter(forgotten, forgotten.end()),
               [&](const std::string& id) { return !states.count(id); });
  // Jobs squeue has forgotten: accounting knows how they ended. Without it (sacct fails: "accounting
  // storage is disabled") they are only known to have ended.
  for (const auto& batch : comma_batches(forgotten, k_jobs_argument)) {
    ++calls;
    process::Captured result;
    try {
      result = run({"sacct", "--noheader", "--parsable2", "--allocations", k_sacct_window, "--jobs=" + batch,
                    "--format=JobID,State"});
    } catch (const BackendError&) {
      break;  // no sacct installed: as without accounting
    }
    if (result.status.code != 0 || result.status.signal != 0) {
      break;
    }
    read_states(result.out, forgotten, states);
  }
  return states;
}

} // namespace spmi::slurm

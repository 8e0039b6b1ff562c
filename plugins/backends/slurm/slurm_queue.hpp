// SPDX-License-Identifier: MIT
// What the SLURM backend asks of the cluster about its own jobs and how it reads the answers:
// `squeue --jobs` (batched, arrays as <job>_<index>) and, for jobs squeue has forgotten, `sacct`.
#pragma once

#include <spmi/plugin.hpp>
#include <spmi/process.hpp>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace spmi::slurm {

/// Runs a SLURM client program (argv[0] its name) and returns what it said; throws BackendError when it
/// is missing or could not run.
using Runner = std::function<process::Captured(std::vector<std::string> argv)>;

/// `text` without trailing newlines and spaces.
std::string trimmed(std::string text);

/// A job ID as sbatch issues it: a job number, or `<job>_<index>` for an element of a job array (digits,
/// one underscore, digits). Nothing else from launch.json ever reaches scancel or squeue.
bool is_job_id(const std::string& id);

/// `ids` joined by commas, in pieces of at most `limit` characters each (the command line's limits).
std::vector<std::string> comma_batches(const std::set<std::string>& ids, std::size_t limit);

/// QueueState of a SLURM job state word (PENDING, RUNNING, CANCELLED, "CANCELLED by 0"...).
QueueInfo queue_info(const std::string& state);

/// Where each of `ids` (all job IDs) stands: squeue about exactly those (`--jobs`, in batches), then
/// sacct about the ones squeue no longer knows (when accounting is off, they are left out).
/// `calls` counts the scheduler calls made.
std::map<std::string, QueueInfo> ask_scheduler(const std::set<std::string>& ids, const Runner& run, int& calls);

} // namespace spmi::slurm

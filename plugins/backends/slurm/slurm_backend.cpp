// SPDX-License-Identifier: MIT
// SlurmBackend: runs the wrapper as a SLURM batch job submitted with sbatch; Backend ID = the job id.
// The job is queued, so `start` returns at once and the manageable is pending until the job runs.
#include <spmi/errors.hpp>
#include <spmi/plugin.hpp>
#include <spmi/process.hpp>
#include <spmi/unique_fd.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <iterator>
#include <set>
#include <string_view>
#include <sstream>

namespace {

using namespace spmi;

constexpr std::chrono::seconds k_command_timeout{30};

// The batch script is always this text: the wrapper's argv comes as the script's arguments, so no
// shell line is ever built from paths or IDs.
// The job's processes belong to SLURM's own cgroup for the job (its proctrack/cgroup plugin, one writer per
// cgroup), so the wrapper finds the task's processes by its process tree instead of moving them out of
// the job, where scancel and the job's limits would no longer reach them.
constexpr const char* k_job_script = "#!/bin/sh\n# written by spmi: runs the wrapper given as arguments\n"
                                     "SPMI_MEMBERSHIP=fallback exec \"$@\"\n";

std::string
trimmed(std::string text)
{
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

// A job ID as sbatch issues it: a job number, or <job>_<task> for a task of a job array. Nothing else
// from launch.json ever reaches scancel: `-u root` there would cancel every job of root's.
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

// launch.backend_id when it is a job ID; else throws, naming `record` and saying that `what` did not happen.
const std::string&
checked_job_id(const LaunchRecord& launch, const std::string& record, const char* what)
{
  if (!is_job_id(launch.backend_id)) {
    throw BackendError(fmt::format("backend 'slurm': the backend ID in {} is not a SLURM job number (digits, or "
                                   "<job>_<task>), so it was not passed to scancel and nothing was {}; spmi did not "
                                   "write it: check who can write that directory, and end the job yourself "
                                   "(`squeue --me`, `scancel <job>`)",
                                   record, what));
  }
  return launch.backend_id;
}

class SlurmBackend final : public Backend
{
public:
  explicit SlurmBackend(const PluginContext& context)
  {
    const auto& section = context.section;
    warn_unknown_keys(context, {"type", "partition", "time", "cpus_per_task", "mem", "nodes", "sbatch_options"});
    add_string_option(section, "partition", "--partition");
    add_string_option(section, "time", "--time");
    add_string_option(section, "mem", "--mem");
    add_count_option(section, "cpus_per_task", "--cpus-per-task");
    add_count_option(section, "nodes", "--nodes");
    if (section.has("sbatch_options")) {
      const auto& list = section.node().at("sbatch_options");
      if (!list.is_array()) {
        throw DescriptorError(section.where("sbatch_options") + ": expected an array of strings, e.g. [\"--qos=low\"]");
      }
      for (const auto& item : list) {
        if (!item.is_string() || item.get<std::string>().rfind("-", 0) != 0) {
          throw DescriptorError(section.where("sbatch_options") +
                                ": each entry must be a string starting with '-', e.g. \"--qos=low\"");
        }
        m_options.push_back(item.get<std::string>());
      }
    }
  }

  std::string type() const override { return "slurm"; }

  LaunchResult launch(const LaunchSpec& spec) override
  {
    const auto script = spec.dir->path() / "slurm-job.sh";
    spec.dir->write_file("slurm-job.sh", k_job_script);
    // sbatch opens --output by its path: the file is made (or checked) here first, relative to the
    // verified directory, so it is a regular file of the user and never a planted link.
    const auto log = (spec.dir->path() / "slurm.log").string();
    if (!UniqueFd(spec.dir->open_file("slurm.log", O_WRONLY | O_CREAT | O_APPEND))) {
      throw_errno("cannot open " + log);
    }
    std::vector<std::string> argv = {"sbatch", "--parsable", "--job-name=" + spec.session_name,
                                     "--chdir=" + spec.dir->path().string(), "--output=" + log,
                                     "--error=" + log, "--export=ALL"};
    argv.insert(argv.end(), m_options.begin(), m_options.end());
    argv.push_back(script.string());
    argv.insert(argv.end(), spec.argv.begin(), spec.argv.end());
    const auto result = run("sbatch", argv);
    if (result.status.code != 0 || result.status.signal != 0) {
      throw BackendError(fmt::format("backend 'slurm': sbatch refused the job: {}", trimmed(result.err)));
    }
    // --parsable prints "<jobid>" or "<jobid>;<cluster>".
    const auto out = trimmed(result.out);
    const auto job = out.substr(0, out.find(';'));
    if (job.empty() || !std::all_of(job.begin(), job.end(), ::isdigit)) {
      throw BackendError(fmt::format("backend 'slurm': sbatch printed no job id: '{}'", out));
    }
    LaunchResult launched;
    launched.backend_id = job;
    launched.queued = true;
    return launched;
  }

  bool signal(const ManageableDir& dir, const LaunchRecord& launch, const RunRecord&, int signo) override
  {
    const auto& job = checked_job_id(launch, dir.launch_path().string(), "signalled");
    // The wrapper is the batch shell (the job script execs it), so --batch reaches it, and it passes the
    // signal on to the task's tree (--full would deliver it to every process twice). SIGKILL of the
    // wrapper is a plain cancel: SIGTERM to every process of the job, SIGKILL after KillWait.
    std::vector<std::string> argv = {"scancel"};
    if (signo != SIGKILL) {
      argv.push_back("--batch");
      argv.push_back("--signal=" + std::to_string(signo));
    }
    argv.push_back(job);
    const auto result = run("scancel", argv);
    return result.status.code == 0;
  }

  std::map<std::string, QueueState> queue_states(const std::vector<std::string>& backend_ids) override
  {
    // One query for every job of every user still in slurmctld's memory, finished ones included.
    const auto result = run("squeue", {"squeue", "--noheader", "--states=all", "--format=%i|%T"});
    if (result.status.code != 0) {
      throw BackendError(fmt::format("backend 'slurm': squeue failed: {}", trimmed(result.err)));
    }
    // An ID sbatch could not have issued is in no queue: left out, so it is `gone`.
    std::set<std::string> wanted;
    std::copy_if(backend_ids.begin(), backend_ids.end(), std::inserter(wanted, wanted.end()), is_job_id);
    std::map<std::string, QueueState> states;
    std::istringstream lines(result.out);
    std::string line;
    while (std::getline(lines, line)) {
      const auto bar = line.find('|');
      if (bar == std::string::npos) {
        continue;
      }
      const auto job = trimmed(line.substr(0, bar));
      if (!wanted.count(job)) {
        continue;
      }
      const auto state = trimmed(line.substr(bar + 1));
      if (state == "PENDING" || state == "CONFIGURING" || state == "REQUEUED" || state == "RESIZING" ||
          state == "SUSPENDED") {
        states[job] = QueueState::pending;
      } else if (state == "RUNNING" || state == "COMPLETING") {
        states[job] = QueueState::running;
      } else {
        states[job] = QueueState::gone;
      }
    }
    return states;
  }

  bool cancel(const LaunchRecord& launch) override
  {
    const auto& job = checked_job_id(launch, "launch.json", "cancelled");
    return run("scancel", {"scancel", job}).status.code == 0;
  }

private:
  process::Captured run(const std::string& program, std::vector<std::string> argv)
  {
    const auto found = process::find_in_path(program);
    if (!found) {
      throw BackendError(fmt::format("backend 'slurm': {} not found in PATH; install the SLURM client "
                                     "(apt-get install slurm-client) or use another backend type",
                                     program));
    }
    argv[0] = found->string();
    try {
      return process::run_capture(argv, k_command_timeout);
    } catch (const Error& e) {
      throw BackendError(fmt::format("backend 'slurm': {}", e.what()));
    }
  }

  void add_string_option(const Section& section, std::string_view key, const std::string& flag)
  {
    if (auto value = section.optional_string(key)) {
      if (value->empty()) {
        throw DescriptorError(section.where(key) + ": must not be empty");
      }
      m_options.push_back(flag + "=" + *value);
    }
  }

  void add_count_option(const Section& section, std::string_view key, const std::string& flag)
  {
    if (auto value = section.optional_integer(key, 1, 1000000)) {
      m_options.push_back(fmt::format("{}={}", flag, *value));
    }
  }

  std::vector<std::string> m_options;
};

std::unique_ptr<Backend>
create(const PluginContext& context)
{
  return std::make_unique<SlurmBackend>(context);
}

} // namespace

SPMI_EXPORT_BACKEND(SlurmBackend, create)

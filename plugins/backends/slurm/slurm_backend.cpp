// SPDX-License-Identifier: MIT
// SlurmBackend: runs the wrapper as a SLURM batch job submitted with sbatch; Backend ID = the job id.
// The job is queued, so `start` returns at once and the manageable is pending until the job runs.
#include <spmi/errors.hpp>
#include <spmi/plugin.hpp>
#include <spmi/process.hpp>
#include <spmi/text.hpp>
#include <spmi/unique_fd.hpp>

#include "slurm_queue.hpp"

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
using slurm::is_job_id;
using slurm::trimmed;

constexpr std::chrono::seconds k_command_timeout{30};

// The batch script is always this text: the wrapper's argv comes as the script's arguments, so no
// shell line is ever built from paths or IDs.
// The job's processes belong to SLURM's own cgroup for the job (its proctrack/cgroup plugin, one writer per
// cgroup), so the wrapper finds the task's processes by its process tree instead of moving them out of
// the job, where scancel and the job's limits would no longer reach them.
constexpr const char* k_job_script = "#!/bin/sh\n# written by spmi: runs the wrapper given as arguments\n"
                                     "SPMI_MEMBERSHIP=fallback exec \"$@\"\n";

// The batch script of a job array: element i runs the i-th wrapper command, each word quoted, in its
// manageable's directory, its output appended to that directory's slurm.log (made beforehand).
std::string
array_script(const std::vector<LaunchSpec>& specs)
{
  std::string script = "#!/bin/sh\n# written by spmi: a job array, element i runs the i-th wrapper\n"
                       "SPMI_MEMBERSHIP=fallback\nexport SPMI_MEMBERSHIP\ncase \"$SLURM_ARRAY_TASK_ID\" in\n";
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const auto dir = specs[i].dir->path();
    script += fmt::format("{}) cd {} || exit 1\n  exec", i, shell_word(dir.string()));
    for (const auto& word : specs[i].argv) {
      script += " " + shell_word(word);
    }
    script += fmt::format(" >>{} 2>&1 ;;\n", shell_word((dir / "slurm.log").string()));
  }
  return script + "esac\necho \"spmi: no wrapper for array element $SLURM_ARRAY_TASK_ID\" >&2\nexit 1\n";
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
    warn_unknown_keys(context,
                      {"type", "partition", "time", "cpus_per_task", "mem", "nodes", "sbatch_options", "array_throttle"});
    m_throttle = section.optional_integer("array_throttle", 1, 1000000);
    m_logger = context.logger;
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
    spec.dir->write_file("slurm-job.sh", k_job_script);
    const auto log = made_log(*spec.dir, "slurm.log");
    auto argv = sbatch_argv(spec.session_name, *spec.dir, log);
    argv.push_back((spec.dir->path() / "slurm-job.sh").string());
    argv.insert(argv.end(), spec.argv.begin(), spec.argv.end());
    LaunchResult launched;
    launched.backend_id = submit(argv);
    launched.queued = true;
    return launched;
  }

  // Several wrappers with these settings: one job array, element i the i-th (Backend ID <job>_<i>).
  // sbatch takes all or none: when it refuses, every launch fails with its message.
  std::vector<LaunchResult> launch_many(const std::vector<LaunchSpec>& specs) override
  {
    if (specs.size() == 1) {
      return {launch(specs.front())};
    }
    for (const auto& spec : specs) {
      made_log(*spec.dir, "slurm.log");  // each element appends to its own (the script's redirection)
    }
    const auto& first = *specs.front().dir;
    first.write_file("slurm-array.sh", array_script(specs));
    const auto log = made_log(first, "slurm-array.log");  // what SLURM says before an element's script runs
    auto argv = sbatch_argv("spmi.array." + first.id(), first, log);
    auto range = fmt::format("--array=0-{}", specs.size() - 1);
    if (m_throttle) {
      range += fmt::format("%{}", *m_throttle);
    }
    argv.push_back(range);
    argv.push_back("--open-mode=append");  // every element opens the array's log
    argv.push_back((first.path() / "slurm-array.sh").string());
    const auto job = submit(argv);
    std::vector<LaunchResult> results(specs.size());
    for (std::size_t i = 0; i < specs.size(); ++i) {
      results[i].backend_id = fmt::format("{}_{}", job, i);
      results[i].queued = true;
    }
    return results;
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
    std::map<std::string, QueueState> states;
    for (const auto& [id, info] : queue_report(backend_ids)) {
      states[id] = info.state;
    }
    return states;
  }

  // Only spmi's own jobs are asked about (squeue --jobs, sacct --jobs), never every user's.
  std::map<std::string, QueueInfo> queue_report(const std::vector<std::string>& backend_ids) override
  {
    // An ID sbatch could not have issued is in no queue and is never passed on: left out, so it is `gone`.
    std::set<std::string> wanted;
    std::copy_if(backend_ids.begin(), backend_ids.end(), std::inserter(wanted, wanted.end()), is_job_id);
    if (wanted.empty()) {
      return {};
    }
    int calls = 0;
    auto report = slurm::ask_scheduler(wanted, [this](std::vector<std::string> argv) { return run(argv[0], argv); }, calls);
    if (m_logger) {
      m_logger->debug("backend 'slurm': asked about {} jobs in {} scheduler calls", wanted.size(), calls);
    }
    return report;
  }

  bool cancel(const LaunchRecord& launch) override
  {
    const auto& job = checked_job_id(launch, "launch.json", "cancelled");
    return run("scancel", {"scancel", job}).status.code == 0;
  }

private:
  // The sbatch command line shared by a job and an array, up to the script: name, directory, log, settings.
  std::vector<std::string> sbatch_argv(const std::string& name, const ManageableDir& dir, const std::string& log) const
  {
    std::vector<std::string> argv = {"sbatch", "--parsable", "--job-name=" + name, "--chdir=" + dir.path().string(),
                                     "--output=" + log, "--error=" + log, "--export=ALL"};
    argv.insert(argv.end(), m_options.begin(), m_options.end());
    return argv;
  }

  // sbatch opens --output by its path: the file is made (or checked) here first, relative to the
  // verified directory, so it is a regular file of the user and never a planted link.
  static std::string made_log(const ManageableDir& dir, const std::string& name)
  {
    const auto log = (dir.path() / name).string();
    if (!UniqueFd(dir.open_file(name, O_WRONLY | O_CREAT | O_APPEND))) {
      throw_errno("cannot open " + log);
    }
    return log;
  }

  // Runs sbatch; the job number it printed, or throws with what it said.
  std::string submit(const std::vector<std::string>& argv)
  {
    const auto result = run("sbatch", argv);
    if (result.status.code != 0 || result.status.signal != 0) {
      throw BackendError(fmt::format("backend 'slurm': sbatch refused the job: {}", trimmed(result.err)));
    }
    // --parsable prints "<jobid>" or "<jobid>;<cluster>".
    const auto out = trimmed(result.out);
    const auto job = out.substr(0, out.find(';'));
    if (job.empty() || job.size() > 18 || !std::all_of(job.begin(), job.end(), ::isdigit)) {
      throw BackendError(fmt::format("backend 'slurm': sbatch printed no job id: '{}'", out));
    }
    return job;
  }

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
  std::optional<long long> m_throttle;  // array_throttle: at most this many elements of an array run at once
  std::shared_ptr<spdlog::logger> m_logger;
};

std::unique_ptr<Backend>
create(const PluginContext& context)
{
  return std::make_unique<SlurmBackend>(context);
}

} // namespace

SPMI_EXPORT_BACKEND(SlurmBackend, create)

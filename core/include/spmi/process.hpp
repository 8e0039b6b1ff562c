// SPDX-License-Identifier: MIT
/// \file
/// The one module that starts processes, waits for them and sends signals. Nothing else in spmi calls
/// fork, exec, posix_spawn, waitpid or kill. No shell command line is ever built here: argv vectors only.
/// (Sources: process.cpp starts and waits, process_signals.cpp signals, process_tree.cpp reads what
/// /proc says of other processes through the one /proc reader, supervisor.cpp is supervise() and the
/// watchdog, recorded.cpp the verified signal to a recorded wrapper.)
///
/// Why not Boost.Process: spmi uses Boost (DLL, headers), but Boost.Process 1.74 (Debian 12's) does not
/// do what a supervisor needs here, and each gap would be a hand-written extension run in the child:
/// - it always forks (or vforks) and execs, where spawn() uses posix_spawn, which is safe in a process
///   with threads; and where spmi must fork (to move the child into its task cgroup before exec, since
///   glibc 2.36 has no posix_spawnattr_setcgroup_np), only async-signal-safe calls run in the child, while
///   Boost's extension points (`on_exec_setup`, `limit_handles`, which lists /dev/fd with opendir) run
///   arbitrary C++ there;
/// - it leaves the child the caller's signal mask and dispositions: the wrapper blocks every signal to
///   take them with sigwaitinfo, so its task would start with them blocked. spawn() resets both;
/// - it has no setsid() (only process groups), which a task and the watchdog need to be out of the
///   wrapper's session;
/// - `child` knows a pid only, not a pidfd (signal_wrapper() signals through one), its destructor kills
///   a child still running, and its waits change SIGCHLD's action, which the wrapper's loop owns;
/// - exact descriptor inheritance (0-2 as given, or /dev/null, and nothing else, whatever the caller has
///   open without FD_CLOEXEC) is posix_spawn's addclosefrom_np or close_range here, one call each.
#pragma once

#include <spmi/export.hpp>
#include <spmi/membership.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spmi::process {

/// What spawn() starts, and how.
struct SPMI_API SpawnOptions
{
  std::vector<std::string> argv;             ///< argv[0] is looked up in PATH when it has no '/'
  std::optional<std::filesystem::path> cwd;  ///< working directory of the child
  int stdin_fd = -1;                         ///< -1: /dev/null
  int stdout_fd = -1;                        ///< -1: /dev/null
  int stderr_fd = -1;                        ///< -1: /dev/null
  bool new_session = false;                  ///< setsid(): no controlling terminal, own process group
  std::vector<std::string> extra_env;        ///< "NAME=value" entries added to (or replacing in) ours
  /// the child's environment ("NAME=value") that extra_env adds to; unset: ours
  std::optional<std::vector<std::string>> env;
  /// An open `cgroup.procs` (TaskGroup::procs_fd()): the child moves itself into that cgroup before it
  /// execs, so nothing it starts is ever outside; if it can't, it does not exec and spawn() throws.
  int cgroup_procs_fd = -1;
  /// An open cgroup v2 directory (TaskGroup::task_dir_fd()): the child is created in it (clone3 with
  /// CLONE_INTO_CGROUP), which costs the kernel no migration; where it can't be, cgroup_procs_fd is
  /// used as above.
  int cgroup_dir_fd = -1;
  /// the file executed, when it is not argv[0] (which the child still gets as its argv[0]); unset:
  /// argv[0], looked up in PATH when it has no '/'
  std::optional<std::filesystem::path> program;
};

/// What fork_into_cgroup() did.
struct SPMI_API ForkedInto
{
  pid_t pid = -1;       ///< as fork(): 0 in the child, -1 when it failed (errno says why)
  bool placed = false;  ///< the child started in the cgroup; false: where its parent is
};
/// fork(), the child starting in the cgroup v2 directory `cgroup_dir_fd` (clone3 with
/// CLONE_INTO_CGROUP): moving a process between cgroups later waits for an RCU grace period (10-20 ms
/// on an idle host), starting it there does not. Where the kernel can't (older than 5.7, or a refusal
/// a migration would meet too), or with -1, a plain fork(), `placed` false: the child moves itself.
/// The child of a clone runs no fork handlers (malloc's among them): until it execs or exits it may
/// only make async-signal-safe calls.
SPMI_API ForkedInto fork_into_cgroup(int cgroup_dir_fd);

/// Starts a child with default signal dispositions, an empty signal mask and no inherited descriptors
/// beyond 0-2. @return its pid. @throws SystemError (naming argv[0]) when it can't be started.
SPMI_API pid_t spawn(const SpawnOptions& options);

/// How a process ended.
struct SPMI_API ExitStatus
{
  int code = 0;    ///< exit code when signal == 0
  int signal = 0;  ///< terminating signal, 0 when it exited
  /// Exit code as a shell reports it: code, or 128 + signal.
  int shell_code() const { return signal != 0 ? 128 + signal : code; }
};

/// Decodes a waitpid() status.
SPMI_API ExitStatus decode_wait_status(int status);

/// Waits for `pid` (retrying on EINTR). @throws SystemError when waitpid fails.
SPMI_API ExitStatus wait(pid_t pid);
/// Non-blocking wait: nullopt while the child runs. @throws SystemError when waitpid fails.
SPMI_API std::optional<ExitStatus> try_wait(pid_t pid);

/// What a finished command printed, and how it ended.
struct SPMI_API Captured
{
  /// how it ended
  ExitStatus status;
  /// its stdout
  std::string out;
  /// its stderr
  std::string err;
};

/// Runs a command to completion with stdin from /dev/null and captures its output (each stream at most
/// 1 MiB; the rest is dropped). Kills it with SIGKILL after `timeout`.
/// @throws SystemError when it can't be started or times out.
SPMI_API Captured run_capture(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

/// Every process whose ancestry leads to `pid` (not `pid` itself), from one scan of /proc.
SPMI_API std::vector<pid_t> descendants(pid_t pid);
/// Resource use of a process tree, read from /proc (see tree_usage).
struct SPMI_API TreeUsage
{
  std::size_t processes = 0;   ///< live processes counted
  double cpu_seconds = 0;      ///< user + system CPU time of those processes
  double cpu_percent = 0;      ///< sum over them of each one's CPU time / its age (ps's %CPU), in percent
  std::uint64_t rss_bytes = 0; ///< sum of their resident set sizes
};

/// Whose processes tree_usage measures: a run's members as TaskGroup finds them (see membership.hpp):
/// its cgroup's processes when `cgroup` is set, else every descendant of `pid` except `watchdog` and
/// what carries another run's marker, plus `main_pid`'s process group and session.
struct SPMI_API TreeRoot
{
  pid_t pid = 0;            ///< the run's wrapper; not counted itself
  std::string marker_env;   ///< "SPMI_RUN_TOKEN=<token>" of the run; empty: no marker checks
  std::string cgroup;       ///< the run's task cgroup; empty: fallback membership
  pid_t watchdog = 0;       ///< the wrapper's watchdog, never counted
  pid_t main_pid = 0;       ///< the task's main process (0: unknown)
};

/// Resource use of many trees from ONE scan of `proc_root` (normally /proc): per root pid, what its tree
/// uses right now. Roots that don't exist get an empty TreeUsage. Never throws for vanished processes.
SPMI_API std::map<pid_t, TreeUsage> tree_usage(const std::vector<TreeRoot>& roots,
                                                const std::filesystem::path& proc_root = "/proc");

/// Every process of ours whose environment holds exactly `entry` ("NAME=value"), from /proc.
SPMI_API std::vector<pid_t> processes_with_env(const std::string& entry);
/// True when process `pid`'s environment holds exactly `entry`.
SPMI_API bool has_env(pid_t pid, const std::string& entry);
/// Makes this process the reaper of its orphaned descendants (prctl PR_SET_CHILD_SUBREAPER).
/// @throws SystemError when prctl fails.
SPMI_API void become_subreaper();
/// Sends `signo` to one process. False when it does not exist or can't be signalled, and for
/// `pid` <= 1 (never init, never every process).
SPMI_API bool signal_process(pid_t pid, int signo);

/// Sends `signo` to the process group `pgid`. False when no such group exists or can't be signalled,
/// and for `pgid` <= 1.
SPMI_API bool signal_group(pid_t pgid, int signo);
/// True when a process `pid` exists and is not a zombie.
SPMI_API bool is_running(pid_t pid);

/// "SIGINT" for 2; "signal 77" for unknown numbers.
SPMI_API std::string signal_name(int signo);
/// Accepts "SIGINT", "INT", "int" or "2"; nullopt when unknown.
SPMI_API std::optional<int> parse_signal(std::string_view name);

/// Absolute path of an executable named `name` in $PATH, nullopt when absent.
SPMI_API std::optional<std::filesystem::path> find_in_path(const std::string& name);
/// This boot's identity: /proc/sys/kernel/random/boot_id, or the file $SPMI_BOOT_ID_FILE names (tests
/// simulate a reboot with it). "" when it can't be read.
SPMI_API std::string boot_id();
/// This host's name (uname's nodename, what `hostname` prints); "" when it can't be read.
SPMI_API std::string host_name();
/// Path of the running executable (/proc/self/exe). @throws SystemError when it can't be read.
SPMI_API std::filesystem::path self_exe();

/// Gives back what a long waiting process (the wrapper, its watchdog) no longer uses once set up: free
/// heap pages, and the pages of its program file that setup read, which come back on use.
SPMI_API void release_idle_memory();

/// How supervise() runs a task.
struct SPMI_API SuperviseOptions
{
  SpawnOptions task;                 ///< the task's main process (give it new_session)
  std::string marker_env;            ///< "NAME=value" put in the task's environment (task_marker())
  TaskGroup* group = nullptr;        ///< the run's processes (TaskGroup::create()); required
  int kill_request_signal = 0;       ///< on this signal the whole group gets SIGKILL
  std::chrono::milliseconds leftover_grace{2000};  ///< after the main process ends: SIGTERM, then SIGKILL
  std::function<void(pid_t)> on_started;            ///< called once the main process runs
  std::function<void(int)> on_signal;               ///< called with each signal received (not SIGCHLD),
                                                    ///< before it is passed on
  std::function<void(pid_t)> on_reaped;             ///< called with each child reaped but the main process
                                                    ///< (the wrapper starts a new watchdog if it was that)
  /// While the main process runs: when on_wakeup is next due (nullopt: not at all). Asked again after
  /// every signal and every wake-up.
  std::function<std::optional<std::chrono::steady_clock::time_point>()> next_wakeup;
  std::function<void()> on_wakeup;                  ///< called once the time next_wakeup gave has come
  /// A signal the kernel sends when the task's output is ready to read (F_SETSIG on the pipes' read
  /// ends): when it comes from the kernel (si_code > 0) on_io is called instead of passing it on. 0: none.
  int io_signal = 0;
  std::function<bool()> on_io;  ///< reads what is ready; true when more may be left (called again at once)
};

/// Runs a task as its supervisor, in the calling process (the wrapper), and returns how the task's main
/// process ended, once no member of its group is left:
/// - the main process starts in the group (its cgroup) in a session of its own;
/// - every signal this process receives is passed on to every member; kill_request_signal SIGKILLs them;
/// - when the main process ends, what is left gets SIGTERM, then SIGKILL after leftover_grace;
/// - while the main process runs, on_wakeup is called at the times next_wakeup says (timers of hooks).
/// The signals it waits for are blocked while it runs and the caller's mask is restored on return; a
/// caller that blocks them itself beforehand keeps signals that arrive later pending for itself.
/// @throws SystemError when the task can't be started.
SPMI_API ExitStatus supervise(const SuperviseOptions& options);

/// A program a watchdog executes (start_watchdog()).
struct SPMI_API WatchdogProgram
{
  std::vector<std::string> argv;  ///< the program and its arguments
  std::vector<std::string> env;   ///< its whole environment ("NAME=value")
  std::vector<int> inherited;     ///< descriptors it keeps open across exec
};
/// Forks a watchdog: a child in a session of its own (so what ends the caller's session, such as a
/// terminal hang-up or `tmux kill-server`, does not reach it) that waits for the caller to die and then
/// runs `on_caller_death` and exits. The caller should be a child subreaper (become_subreaper()).
/// With a `program`, the child first executes it instead (a fresh image costs a few pages, where a
/// forked copy keeps every page the caller writes later), keeping its `inherited` descriptors open, its
/// session, its parent-death signal (SIGUSR1) and its signal mask; the program then does the waiting
/// (wait_for_caller_death()) and the work. Only when that exec fails does the child wait and run
/// `on_caller_death` itself. @return its pid. @throws SystemError when fork fails.
/// With a `cgroup_dir_fd` (an open cgroup v2 directory), the watchdog starts in that cgroup (see
/// fork_into_cgroup()).
SPMI_API pid_t start_watchdog(std::function<void()> on_caller_death, const WatchdogProgram* program = nullptr,
                              int cgroup_dir_fd = -1);
/// In a watchdog program started by start_watchdog(): returns once `caller` is no longer its parent.
SPMI_API void wait_for_caller_death(pid_t caller);
/// Ends a watchdog that is no longer needed (SIGKILL, then reaps it).
SPMI_API void stop_watchdog(pid_t watchdog);

/// While one lives, SIGINT, SIGTERM and SIGHUP do not end the process: the first one received is
/// recorded instead (interrupt_pending()), so a command can finish or undo its work all or nothing and
/// then say what happened. Construct it before the work begins; the previous actions come back when it
/// is destroyed (a signal received meanwhile is not re-raised then: see Interrupted). One at a time.
class SPMI_API DeferredInterrupts
{
public:
  /// Installs the recording handlers. @throws SystemError when they can't be installed.
  DeferredInterrupts();
  /// Restores the actions that were there before.
  ~DeferredInterrupts();
  DeferredInterrupts(const DeferredInterrupts&) = delete;
  DeferredInterrupts& operator=(const DeferredInterrupts&) = delete;
};
/// The first SIGINT, SIGTERM or SIGHUP received while a DeferredInterrupts lived (its number); 0 when
/// none was, or none lives now.
SPMI_API int interrupt_pending();
/// Ends this process by `signo` with its default action (after a command undid its work on an
/// interrupt, so the caller, e.g. a shell, sees it was interrupted). Never returns.
[[noreturn]] SPMI_API void die_by_signal(int signo);

/// Sleeps with growing steps (from 0.5 ms up to `max_step`) until `done()` is true or `timeout` passes.
/// @return the last value of `done()`.
template<typename Predicate>
bool
wait_until(Predicate done, std::chrono::milliseconds timeout,
           std::chrono::microseconds max_step = std::chrono::microseconds(20000));

/// Sleeps for `duration` (std::this_thread::sleep_for, out of line).
SPMI_API void sleep_for(std::chrono::microseconds duration);

// --- Inline implementations ---

template<typename Predicate>
bool
wait_until(Predicate done, std::chrono::milliseconds timeout, std::chrono::microseconds max_step)
{
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto step = std::min(std::chrono::microseconds(500), max_step);
  while (true) {
    if (done()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return done();
    }
    sleep_for(step);
    step = std::min(step * 2, max_step);
  }
}

} // namespace spmi::process

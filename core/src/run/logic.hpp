// SPDX-License-Identifier: MIT
// The run protocol's pure logic, kept apart from its processes so unit tests can reach it (exported
// for them, not part of the SDK): restart
// decisions and backoff, sizes with suffixes, env_file parsing, line timestamps, and the size-rotated
// output file.
#pragma once

#include <spmi/export.hpp>
#include <spmi/run_protocol.hpp>
#include <spmi/state.hpp>
#include <spmi/unique_fd.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spmi::wrapper {

using spmi::RestartPolicy;

// "no", "on-failure", "always"; nullopt otherwise.
SPMI_API std::optional<RestartPolicy> parse_restart_policy(std::string_view text);

// Whether an attempt that ended so should be followed by another, before counting limits. A task the
// user stopped or killed is never restarted.
SPMI_API bool wants_restart(RestartPolicy policy, int exit_code, int exit_signal, bool stopped_by_user);

// Delay before the next attempt when `recent` restarts already happened within the window:
// initial * 2^recent, at most `max`.
SPMI_API std::chrono::milliseconds backoff_delay(std::chrono::milliseconds initial, std::chrono::milliseconds max, int recent);

// "5 s", "0.3 s": a duration as status and wrapper.log say it.
SPMI_API std::string seconds_text(std::chrono::milliseconds duration);

// The restart policy as `status` says it: "never", or "on-failure (at most 5 restarts in 300 s; delay
// 1 s, doubling up to 60 s)".
SPMI_API std::string restart_policy_text(const RunSettings& settings);

// max_memory: the smallest limit allowed (0 aside: no limit), and how often the wrapper samples the
// task's memory; a task that allocates fast can go past the limit by what it takes in one interval.
constexpr std::uint64_t k_min_memory = 1ull << 20;
constexpr std::chrono::milliseconds k_memory_interval{1000};

// "60M", "2.3G", "512K", "100B": a size as max_memory's messages say it (1024-based, as the keys read).
SPMI_API std::string size_text(std::uint64_t bytes);

// Output is bounded by default, as supervisord's is (50 MiB, 10 backups): each stream rotates when it
// would grow past k_default_max_output_size, keeping k_default_output_files_kept old files.
constexpr std::uint64_t k_default_max_output_size = 50ull << 20;
constexpr int k_default_output_files_kept = 10;
// The smallest max_output_size allowed, 0 (unbounded) aside (read with Section::optional_size).
constexpr std::uint64_t k_min_output_size = 1024;

// Parses an env_file's text: KEY=VALUE lines; blank lines and lines starting with '#' (after spaces)
// are skipped; an optional leading "export " is allowed; a value wrapped in matching single or double
// quotes loses them (no escapes, no expansion). Throws std::invalid_argument("<where>:<line>: ...")
// for a line without '=', with a NUL byte or with a key that is not [A-Za-z_][A-Za-z0-9_]*; the message
// names the file and line number only, never the line's text (an env_file often holds secrets).
SPMI_API std::vector<std::pair<std::string, std::string>> parse_env_file(std::string_view text, const std::string& where);

// True when `name` is a valid environment variable name: [A-Za-z_][A-Za-z0-9_]*.
SPMI_API bool is_env_name(std::string_view name);

// "2026-11-25T19:07:12.345Z " for `t` (UTC, milliseconds, with the trailing space).
SPMI_API std::string timestamp_prefix(std::chrono::system_clock::time_point t);

// Writes a task's output to the file `name` of a manageable's directory (opened only relative to that
// verified directory, see ManageableDir::open_file()), optionally prefixing each line with a timestamp, and rotates by size:
// when the next line would not fit in max_size bytes, `path` is renamed to path.1 (path.1 to path.2, ...;
// path.<kept> is deleted) and a fresh `path` is created, so followers see the inode change. A file never
// exceeds max_size: a line is split only when it does not fit into an empty file (or was begun in the
// current one and outgrows it). max_size 0 means no rotation.
class SPMI_API OutputFile
{
public:
  OutputFile(spmi::ManageableDir dir, std::string name, std::uint64_t max_size, int kept, bool timestamps);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // Opens (appending) the file. Throws spmi::SystemError, or spmi::StateError when it is insecure.
  void open();
  // Writes `data` read at time `now`, opening the file again first if a rotation could not (so output
  // comes back once a full disk has room). Throws spmi::SystemError.
  void write(std::string_view data, std::chrono::system_clock::time_point now);
  // Ends an unfinished last line with '\n' when timestamps are on (so the next line gets its prefix).
  void end_line();
  std::uint64_t size() const { return m_size; }

private:
  struct Batch;  // pieces written together with one writev

  void rotate();
  // Adds `data` to `batch`, counting it in size() at once; writes the batch when it is full.
  void queue(Batch& batch, std::string_view data);
  // Writes what `batch` holds (all of it: short writes are continued). Throws spmi::SystemError.
  void flush(Batch& batch);

  spmi::ManageableDir m_dir;
  std::string m_name;
  std::filesystem::path m_path;  // for messages
  std::uint64_t m_max;
  int m_kept;
  bool m_timestamps;
  UniqueFd m_fd;
  std::uint64_t m_size = 0;
  bool m_line_start = true;
};

} // namespace spmi::wrapper

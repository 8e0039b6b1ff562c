// SPDX-License-Identifier: MIT
/// \file
/// What `spmi top` shows, decided by the core: the selected manageables, re-read cheaply at every
/// refresh, with the CPU they used over the last interval (not since they started), and the order the
/// user sorts them in. The CLI only draws these rows and passes keys on.
#pragma once

#include <spmi/export.hpp>
#include <spmi/views.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spmi {

class Controller;

/// A column `spmi top` sorts by.
enum class SortKey
{
  id,        ///< by ID, A to Z
  state,     ///< by state word, then ID
  cpu,       ///< by CPU% over the last interval, highest first
  memory,    ///< by memory, highest first
  uptime,    ///< by uptime, longest first
  restarts,  ///< by automatic restarts, most first
};

/// The column name of `key` as `top` heads it ("ID", "STATE", "CPU%", "MEM", "UPTIME", "RESTARTS").
SPMI_API const char* sort_key_word(SortKey key);

/// One manageable as `spmi top` shows it: what `list` shows of it, and its CPU over the interval.
struct SPMI_API MonitorRow
{
  /// state, records, pid, restarts, resources (memory), as `list` decides them
  ManageableView view;
  /// CPU used over the last interval, in percent of one CPU (200 = two CPUs busy); unset while it does
  /// not run, or on its first sample (nothing to compare with yet)
  std::optional<double> cpu_percent;
  /// how long its current attempt has run, while active
  std::optional<std::chrono::seconds> uptime;
};

/// The number of states (State::unknown is the last).
inline constexpr std::size_t k_state_count = static_cast<std::size_t>(State::unknown) + 1;

/// One refresh of `spmi top`.
struct SPMI_API MonitorSample
{
  /// the selected manageables, in the order sort_rows() put them
  std::vector<MonitorRow> rows;
  /// how many rows are in each state, indexed by State
  std::array<std::size_t, k_state_count> counts{};
  /// when it was taken
  TimePoint taken_at;
  /// what could not be told, e.g. which ones are pending when a scheduler can't be asked; "" when all was
  std::string note;
};

/// The CPU a task used between two samples, in percent of one CPU: the growth of its cumulative CPU
/// time (`cpu_before` to `cpu_after` seconds) over `wall_seconds` of wall time. nullopt when it can't
/// be told: no wall time passed, or the counter went down (a new run, or processes that ended and took
/// their time with them in the process-tree fallback; the next interval tells again).
SPMI_API std::optional<double> interval_cpu_percent(double cpu_before, double cpu_after, double wall_seconds);

/// Sorts `rows` by `key`, highest first for the figures (CPU, memory, uptime, restarts) and A to Z for
/// ID and state; `reverse` turns it round. Rows without a figure (not running) come after those with
/// one either way; ties are by ID.
SPMI_API void sort_rows(std::vector<MonitorRow>& rows, SortKey key, bool reverse = false);

/// The manageables `spmi top` watches, sampled at each refresh() for much less than a `list`: each
/// one's records and manageable.json are read again only when its directory changed (a start, a run
/// record, a reload each replace a file there; output does not), and besides in turn (a 30th of them
/// per refresh); the alive lock is tested only of those that ran at the last look or changed; /proc is
/// read once for all that run. Loads no plugin unless a launch is queued (then its backend
/// asks the scheduler, as `list` does).
class SPMI_API Monitor
{
public:
  /// Watches the manageables that match any of `patterns` (all when empty) through `controller`, which
  /// must outlive it; the patterns are matched again at each refresh, so tasks loaded later appear.
  Monitor(Controller& controller, std::vector<std::string> patterns);

  /// Takes a sample now, sorted by `key` (see sort_rows()). CPU% is over the time since the previous
  /// refresh. @throws UsageError for an invalid pattern; StateError when the state directory can't be read.
  const MonitorSample& refresh(SortKey key = SortKey::id, bool reverse = false);
  /// The latest sample (empty before the first refresh()).
  const MonitorSample& sample() const { return m_sample; }
  /// Sorts the latest sample again, without reading anything.
  void sort(SortKey key, bool reverse = false) { sort_rows(m_sample.rows, key, reverse); }
  /// Patterns that matched nothing at the latest refresh.
  const std::vector<std::string>& unmatched() const { return m_unmatched; }
  /// How many refreshes pass before an inactive manageable whose directory did not change is read again.
  static constexpr unsigned k_reread_every = 30;

private:
  /// What is kept of a manageable between refreshes.
  struct Entry
  {
    ManageableView view;      ///< without resources
    bool active = false;      ///< its alive lock was held at the latest look
    bool read = false;        ///< its records were read at least once
    double cpu_seconds = -1;  ///< cumulative CPU time at the latest sample (-1: none)
    std::string run_token;    ///< the run that CPU time belongs to
    std::chrono::steady_clock::time_point sampled_at;  ///< when cpu_seconds was taken
    std::int64_t stamp = 0;   ///< its directory's inode and change time when last read (0: unknown)
  };
  /// The selected IDs, sorted.
  std::vector<std::string> selected();
  /// Looks at `id` at `now` (its alive lock and records, when it runs, changed, or is `due`), updating `entry`.
  void look(const std::string& id, Entry& entry, bool due, TimePoint now);
  /// Decides pending for the inactive ones with a queued launch.
  void decide_pending(const std::vector<std::string>& ids);
  /// The rows from the entries: resources from one /proc scan, CPU% over the interval.
  void fill_rows(const std::vector<std::string>& ids);

  Controller& m_controller;
  std::vector<std::string> m_patterns;
  std::vector<std::string> m_unmatched;
  std::map<std::string, Entry> m_entries;
  unsigned m_tick = 0;
  MonitorSample m_sample;
};

} // namespace spmi

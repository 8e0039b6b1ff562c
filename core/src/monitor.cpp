// SPDX-License-Identifier: MIT
// `spmi top`'s figures (spmi/monitor.hpp): the selected manageables re-read at each refresh for little
// more than one alive lock test each, their resources from one scan of /proc, CPU% over the interval.
#include <spmi/controller.hpp>
#include <spmi/errors.hpp>
#include <spmi/monitor.hpp>

#include "controller_detail.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <tuple>

namespace spmi {

using namespace detail;

namespace {

// Running ones first, inactive ones last: the order `top` sorts states in.
int
state_rank(State state)
{
  switch (state) {
  case State::active: return 0;
  case State::restarting: return 1;
  case State::pending: return 2;
  case State::failed: return 3;
  case State::unknown: return 4;
  case State::inactive: break;
  }
  return 5;
}

// The figure `key` sorts by; nullopt when the row has none (it does not run).
std::optional<double>
figure(const MonitorRow& row, SortKey key)
{
  switch (key) {
  case SortKey::cpu: return row.cpu_percent;
  case SortKey::memory:
    return row.view.resources ? std::optional<double>(static_cast<double>(row.view.resources->rss_bytes)) : std::nullopt;
  case SortKey::uptime: return row.uptime ? std::optional<double>(static_cast<double>(row.uptime->count())) : std::nullopt;
  case SortKey::restarts: return static_cast<double>(row.view.restarts);
  case SortKey::id:
  case SortKey::state: break;
  }
  return std::nullopt;
}

// True when `view` (inactive) waits for its queued launch's wrapper: only the scheduler can tell.
bool
maybe_queued(const ManageableView& view)
{
  return view.launch && view.launch->queued && !(view.run && view.run->token == view.launch->token);
}

// A stamp of a manageable's directory `path`: its inode and when its entries last changed, to the
// nanosecond, which every start, record, reload, rotation and clean changes (each adds, replaces or
// removes a file there) and written output does not. Only a hint of what to read again: what is read
// goes through the verified ManageableDir. 0 when it can't be told, or when the change is so recent
// that another in the same clock tick could still come unseen (then it is read again next time).
std::int64_t
dir_stamp(const std::filesystem::path& path, TimePoint now)
{
  struct stat st {};
  if (::fstatat(AT_FDCWD, path.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
    return 0;
  }
  const auto changed = std::chrono::seconds(st.st_ctim.tv_sec) + std::chrono::nanoseconds(st.st_ctim.tv_nsec);
  if (now.time_since_epoch() - changed < std::chrono::milliseconds(100)) {
    return 0;
  }
  return static_cast<std::int64_t>(st.st_ino) * 1'000'000'007 +
         std::chrono::duration_cast<std::chrono::nanoseconds>(changed).count();
}

} // namespace

const char*
sort_key_word(SortKey key)
{
  switch (key) {
  case SortKey::id: return "ID";
  case SortKey::state: return "STATE";
  case SortKey::cpu: return "CPU%";
  case SortKey::memory: return "MEM";
  case SortKey::uptime: return "UPTIME";
  case SortKey::restarts: return "RESTARTS";
  }
  return "ID";
}

std::optional<double>
interval_cpu_percent(double cpu_before, double cpu_after, double wall_seconds)
{
  if (!(wall_seconds > 0) || cpu_after < cpu_before || cpu_before < 0) {
    return std::nullopt;
  }
  return 100.0 * (cpu_after - cpu_before) / wall_seconds;
}

void
sort_rows(std::vector<MonitorRow>& rows, SortKey key, bool reverse)
{
  const auto before = [key, reverse](const MonitorRow& a, const MonitorRow& b) {
    if (key == SortKey::id) {
      return reverse ? b.view.id < a.view.id : a.view.id < b.view.id;
    }
    if (key == SortKey::state) {
      const int ra = state_rank(a.view.state);
      const int rb = state_rank(b.view.state);
      if (ra != rb) {
        return reverse ? rb < ra : ra < rb;
      }
      return a.view.id < b.view.id;
    }
    const auto fa = figure(a, key);
    const auto fb = figure(b, key);
    if (fa.has_value() != fb.has_value()) {
      return fa.has_value();  // rows with a figure first, whichever way
    }
    if (fa && *fa != *fb) {
      return reverse ? *fa < *fb : *fa > *fb;
    }
    return a.view.id < b.view.id;
  };
  std::stable_sort(rows.begin(), rows.end(), before);
}

Monitor::Monitor(Controller& controller, std::vector<std::string> patterns)
  : m_controller(controller), m_patterns(std::move(patterns))
{
}

std::vector<std::string>
Monitor::selected()
{
  m_unmatched.clear();
  if (m_patterns.empty()) {
    return m_controller.ids();
  }
  return m_controller.select(m_patterns, m_unmatched);
}

void
Monitor::look(const std::string& id, Entry& entry, bool due, TimePoint now)
{
  const auto dir = m_controller.store().dir(id);
  // Records and manageable.json are read again only when the directory changed (or in turn, `due`); a
  // running one's alive lock is tested every time, since a killed wrapper changes no file.
  const auto stamp = dir_stamp(dir.path(), now);
  const bool changed = stamp == 0 || stamp != entry.stamp || due || !entry.read || !entry.view.problem.empty() ||
                       maybe_queued(entry.view);
  if (!changed && !entry.active) {
    return;
  }
  entry.stamp = stamp;
  try {
    const bool active = dir.is_active();
    if (!changed && active == entry.active) {
      return;
    }
    ManageableView view;
    view.id = id;
    read_view_meta(view, dir.read_meta());
    read_view_records(view, dir);
    decide_view(view, active, false);
    entry.view = std::move(view);
    entry.read = true;
    entry.active = active;
  } catch (const std::exception& e) {
    entry.view = ManageableView{};
    entry.view.id = id;
    entry.view.problem = e.what();
    entry.read = false;
    entry.active = false;
  }
}

void
Monitor::decide_pending(const std::vector<std::string>& ids)
{
  std::vector<std::string> queued;
  for (const auto& id : ids) {
    const auto& entry = m_entries.at(id);
    if (!entry.active && entry.view.problem.empty() && maybe_queued(entry.view)) {
      queued.push_back(id);
    }
  }
  if (queued.empty()) {
    return;
  }
  try {
    const auto states = m_controller.queued_states(queued);
    for (const auto& id : queued) {
      const auto it = states.find(id);
      auto& view = m_entries.at(id).view;
      view.state = decide_state(false, it != states.end() && it->second != QueueState::gone, view.run);
    }
  } catch (const Error& e) {
    m_sample.note = std::string("cannot tell which manageables are pending: ") + e.what();
  }
}

void
Monitor::fill_rows(const std::vector<std::string>& ids)
{
  auto& rows = m_sample.rows;
  rows.clear();
  rows.reserve(ids.size());
  m_sample.counts.fill(0);
  for (const auto& id : ids) {
    rows.push_back(MonitorRow{m_entries.at(id).view, std::nullopt, std::nullopt});
  }
  std::vector<ManageableView*> views;
  for (auto& row : rows) {
    if (row.view.running()) {
      views.push_back(&row.view);
    }
  }
  measure(views);
  const auto now = std::chrono::steady_clock::now();
  m_sample.taken_at = Clock::now();
  for (auto& row : rows) {
    auto& entry = m_entries.at(row.view.id);
    ++m_sample.counts[static_cast<std::size_t>(row.view.state)];
    if (row.view.active() && row.view.started_at) {
      row.uptime = std::max(std::chrono::seconds(0), std::chrono::duration_cast<std::chrono::seconds>(
                                                       m_sample.taken_at - *row.view.started_at));
    }
    if (!row.view.resources || !row.view.run) {
      entry.cpu_seconds = -1;
      continue;
    }
    const double cpu = row.view.resources->cpu_seconds;
    if (entry.cpu_seconds >= 0 && entry.run_token == row.view.run->token) {
      row.cpu_percent = interval_cpu_percent(entry.cpu_seconds, cpu,
                                             std::chrono::duration<double>(now - entry.sampled_at).count());
    }
    entry.cpu_seconds = cpu;
    entry.run_token = row.view.run->token;
    entry.sampled_at = now;
  }
}

const MonitorSample&
Monitor::refresh(SortKey key, bool reverse)
{
  const auto ids = selected();
  const std::set<std::string> wanted(ids.begin(), ids.end());
  for (auto it = m_entries.begin(); it != m_entries.end();) {
    it = wanted.count(it->first) ? std::next(it) : m_entries.erase(it);
  }
  m_sample.note.clear();
  const unsigned tick = m_tick++;
  const auto now = Clock::now();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    look(ids[i], m_entries[ids[i]], (i + tick) % k_reread_every == 0, now);
  }
  decide_pending(ids);
  fill_rows(ids);
  sort_rows(m_sample.rows, key, reverse);
  return m_sample;
}

} // namespace spmi

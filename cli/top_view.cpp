// SPDX-License-Identifier: MIT
// `spmi top`'s screen as text: the header with counts per state, the table (states coloured as `list`
// colours them), the message and help lines, the logs view; and what each key does. Pure: no terminal,
// no state read, so the unit tests (tests/cli/unit) check it.
#include "commands.hpp"
#include "top.hpp"

#include <spmi/text.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>

namespace spmi::cli {

namespace {

constexpr const char* k_help = "j/k select  s stop  r restart  x kill  l logs  sort: c cpu m mem n id t state "
                               "u uptime R restarts </> I invert  q quit";

// The order of the table's sortable columns, for '<' and '>'.
constexpr SortKey k_columns[] = {SortKey::id,       SortKey::state,  SortKey::cpu,
                                 SortKey::memory, SortKey::restarts, SortKey::uptime};

// The SGR colour `list` gives a state (green active, yellow waiting, red failed or unknown); nullptr: none.
const char*
state_color(State state)
{
  switch (state) {
  case State::active: return "32";
  case State::pending:
  case State::restarting: return "33";
  case State::failed:
  case State::unknown: return "31";
  case State::inactive: break;
  }
  return nullptr;
}

// The state word padded, coloured with the foreground alone, so a selected (reversed) row stays reversed.
std::string
state_cell(State state, bool color)
{
  const auto word = fmt::format("{:<10}", state_word(state));
  const char* code = color ? state_color(state) : nullptr;
  return code ? fmt::format("\x1b[{}m{}\x1b[39m", code, word) : word;
}

std::string
header_line(const MonitorSample& sample, const std::vector<std::string>& unmatched, const TopLayout& layout)
{
  std::string counts;
  for (const auto state :
       {State::active, State::restarting, State::pending, State::failed, State::unknown, State::inactive}) {
    const auto count = sample.counts[static_cast<std::size_t>(state)];
    if (count > 0 || state == State::active) {
      counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", count, state_word(state));
    }
  }
  auto line = fmt::format("spmi top - {:%H:%M:%S}  {} manageable{}: {}  every {}s  sorted by {}{}",
                          fmt::localtime(Clock::to_time_t(sample.taken_at)),
                          sample.rows.size(), sample.rows.size() == 1 ? "" : "s", counts, layout.interval,
                          sort_key_word(layout.key), layout.reverse ? " (inverted)" : "");
  for (const auto& pattern : unmatched) {
    line += fmt::format("  no manageable matches '{}'", escape_control(pattern));
  }
  return line;
}

std::string
row_line(const MonitorRow& row, std::size_t id_width, bool color)
{
  const auto& view = row.view;
  const auto id = escape_control(view.id);
  if (!view.problem.empty()) {
    return fmt::format("{:<{}} {} error: {}", id, id_width, state_cell(view.state, color), escape_control(view.problem));
  }
  const auto pid = view.pid ? std::to_string(*view.pid) : "-";
  const auto cpu = row.cpu_percent ? fmt::format("{:.1f}", *row.cpu_percent) : "-";
  const auto mem = view.resources ? format_bytes(view.resources->rss_bytes) : "-";
  const auto uptime = row.uptime ? format_uptime(*row.uptime) : "-";
  return fmt::format("{:<{}} {} {:>7} {:>6} {:>6} {:>8} {:>7} {}", id, id_width, state_cell(view.state, color), pid,
                     cpu, mem, view.restarts, uptime, escape_control(view.comment));
}

// Where the escape sequence at `i` of `text` ends (one past it), or `i` when none starts there: only
// CSI sequences (ESC '['), the only ones this file writes; the task's text is escaped before.
std::size_t
escape_end(const std::string& text, std::size_t i)
{
  if (text[i] != '\x1b' || i + 1 >= text.size() || text[i + 1] != '[') {
    return i;
  }
  std::size_t end = i + 2;
  while (end < text.size() && (text[end] < 0x40 || text[end] > 0x7e)) {
    ++end;
  }
  return std::min(end + 1, text.size());
}

bool
starts_character(char c)
{
  return (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // not a UTF-8 continuation byte
}

// The number of characters `text` shows: UTF-8 continuation bytes and escape sequences not counted.
std::size_t
visible_width(const std::string& text)
{
  std::size_t shown = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (const auto end = escape_end(text, i); end != i) {
      i = end - 1;
    } else if (starts_character(text[i])) {
      ++shown;
    }
  }
  return shown;
}

// `line` reversed across the whole `width`, as the selected row and the column heads are.
std::string
reversed(const std::string& line, std::size_t width)
{
  const auto shown = visible_width(line);
  return "\x1b[7m" + line + std::string(width > shown ? width - shown : 0, ' ') + "\x1b[0m";
}

} // namespace

TopAction
top_action(int key)
{
  switch (key) {
  case 'q': case 3: return TopAction::quit;  // 3: Ctrl-C, read as a byte in raw mode
  case k_key_up: case 'k': return TopAction::up;
  case k_key_down: case 'j': return TopAction::down;
  case k_key_page_up: return TopAction::page_up;
  case k_key_page_down: case ' ': return TopAction::page_down;
  case k_key_home: case 'g': return TopAction::home;
  case k_key_end: case 'G': return TopAction::end;
  case 'n': return TopAction::sort_id;
  case 't': return TopAction::sort_state;
  case 'c': case 'P': return TopAction::sort_cpu;  // P: top's and htop's key for CPU
  case 'm': case 'M': return TopAction::sort_memory;
  case 'u': case 'T': return TopAction::sort_uptime;
  case 'R': return TopAction::sort_restarts;
  case '<': case ',': return TopAction::sort_previous;
  case '>': case '.': return TopAction::sort_next;
  case 'I': case 'i': return TopAction::invert;
  case 's': return TopAction::stop;
  case 'r': return TopAction::restart;
  case 'x': case 'K': return TopAction::kill;
  case 'l': case '\r': case '\n': return TopAction::logs;
  case 'h': case '?': return TopAction::help;
  default: return TopAction::none;
  }
}

SortKey
sort_step(SortKey key, int step)
{
  constexpr int count = static_cast<int>(std::size(k_columns));
  int at = 0;
  while (at < count && k_columns[at] != key) {
    ++at;
  }
  return k_columns[((at + step) % count + count) % count];
}

std::string
confirm_question(TopAction action, const std::string& id)
{
  const char* verb = action == TopAction::stop ? "Stop" : action == TopAction::restart ? "Restart" : "Kill";
  return fmt::format("{} {}? [y/N]", verb, escape_control(id));
}

std::size_t
scroll_to(std::size_t selected, std::size_t first, std::size_t visible)
{
  if (visible == 0 || selected < first) {
    return selected;
  }
  return selected >= first + visible ? selected + 1 - visible : first;
}

std::size_t
table_height(int rows)
{
  return static_cast<std::size_t>(std::max(1, rows - 4));
}

std::string
fit_width(const std::string& text, std::size_t width)
{
  std::string out;
  std::size_t shown = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (const auto end = escape_end(text, i); end != i) {
      out.append(text, i, end - i);  // an escape sequence of ours: kept, shows nothing
      i = end - 1;
      continue;
    }
    if (starts_character(text[i]) && shown++ == width) {
      break;
    }
    out += text[i];
  }
  return out;
}

std::vector<std::string>
top_frame(const MonitorSample& sample, const std::vector<std::string>& unmatched, const TopLayout& layout)
{
  const auto width = layout.batch ? std::string::npos : static_cast<std::size_t>(std::max(1, layout.cols));
  std::vector<std::string> lines;
  lines.push_back(fit_width(header_line(sample, unmatched, layout), width));
  if (!sample.note.empty()) {
    lines.back() += fit_width("  " + escape_control(sample.note), width);
  }
  std::size_t id_width = 2;
  for (const auto& row : sample.rows) {
    id_width = std::max(id_width, escape_control(row.view.id).size());
  }
  const auto heads = fmt::format("{:<{}} {:<10} {:>7} {:>6} {:>6} {:>8} {:>7} {}", "ID", id_width, "STATE", "PID", "CPU%",
                                 "MEM", "RESTARTS", "UPTIME", "COMMENT");
  lines.push_back(layout.color && !layout.batch ? "\x1b[1m" + fit_width(heads, width) + "\x1b[0m" : fit_width(heads, width));
  const std::size_t last = layout.batch ? sample.rows.size()
                                        : std::min(sample.rows.size(), layout.first + table_height(layout.rows));
  for (std::size_t i = layout.batch ? 0 : layout.first; i < last; ++i) {
    auto line = fit_width(row_line(sample.rows[i], id_width, layout.color), width);
    if (!layout.batch && i == layout.selected) {
      line = reversed(line, width);  // whether colours are on or not
    }
    lines.push_back(std::move(line));
  }
  if (layout.batch) {
    return lines;
  }
  while (lines.size() < table_height(layout.rows) + 2) {
    lines.emplace_back();
  }
  const auto message = fit_width(layout.message, width);
  lines.push_back(layout.color && layout.message_is_error ? "\x1b[31m" + message + "\x1b[0m" : message);
  lines.push_back(fit_width(k_help, width));
  return lines;
}

std::vector<std::string>
logs_frame(const std::string& id, const std::vector<std::string>& lines, const TopLayout& layout)
{
  const auto width = static_cast<std::size_t>(std::max(1, layout.cols));
  const auto room = static_cast<std::size_t>(std::max(1, layout.rows - 1));
  std::vector<std::string> frame;
  const auto title = fmt::format("Last lines of {}'s output (as spmi logs -n {})  q/Esc: back", escape_control(id), room);
  frame.push_back(layout.color ? reversed(fit_width(title, width), width) : fit_width(title, width));
  if (lines.empty()) {
    frame.emplace_back("(no output yet)");
  }
  for (std::size_t i = lines.size() > room ? lines.size() - room : 0; i < lines.size(); ++i) {
    frame.push_back(fit_width(lines[i], width));
  }
  return frame;
}

} // namespace spmi::cli

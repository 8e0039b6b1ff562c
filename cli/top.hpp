// SPDX-License-Identifier: MIT
// `spmi top`: the live monitor. The core decides the figures (spmi/monitor.hpp); this draws them, maps
// keys to what they do (top_view.cpp, pure, unit-tested) and runs the terminal (top.cpp, top_terminal.cpp).
#pragma once

#include <spmi/controller.hpp>
#include <spmi/monitor.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace spmi::cli {

// What `spmi top` was asked for on the command line.
struct TopOptions
{
  double interval = 2.0;    // seconds between refreshes (--interval, -i)
  bool batch = false;       // -b: print tables instead of a live screen (as `top -b`)
  std::optional<int> iterations;  // -n: how many tables (batch: 1 unless given), or refreshes before quitting
  SortKey sort = SortKey::id;     // --sort: the first order
  bool no_color = false;
};

// Declares `spmi top` and its options on `app`, filling `patterns` and `options`.
CLI::App* add_top_command(CLI::App& app, std::vector<std::string>& patterns, TopOptions& options);

// `spmi top [patterns]`. Returns the exit status.
int cmd_top(Controller& controller, const std::vector<std::string>& patterns, const TopOptions& options);

// What a key does on the main screen.
enum class TopAction
{
  none,
  quit,
  up,
  down,
  page_up,
  page_down,
  home,
  end,
  sort_id,
  sort_state,
  sort_cpu,
  sort_memory,
  sort_uptime,
  sort_restarts,
  sort_previous,
  sort_next,
  invert,
  stop,
  restart,
  kill,
  logs,
  help,
};

// Keys that are not one byte, as the terminal code (top_terminal.cpp) reports them.
enum TopKey : int
{
  k_key_up = 0x101,
  k_key_down,
  k_key_page_up,
  k_key_page_down,
  k_key_home,
  k_key_end,
  k_key_escape,
};

// What `key` (a byte, or a TopKey) does on the main screen.
TopAction top_action(int key);

// The key that sorts by `key`, and the column after (`step` 1) or before (-1) it in the table.
SortKey sort_step(SortKey key, int step);

// "Stop web? [y/N]": the question before an action (stop, restart, kill) on `id`.
std::string confirm_question(TopAction action, const std::string& id);

// What the screen shows besides the sample.
struct TopLayout
{
  int rows = 24;          // terminal height
  int cols = 80;          // terminal width
  std::size_t selected = 0;  // index of the selected row in the sample
  std::size_t first = 0;     // index of the first row shown (scrolling)
  SortKey key = SortKey::id;
  bool reverse = false;
  bool color = false;
  double interval = 2.0;
  bool batch = false;     // every row, no width limit, no selection, no help line
  std::string message;    // the bottom line: a question, an outcome, an error
  bool message_is_error = false;
};

// The first row to show so that `selected` is on a screen of `visible` rows, starting from `first`.
std::size_t scroll_to(std::size_t selected, std::size_t first, std::size_t visible);

// How many rows of the table fit on a screen of `rows` lines (header, column heads, message, help).
std::size_t table_height(int rows);

// The lines of one frame: the header, the column heads, the rows, and (not batch) the message and the
// help line, each cut to the width; in colour with escape sequences when `layout.color`.
std::vector<std::string> top_frame(const MonitorSample& sample, const std::vector<std::string>& unmatched,
                                   const TopLayout& layout);

// `text` cut to `width` characters (UTF-8 sequences kept whole; escape sequences not counted).
std::string fit_width(const std::string& text, std::size_t width);

// The lines of the logs view of `id`: a title, then `lines` (its last lines, already escaped), cut to
// the screen.
std::vector<std::string> logs_frame(const std::string& id, const std::vector<std::string>& lines,
                                    const TopLayout& layout);

// The terminal of the live screen (top_terminal.cpp): raw keys, the alternate screen, the cursor
// hidden; all restored by the destructor, also when an exception ends the screen. SIGWINCH is a resize;
// SIGHUP, SIGTERM, SIGINT and SIGQUIT, an end of input or a read or write error end it (ended()).
class TopTerminal
{
public:
  // @throws UsageError when standard input or output is not a terminal; SystemError when it can't be set up.
  TopTerminal();
  ~TopTerminal();
  TopTerminal(const TopTerminal&) = delete;
  TopTerminal& operator=(const TopTerminal&) = delete;

  // The next key (a byte or a TopKey), or -1 when `timeout` passed or a signal came first.
  int read_key(std::chrono::milliseconds timeout);
  // True once the terminal is gone (hang-up, end of input, read or write error) or a signal asked to end.
  bool ended() const { return m_ended; }
  // True once after each resize.
  bool take_resized();
  // Its size now (24x80 when it can't be asked).
  void size(int& rows, int& cols) const;
  // Draws `lines` from the top left, clearing what is left of each line and below.
  void draw(const std::vector<std::string>& lines);

private:
  // Reads what is there into m_input; false when the terminal is gone.
  bool fill(std::chrono::milliseconds timeout);
  // Takes one key from m_input (waiting briefly for the rest of an escape sequence).
  int take_key();
  void write_out(const std::string& text);

  std::string m_input;
  bool m_ended = false;
  bool m_resized = false;
  bool m_raw = false;
};

} // namespace spmi::cli

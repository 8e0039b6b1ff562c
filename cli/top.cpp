// SPDX-License-Identifier: MIT
// `spmi top`: the live monitor. Refreshes the Monitor's sample every interval and draws it (top_view.cpp)
// on the terminal (top_terminal.cpp); keys sort, select, stop/restart/kill the selected task after a
// y/N question, and show its last lines. With -b, prints the table instead, as `top -b` does.
#include "top.hpp"

#include <spmi/errors.hpp>
#include <spmi/follow.hpp>
#include <spmi/text.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <thread>

namespace spmi::cli {

namespace {

using SteadyClock = std::chrono::steady_clock;

// The first sample is compared with one taken this soon after, so the first screen has CPU figures.
constexpr std::chrono::milliseconds k_first_interval{500};

std::chrono::milliseconds
interval_of(double seconds)
{
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

// The last `count` lines of `id`'s stdout, escaped for the terminal, as `spmi logs -n` prints them.
std::vector<std::string>
last_lines(Controller& controller, const std::string& id, std::size_t count)
{
  auto output = controller.follow_output(id, "stdout");
  std::string text;
  if (output.start_at_tail_lines(count)) {
    output.pump([&text](const char* data, std::size_t size) { text.append(data, size); });
  }
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    const auto line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    lines.push_back(escape_control(line));
    start = end == std::string::npos ? text.size() : end + 1;
  }
  return lines;
}

// The live screen and what the user did on it.
class TopScreen
{
public:
  TopScreen(Controller& controller, Monitor& monitor, const TopOptions& options, TopTerminal& terminal)
    : m_controller(controller), m_monitor(monitor), m_options(options), m_terminal(terminal)
  {
    m_layout.interval = options.interval;
    m_layout.color = !options.no_color && std::getenv("NO_COLOR") == nullptr;
    m_layout.key = options.sort;
  }

  // Runs until a quit key, a signal or the terminal's end.
  void run()
  {
    auto next = SteadyClock::now() + std::min(k_first_interval, interval_of(m_options.interval));
    int refreshes = 0;
    draw();
    while (!m_terminal.ended()) {
      const auto now = SteadyClock::now();
      if (now >= next) {
        m_monitor.refresh(m_layout.key, m_layout.reverse);
        next = now + interval_of(m_options.interval);
        if (m_options.iterations && ++refreshes >= *m_options.iterations) {
          return;
        }
        draw();
      }
      const int key = m_terminal.read_key(std::chrono::duration_cast<std::chrono::milliseconds>(next - now));
      if (m_terminal.take_resized()) {
        draw();
      }
      if (key >= 0 && !handle(key)) {
        return;
      }
    }
  }

private:
  enum class Mode { table, confirm, logs };

  // The selected row's ID, "" when there are no rows.
  std::string selected_id() const
  {
    const auto& rows = m_monitor.sample().rows;
    return m_layout.selected < rows.size() ? rows[m_layout.selected].view.id : "";
  }

  // Keeps the selection on the ID it was on after the rows moved (a refresh, a new order).
  void follow_selection(const std::string& id)
  {
    const auto& rows = m_monitor.sample().rows;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (rows[i].view.id == id) {
        m_layout.selected = i;
        return;
      }
    }
    m_layout.selected = rows.empty() ? 0 : std::min(m_layout.selected, rows.size() - 1);
  }

  void draw()
  {
    m_terminal.size(m_layout.rows, m_layout.cols);
    if (m_mode == Mode::logs) {
      try {
        m_terminal.draw(logs_frame(m_logs_id, last_lines(m_controller, m_logs_id, table_height(m_layout.rows) + 3),
                                   m_layout));
        return;
      } catch (const Error& e) {
        m_mode = Mode::table;
        say(e.what(), true);
      }
    }
    follow_selection(m_selected_id);
    m_layout.first = scroll_to(m_layout.selected, m_layout.first, table_height(m_layout.rows));
    m_selected_id = selected_id();
    m_terminal.draw(top_frame(m_monitor.sample(), m_monitor.unmatched(), m_layout));
  }

  void say(const std::string& message, bool error = false)
  {
    m_layout.message = escape_control(message);
    m_layout.message_is_error = error;
  }

  // Handles one key; false to quit.
  bool handle(int key)
  {
    if (key == 3) {
      return false;  // Ctrl-C, wherever
    }
    if (m_mode == Mode::confirm) {
      answer(key == 'y' || key == 'Y');
    } else if (m_mode == Mode::logs) {
      if (key == 'q' || key == k_key_escape || key == 'l' || key == 'h') {
        m_mode = Mode::table;
      }
    } else if (!act(top_action(key))) {
      return false;
    }
    draw();
    return true;
  }

  // What an action key does on the table; false to quit.
  bool act(TopAction action)
  {
    const auto rows = m_monitor.sample().rows.size();
    const auto page = table_height(m_layout.rows);
    auto& selected = m_layout.selected;
    switch (action) {
    case TopAction::quit: return false;
    case TopAction::up: selected = selected > 0 ? selected - 1 : 0; break;
    case TopAction::down: selected = rows > 0 ? std::min(selected + 1, rows - 1) : 0; break;
    case TopAction::page_up: selected = selected > page ? selected - page : 0; break;
    case TopAction::page_down: selected = rows > 0 ? std::min(selected + page, rows - 1) : 0; break;
    case TopAction::home: selected = 0; break;
    case TopAction::end: selected = rows > 0 ? rows - 1 : 0; break;
    case TopAction::stop:
    case TopAction::restart:
    case TopAction::kill: ask(action); return true;
    case TopAction::logs:
      if (!selected_id().empty()) {
        m_mode = Mode::logs;
        m_logs_id = selected_id();
      }
      return true;
    case TopAction::help: say("Keys: see the line below; spmi top --help and man spmi say more"); return true;
    case TopAction::none: return true;
    default: sort(action); return true;
    }
    m_selected_id = selected_id();
    return true;
  }

  void sort(TopAction action)
  {
    const auto by = [](TopAction a) {
      switch (a) {
      case TopAction::sort_state: return SortKey::state;
      case TopAction::sort_cpu: return SortKey::cpu;
      case TopAction::sort_memory: return SortKey::memory;
      case TopAction::sort_uptime: return SortKey::uptime;
      case TopAction::sort_restarts: return SortKey::restarts;
      default: return SortKey::id;
      }
    };
    if (action == TopAction::invert) {
      m_layout.reverse = !m_layout.reverse;
    } else if (action == TopAction::sort_previous || action == TopAction::sort_next) {
      m_layout.key = sort_step(m_layout.key, action == TopAction::sort_next ? 1 : -1);
    } else {
      m_layout.key = by(action);
    }
    m_monitor.sort(m_layout.key, m_layout.reverse);
  }

  void ask(TopAction action)
  {
    m_target = selected_id();
    if (m_target.empty()) {
      return;
    }
    m_mode = Mode::confirm;
    m_pending = action;
    say(confirm_question(action, m_target));
  }

  // Runs the action asked about when `yes`; says what came of it.
  void answer(bool yes)
  {
    m_mode = Mode::table;
    const char* done = m_pending == TopAction::stop ? "Stopped" : m_pending == TopAction::restart ? "Restarted" : "Killed";
    if (!yes) {
      say(fmt::format("Nothing done to {}", m_target));
      return;
    }
    say(fmt::format("{} {}...", m_pending == TopAction::stop ? "Stopping" : m_pending == TopAction::restart ? "Restarting" : "Killing",
                    m_target));
    draw();
    try {
      if (m_pending == TopAction::stop) {
        m_controller.stop(m_target);
      } else if (m_pending == TopAction::restart) {
        done = m_controller.restart(m_target) ? done : "Started";  // it was inactive: only started
      } else {
        m_controller.kill(m_target);
      }
      say(fmt::format("{} {}", done, m_target));
    } catch (const Error& e) {
      say(e.what(), true);
    }
    m_monitor.refresh(m_layout.key, m_layout.reverse);
  }

  Controller& m_controller;
  Monitor& m_monitor;
  const TopOptions& m_options;
  TopTerminal& m_terminal;
  TopLayout m_layout;
  Mode m_mode = Mode::table;
  std::string m_selected_id;
  std::string m_logs_id;
  std::string m_target;
  TopAction m_pending = TopAction::none;
};

// `spmi top -b`: tables on standard output, `iterations` of them (default 1), one interval apart.
int
run_batch(Monitor& monitor, const TopOptions& options)
{
  TopLayout layout;
  layout.batch = true;
  layout.interval = options.interval;
  layout.key = options.sort;
  layout.color = !options.no_color && std::getenv("NO_COLOR") == nullptr && ::isatty(STDOUT_FILENO) == 1;
  const int count = options.iterations.value_or(1);
  for (int i = 0; i < count; ++i) {
    std::this_thread::sleep_for(i == 0 ? std::min(k_first_interval, interval_of(options.interval))
                                       : interval_of(options.interval));
    monitor.refresh(options.sort);
    std::string text = i == 0 ? "" : "\n";
    for (const auto& line : top_frame(monitor.sample(), monitor.unmatched(), layout)) {
      text += line + "\n";
    }
    std::cout << text << std::flush;
  }
  return monitor.unmatched().empty() ? 0 : exit_status::k_failed;
}

} // namespace

CLI::App*
add_top_command(CLI::App& app, std::vector<std::string>& patterns, TopOptions& options)
{
  auto* top = app.add_subcommand("top", "Live monitor: state, CPU% over each interval, memory, restarts and uptime "
                                        "of manageables; keys sort, stop, restart, kill and show logs");
  top->add_option("patterns", patterns, "ID patterns (regular expressions); none: every manageable");
  top->add_option("-i,--interval", options.interval, "Seconds between refreshes (default 2; decimals allowed)");
  top->add_flag("-b,--batch", options.batch, "Print the table instead of a live screen (as top -b), -n times");
  top->add_option("-n,--iterations", options.iterations, "Print (batch) or refresh this many times, then exit "
                                                           "(batch default 1)");
  const std::map<std::string, SortKey> keys{{"id", SortKey::id},         {"state", SortKey::state},
                                            {"cpu", SortKey::cpu},       {"mem", SortKey::memory},
                                            {"uptime", SortKey::uptime}, {"restarts", SortKey::restarts}};
  top->add_option_function<std::string>(
       "-o,--sort", [&options, keys](const std::string& word) { options.sort = keys.at(word); },
       "First order: id, state, cpu, mem, uptime or restarts (default id)")
    ->type_name("KEY")
    ->transform(CLI::IsMember({"id", "state", "cpu", "mem", "uptime", "restarts"}, CLI::ignore_case));
  return top;
}

int
cmd_top(Controller& controller, const std::vector<std::string>& patterns, const TopOptions& options)
{
  if (!(options.interval >= 0.1 && options.interval <= 86400)) {
    throw UsageError(fmt::format("--interval {} is out of range: give seconds from 0.1 to 86400", options.interval));
  }
  if (options.iterations && *options.iterations < 1) {
    throw UsageError("-n/--iterations must be at least 1");
  }
  Monitor monitor(controller, patterns);
  monitor.refresh(options.sort);  // a bad pattern or an unreadable state directory: said before the screen
  if (options.batch) {
    return run_batch(monitor, options);
  }
  TopTerminal terminal;
  TopScreen(controller, monitor, options, terminal).run();
  return 0;
}

} // namespace spmi::cli

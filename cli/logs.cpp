// SPDX-License-Identifier: MIT
// `spmi logs`: the last lines of a task's output, then (with -f) what it writes, following the file by
// its name across restarts, truncation and rotation (OutputFollower, core/include/spmi/follow.hpp).
// Several tasks: their lines merged, each with its ID in front (`web | line`), by time where the lines
// carry one (`timestamps = true`).
#include "commands.hpp"

#include <spmi/descriptor.hpp>
#include <spmi/errors.hpp>
#include <spmi/follow.hpp>
#include <spmi/log.hpp>
#include <spmi/unique_fd.hpp>

#include <fmt/format.h>

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <functional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

namespace spmi::cli {

UniqueFd
blocked_signal_fd(std::initializer_list<int> signals)
{
  sigset_t set;
  sigemptyset(&set);
  for (const int signo : signals) {
    sigaddset(&set, signo);
  }
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  UniqueFd fd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd) {
    throw_errno("signalfd");
  }
  return fd;
}

namespace {

void
write_all(const char* data, std::size_t size)
{
  while (size > 0) {
    const ssize_t n = ::write(STDOUT_FILENO, data, size);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("write (standard output)");
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

// One ID: its lines as they are in the file, no prefix (as `tail`).
int
logs_one(Controller& controller, const std::string& id, std::size_t lines, bool follow, bool use_stderr)
{
  controller.require_loaded(id, "logs");
  std::string name = use_stderr ? "stderr" : "stdout";
  if (use_stderr && controller.stderr_in_stdout(id)) {
    // One file holds both: show it (the stderr lines are there), and say so.
    logger()->warn("manageable '{}' writes its stderr into its stdout (mixed_stdout), one file: showing that; "
                   "`spmi logs {}` shows the same, or set mixed_stdout = false for a stderr file of its own",
                   id, id);
    name = "stdout";
  }
  OutputFollower output = controller.follow_output(id, name);

  // Signals first, so a SIGINT between here and the loop still ends us cleanly.
  const UniqueFd signal_fd = follow ? blocked_signal_fd({SIGINT, SIGTERM}) : UniqueFd();
  // The last lines as `tail -n` prints them, whole however long they are (a progress bar redrawn with
  // '\r' and never a newline is one line), then what is written (see OutputFollower).
  const OutputFollower::Sink to_stdout = write_all;
  if (output.start_at_tail_lines(lines)) {
    output.pump(to_stdout);
  } else if (!follow) {
    logger()->info("Manageable \"{}\" has no {} yet", id, name);
  }
  if (!follow) {
    return exit_status::k_ok;
  }
  // Wake on any change in the manageable's directory; a 250 ms poll is the safety net.
  const int watch_fd = output.change_fd();
  while (true) {
    output.pump(to_stdout);
    if (!controller.loaded(id)) {
      logger()->info("Manageable \"{}\" was cleaned", id);
      break;
    }
    pollfd fds[2] = {{signal_fd.get(), POLLIN, 0}, {watch_fd, POLLIN, 0}};
    const int ready = ::poll(fds, watch_fd >= 0 ? 2 : 1, 250);
    if (ready < 0 && errno != EINTR) {
      throw_errno("poll");
    }
    if (fds[0].revents & POLLIN) {
      break;  // SIGINT or SIGTERM: a normal end of `logs -f`
    }
    if (fds[1].revents & POLLIN) {
      output.clear_changes();
    }
  }
  return exit_status::k_ok;
}

} // namespace

namespace {

// The time a line was written, from the prefix `timestamps = true` gives it
// ("2026-11-25T19:07:12.345Z "), which sorts as text; zeros (first) for none.
using LineKey = std::array<char, 24>;

// One line read, without its newline.
struct Line
{
  LineKey key;
  std::string text;
};

// One task's output in a merged `logs`: its follower, its prefix, what was read of an unfinished line.
struct Source
{
  std::string id;
  OutputFollower output;
  std::string prefix;   // "web  | ", the ID coloured on a terminal
  std::string partial;  // read, not yet ended by a newline
  LineKey key{};        // the latest timestamp seen: lines without one keep their place after it
  std::vector<Line> lines;
};

// A longer unfinished line is printed as it is, so the memory held per task stays bounded.
constexpr std::size_t k_partial_max = 64 * 1024;

bool
timestamped(std::string_view line)
{
  constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd.dddZ ";
  if (line.size() < shape.size()) {
    return false;
  }
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 'd' ? (line[i] < '0' || line[i] > '9') : line[i] != shape[i]) {
      return false;
    }
  }
  return true;
}

// Moves the complete lines of `source.partial` to `source.lines`; with `flush`, also an unfinished one.
void
split_lines(Source& source, bool flush)
{
  std::size_t start = 0;
  while (true) {
    auto end = source.partial.find('\n', start);
    if (end == std::string::npos) {
      const bool whole = flush ? start < source.partial.size() : source.partial.size() - start >= k_partial_max;
      if (!whole) {
        break;
      }
      end = source.partial.size();
    }
    std::string_view text(source.partial.data() + start, end - start);
    if (timestamped(text)) {
      std::copy_n(text.data(), source.key.size(), source.key.begin());
    }
    source.lines.push_back({source.key, std::string(text)});
    start = std::min(end + 1, source.partial.size());
  }
  source.partial.erase(0, start);
}

// Prints the lines of every source, merged by time (LineKey), ties in source order, each source's lines
// in file order; then forgets them.
void
print_merged(std::vector<Source>& sources)
{
  using Head = std::pair<LineKey, std::size_t>;
  std::priority_queue<Head, std::vector<Head>, std::greater<>> heap;
  std::vector<std::size_t> next(sources.size(), 0);
  for (std::size_t i = 0; i < sources.size(); ++i) {
    if (!sources[i].lines.empty()) {
      heap.push({sources[i].lines.front().key, i});
    }
  }
  std::string out;
  while (!heap.empty()) {
    const auto i = heap.top().second;
    heap.pop();
    auto& source = sources[i];
    out += source.prefix;
    out += source.lines[next[i]].text;
    out += '\n';
    if (++next[i] < source.lines.size()) {
      heap.push({source.lines[next[i]].key, i});
    }
    if (out.size() >= 65536) {
      write_all(out.data(), out.size());
      out.clear();
    }
  }
  write_all(out.data(), out.size());
  for (auto& source : sources) {
    source.lines.clear();
  }
}

// Reads what each source has new (its lines, see split_lines()) and prints them merged.
void
pump_all(std::vector<Source>& sources, bool flush)
{
  std::size_t held = 0;
  for (auto& source : sources) {
    source.output.pump([&](const char* data, std::size_t size) {
      source.partial.append(data, size);
      held += size;
      if (source.partial.size() >= k_partial_max) {
        split_lines(source, false);  // a long read is split as it comes, not held whole
      }
      if (held >= 16 * k_partial_max) {
        print_merged(sources);  // a flood is printed as it is read: memory stays bounded
        held = 0;
      }
    });
    split_lines(source, flush);
  }
  print_merged(sources);
}

// What a merged `logs` was asked for.
struct Merge
{
  std::vector<std::string> patterns;
  bool use_stderr = false;
  bool color = false;
  std::size_t width = 0;  // of the IDs in the prefixes
  std::size_t added = 0;  // sources made so far: the next one's colour
};

// Followers of `ids` (the file each shows) added to `sources`, their prefixes padded to one width and
// coloured per ID on a terminal, as `docker compose logs` does. Logs and skips one that can't be
// followed (raising `status`).
void
add_sources(Controller& controller, const std::vector<std::string>& ids, Merge& merge, std::vector<Source>& sources,
            int& status)
{
  static const char* const k_colors[] = {"36", "33", "32", "35", "34", "31", "96", "93", "92", "95", "94", "91"};
  for (const auto& id : ids) {
    merge.width = std::max(merge.width, id.size());
  }
  for (const auto& id : ids) {
    const auto i = merge.added++;
    try {
      std::string name = merge.use_stderr ? "stderr" : "stdout";
      if (merge.use_stderr && controller.stderr_in_stdout(id)) {
        logger()->warn("manageable '{}' writes its stderr into its stdout (mixed_stdout), one file: showing that", id);
        name = "stdout";
      }
      auto label = fmt::format("{:<{}}", id, merge.width);
      const auto colored = merge.color ? fmt::format("\x1b[{}m{}\x1b[0m", k_colors[i % std::size(k_colors)], label) : label;
      sources.push_back({id, controller.follow_output(id, name), colored + " | ", {}, {}, {}});
    } catch (const Error& e) {
      logger()->error("{}", e.what());
      status = std::max(status, e.exit_code());
    }
  }
}

// Every second of `logs -f`: drops the tasks cleaned meanwhile, adds those loaded meanwhile that the
// patterns select (followed from the start of their output).
void
update_sources(Controller& controller, Merge& merge, std::vector<Source>& sources)
{
  std::vector<std::string> gone;
  for (auto& source : sources) {
    if (!controller.loaded(source.id)) {
      split_lines(source, true);
      gone.push_back(source.id);
    }
  }
  if (!gone.empty()) {
    print_merged(sources);  // the last lines of those cleaned first
    sources.erase(std::remove_if(sources.begin(), sources.end(),
                                 [&](const Source& source) {
                                   return std::find(gone.begin(), gone.end(), source.id) != gone.end();
                                 }),
                  sources.end());
    for (const auto& id : gone) {
      logger()->info("Manageable \"{}\" was cleaned", id);
    }
  }
  std::vector<std::string> unmatched;
  std::vector<std::string> added;
  for (auto& id : controller.select(merge.patterns, unmatched)) {
    if (std::none_of(sources.begin(), sources.end(), [&](const Source& source) { return source.id == id; })) {
      added.push_back(std::move(id));
    }
  }
  int ignored = 0;
  add_sources(controller, added, merge, sources, ignored);
}

// `logs -f` over several: every source pumped each cycle (inotify would need a watch per task), until
// SIGINT or SIGTERM.
void
follow_merged(Controller& controller, Merge& merge, std::vector<Source>& sources, int signal_fd)
{
  using namespace std::chrono;
  const auto cycle = milliseconds(sources.size() > 100 ? 250 : 100);
  auto last_check = steady_clock::now();
  while (true) {
    pump_all(sources, false);
    if (steady_clock::now() - last_check > seconds(1)) {
      last_check = steady_clock::now();
      update_sources(controller, merge, sources);
    }
    pollfd fds[1] = {{signal_fd, POLLIN, 0}};
    const int ready = ::poll(fds, 1, static_cast<int>(cycle.count()));
    if (ready < 0 && errno != EINTR) {
      throw_errno("poll");
    }
    if (fds[0].revents & POLLIN) {
      break;  // SIGINT or SIGTERM: a normal end of `logs -f`
    }
  }
  pump_all(sources, true);  // what came last, an unfinished line too
}

} // namespace

int
cmd_logs(Controller& controller, const std::vector<std::string>& patterns, std::size_t lines, bool follow,
         bool use_stderr, const OutputOptions& options)
{
  // One ID (or one that looks like an ID and is not loaded: "did you mean"): as `tail`, no prefix.
  if (patterns.size() == 1 &&
      (controller.loaded(patterns[0]) || (is_valid_id(patterns[0]) && patterns[0].find('.') == std::string::npos))) {
    return logs_one(controller, patterns[0], lines, follow, use_stderr);
  }
  std::vector<std::string> ids;
  int status = select_or_report(controller, patterns, ids) ? exit_status::k_ok : exit_status::k_failed;
  if (ids.empty()) {
    logger()->info("Nothing to show");
    return exit_status::k_failed;
  }
  const UniqueFd signal_fd = follow ? blocked_signal_fd({SIGINT, SIGTERM}) : UniqueFd();
  Merge merge{patterns, use_stderr, use_color(STDOUT_FILENO, options)};
  std::vector<Source> sources;
  add_sources(controller, ids, merge, sources, status);
  for (auto& source : sources) {
    if (source.output.start_at_tail_lines(lines)) {
      source.output.pump([&source](const char* data, std::size_t size) { source.partial.append(data, size); });
    }
    split_lines(source, !follow);
  }
  print_merged(sources);
  if (follow) {
    follow_merged(controller, merge, sources, signal_fd.get());
  }
  return status;
}

} // namespace spmi::cli

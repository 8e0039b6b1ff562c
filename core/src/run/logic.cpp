// SPDX-License-Identifier: MIT
#include "logic.hpp"

#include <spmi/errors.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <iterator>
#include <cerrno>
#include <ctime>
#include <stdexcept>

namespace spmi::wrapper {

std::optional<RestartPolicy>
parse_restart_policy(std::string_view text)
{
  if (text == "no") {
    return RestartPolicy::no;
  }
  if (text == "on-failure") {
    return RestartPolicy::on_failure;
  }
  if (text == "always") {
    return RestartPolicy::always;
  }
  return std::nullopt;
}

bool
wants_restart(RestartPolicy policy, int exit_code, int exit_signal, bool stopped_by_user)
{
  if (stopped_by_user) {
    return false;
  }
  switch (policy) {
  case RestartPolicy::no:
    return false;
  case RestartPolicy::on_failure:
    return exit_signal != 0 || exit_code != 0;
  case RestartPolicy::always:
    return true;
  }
  return false;
}

std::chrono::milliseconds
backoff_delay(std::chrono::milliseconds initial, std::chrono::milliseconds max, int recent)
{
  auto delay = initial;
  for (int i = 0; i < recent && delay < max; ++i) {
    delay *= 2;
  }
  return std::min(delay, max);
}

std::string
seconds_text(std::chrono::milliseconds duration)
{
  return fmt::format("{} s", static_cast<double>(duration.count()) / 1000.0);
}

std::string
restart_policy_text(const RunSettings& settings)
{
  if (settings.restart == RestartPolicy::no) {
    return "never";
  }
  const bool grows = settings.restart_delay_max > settings.restart_delay && settings.restart_delay.count() > 0;
  return fmt::format("{} (at most {} restart{} in {}; delay {}{})",
                     settings.restart == RestartPolicy::always ? "always" : "on-failure", settings.max_restarts,
                     settings.max_restarts == 1 ? "" : "s", seconds_text(settings.restart_window),
                     seconds_text(settings.restart_delay),
                     grows ? ", doubling up to " + seconds_text(settings.restart_delay_max) : "");
}

std::string
size_text(std::uint64_t bytes)
{
  static constexpr const char* k_units[] = {"B", "K", "M", "G", "T"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(k_units)) {
    value /= 1024;
    ++unit;
  }
  // One decimal below 10 unless it is whole: "2G", "2.3G", "60M".
  const double tenths = std::round(value * 10) / 10;
  if (unit == 0 || value >= 10 || tenths == std::floor(tenths)) {
    return fmt::format("{:.0f}{}", value, k_units[unit]);
  }
  return fmt::format("{:.1f}{}", tenths, k_units[unit]);
}

bool
is_env_name(std::string_view name)
{
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return false;
    }
  }
  return true;
}

std::vector<std::pair<std::string, std::string>>
parse_env_file(std::string_view text, const std::string& where)
{
  std::vector<std::pair<std::string, std::string>> result;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') {
      continue;
    }
    line.remove_prefix(first);
    if (line.substr(0, 7) == "export ") {
      line.remove_prefix(7);
      line.remove_prefix(std::min(line.size(), line.find_first_not_of(' ')));
    }
    if (line.find('\0') != std::string_view::npos) {
      throw std::invalid_argument(fmt::format(
        "{}:{}: contains a NUL byte, which no variable can hold; is this a text file of KEY=VALUE lines?", where,
        number));
    }
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      // The line is never quoted: an env_file may be a file of secrets (or /etc/shadow by mistake).
      throw std::invalid_argument(fmt::format(
        "{}:{}: not a KEY=VALUE line (no '='); fix the line or make it a comment with '#' (its text is not shown, "
        "as it may hold a secret)",
        where, number));
    }
    auto key = line.substr(0, eq);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) {
      key.remove_suffix(1);
    }
    if (!is_env_name(key)) {
      throw std::invalid_argument(fmt::format(
        "{}:{}: the name before '=' is not a valid variable name; use letters, digits and _, not starting with a "
        "digit (the line is not shown, as it may hold a secret)",
        where, number));
    }
    auto value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    result.emplace_back(std::string(key), std::string(value));
  }
  return result;
}

std::string
timestamp_prefix(std::chrono::system_clock::time_point t)
{
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
  const auto millis = ((ms % 1000) + 1000) % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03}Z ", buffer, millis);
}

OutputFile::OutputFile(spmi::ManageableDir dir, std::string name, std::uint64_t max_size, int kept, bool timestamps)
  : m_dir(std::move(dir)), m_name(std::move(name)), m_path(m_dir.path() / m_name), m_max(max_size), m_kept(kept),
    m_timestamps(timestamps)
{
}

OutputFile::~OutputFile() = default;

void
OutputFile::open()
{
  // Read-write: the last byte of a previous run's file is read on this same descriptor.
  m_fd.reset(m_dir.open_file(m_name, O_RDWR | O_CREAT | O_APPEND));
  if (!m_fd) {
    throw_errno("cannot open " + m_path.string());
  }
  struct stat st {};
  if (::fstat(m_fd.get(), &st) != 0) {
    throw_errno("cannot stat " + m_path.string());
  }
  m_size = static_cast<std::uint64_t>(st.st_size);
  m_line_start = true;
  if (m_size > 0) {
    // Continue a previous run's file: is its last line finished?
    char last = '\n';
    if (::pread(m_fd.get(), &last, 1, static_cast<off_t>(m_size - 1)) == 1) {
      m_line_start = last == '\n';
    }
  }
}

void
OutputFile::rotate()
{
  m_fd.reset();
  // All within the verified directory (renameat/unlinkat relative to it), never following a link.
  auto numbered = [&](int n) { return m_name + "." + std::to_string(n); };
  if (m_kept <= 0) {
    m_dir.remove_file(m_name);
  } else {
    m_dir.remove_file(numbered(m_kept));
    for (int n = m_kept - 1; n >= 1; --n) {
      if (!m_dir.rename_file(numbered(n), numbered(n + 1)) && errno != ENOENT) {
        throw_errno("cannot rename " + (m_dir.path() / numbered(n)).string());
      }
    }
    if (!m_dir.rename_file(m_name, numbered(1))) {
      throw_errno("cannot rename " + m_path.string());
    }
  }
  open();
}

struct OutputFile::Batch
{
  static constexpr int k_size = 16;  // 8 timestamped lines, a prefix and a line each (256 bytes of stack)
  iovec iov[k_size];
  int count = 0;
};

void
OutputFile::queue(Batch& batch, std::string_view data)
{
  if (data.empty()) {
    return;
  }
  if (batch.count == Batch::k_size) {
    flush(batch);
  }
  batch.iov[batch.count++] = iovec{const_cast<char*>(data.data()), data.size()};
  m_size += data.size();
}

void
OutputFile::flush(Batch& batch)
{
  int first = 0;
  while (first < batch.count) {
    const ssize_t n = ::writev(m_fd.get(), batch.iov + first, batch.count - first);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int error = errno;
      for (int i = first; i < batch.count; ++i) {
        m_size -= batch.iov[i].iov_len;  // not written: size() stays what the file holds
      }
      batch.count = 0;
      errno = error;
      throw_errno("cannot write " + m_path.string());
    }
    auto written = static_cast<std::size_t>(n);
    while (first < batch.count && written >= batch.iov[first].iov_len) {
      written -= batch.iov[first++].iov_len;
    }
    if (written > 0) {  // a short write ended inside this piece: the rest of it goes next
      batch.iov[first].iov_base = static_cast<char*>(batch.iov[first].iov_base) + written;
      batch.iov[first].iov_len -= written;
    }
  }
  batch.count = 0;
}

void
OutputFile::write(std::string_view data, std::chrono::system_clock::time_point now)
{
  if (!m_fd) {
    open();  // a rotation renamed the file but could not create the next one
  }
  const std::string prefix = m_timestamps ? timestamp_prefix(now) : std::string();
  // Lines and their prefixes go out together, one writev for up to 8 lines; written before a rotation.
  Batch batch;
  while (!data.empty()) {
    const auto newline = data.find('\n');
    auto piece_size = newline == std::string_view::npos ? data.size() : newline + 1;
    if (!m_timestamps) {
      // No prefix to put before each line: as many whole lines as fit go in one write (all when all fit).
      const std::uint64_t room = m_max == 0 ? data.size() : (m_max > m_size ? m_max - m_size : 0);
      const auto last = room >= data.size() ? data.size() - 1 : data.substr(0, room).rfind('\n');
      piece_size = last == std::string_view::npos ? piece_size : std::max<std::size_t>(piece_size, last + 1);
    }
    const std::string_view head = m_line_start ? std::string_view(prefix) : std::string_view();
    const std::uint64_t need = head.size() + piece_size;
    std::size_t take = piece_size;
    if (m_max > 0 && m_size + need > m_max) {
      if (m_line_start && m_size > 0) {
        flush(batch);
        rotate();  // start the line in a fresh file
        continue;
      }
      // The line does not fit even here: fill this file, go on in the next.
      const std::uint64_t room = m_max > m_size ? m_max - m_size : 0;
      if (room <= head.size()) {
        flush(batch);
        rotate();
        if (m_size == 0 && head.size() >= m_max) {
          take = std::min<std::size_t>(piece_size, 1);  // absurdly small limit: make progress anyway
        } else {
          continue;
        }
      } else {
        take = static_cast<std::size_t>(room - head.size());
      }
    }
    queue(batch, head);
    queue(batch, data.substr(0, take));
    m_line_start = data[take - 1] == '\n';
    data.remove_prefix(take);
    if (m_max > 0 && m_size >= m_max && !data.empty()) {
      flush(batch);
      rotate();
    }
  }
  flush(batch);
}

void
OutputFile::end_line()
{
  if (m_timestamps && !m_line_start && m_fd) {
    write("\n", std::chrono::system_clock::now());
  }
}

} // namespace spmi::wrapper

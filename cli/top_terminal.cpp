// SPDX-License-Identifier: MIT
// The terminal of `spmi top`, in plain ANSI (no curses): raw input read with poll(), keys and the escape
// sequences of arrows and page keys, the alternate screen, and signals through a self-pipe, so a resize,
// a hang-up or a termination wakes the loop at once. Whatever ends the screen, the destructor puts the
// terminal back as it was.
#include "top.hpp"

#include <spmi/errors.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace spmi::cli {

namespace {

constexpr int k_signals[] = {SIGWINCH, SIGHUP, SIGTERM, SIGINT, SIGQUIT};
constexpr auto k_escape_wait = std::chrono::milliseconds(30);  // for the rest of an escape sequence

int g_signal_pipe[2] = {-1, -1};
volatile sig_atomic_t g_resized = 0;
volatile sig_atomic_t g_end_signal = 0;
struct termios g_saved_termios;
struct sigaction g_saved_actions[std::size(k_signals)];

extern "C" void
on_signal(int signo)
{
  const int saved = errno;
  if (signo == SIGWINCH) {
    g_resized = 1;
  } else {
    g_end_signal = signo;
  }
  const char byte = 1;
  [[maybe_unused]] const auto n = ::write(g_signal_pipe[1], &byte, 1);
  errno = saved;
}

// The key an escape sequence `seq` (after ESC) names, and how many bytes of it there are; 0 bytes when
// it is incomplete.
int
escape_key(const std::string& seq, std::size_t& length)
{
  static const struct
  {
    const char* text;
    int key;
  } k_sequences[] = {{"[A", k_key_up},        {"OA", k_key_up},      {"[B", k_key_down},  {"OB", k_key_down},
                     {"[5~", k_key_page_up},  {"[6~", k_key_page_down}, {"[H", k_key_home}, {"OH", k_key_home},
                     {"[1~", k_key_home},     {"[F", k_key_end},     {"OF", k_key_end},   {"[4~", k_key_end}};
  for (const auto& known : k_sequences) {
    if (seq.compare(0, std::strlen(known.text), known.text) == 0) {
      length = std::strlen(known.text);
      return known.key;
    }
  }
  // Another CSI or SS3 sequence (an F key, a mouse report): skipped whole.
  std::size_t end = 1;
  if (seq[0] == '[') {
    while (end < seq.size() && (seq[end] < 0x40 || seq[end] > 0x7e)) {
      ++end;
    }
  }
  length = end < seq.size() ? end + 1 : 0;
  return -1;
}

// Puts back the signal dispositions the terminal replaced and closes the self-pipe.
void
undo_signals()
{
  for (std::size_t i = 0; i < std::size(k_signals); ++i) {
    ::sigaction(k_signals[i], &g_saved_actions[i], nullptr);
  }
  for (int& fd : g_signal_pipe) {
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
  }
}

} // namespace

TopTerminal::TopTerminal()
{
  if (::isatty(STDIN_FILENO) != 1 || ::isatty(STDOUT_FILENO) != 1) {
    throw UsageError(std::string("spmi top needs a terminal, and standard ") +
                     (::isatty(STDIN_FILENO) != 1 ? "input" : "output") +
                     " is not one; `spmi top -b` prints the table instead (as top -b does), `spmi list` once");
  }
  if (::tcgetattr(STDIN_FILENO, &g_saved_termios) != 0) {
    throw_errno("tcgetattr (standard input)");
  }
  if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw_errno("pipe");
  }
  g_resized = 0;
  g_end_signal = 0;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // poll() still wakes with EINTR; the rest carries on
  for (std::size_t i = 0; i < std::size(k_signals); ++i) {
    ::sigaction(k_signals[i], &action, &g_saved_actions[i]);
  }
  struct termios raw = g_saved_termios;
  // Keys one at a time, unechoed; Ctrl-C and Ctrl-Z arrive as bytes (3 quits, 26 does nothing).
  raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO | ISIG | IEXTEN));
  raw.c_iflag &= static_cast<tcflag_t>(~(IXON | ICRNL | INLCR | ISTRIP));
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  if (::tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) != 0) {
    const int saved = errno;
    undo_signals();
    errno = saved;
    throw_errno("tcsetattr (standard input)");
  }
  m_raw = true;
  write_out("\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J");  // alternate screen, cursor hidden
}

TopTerminal::~TopTerminal()
{
  if (m_raw) {
    // Errors are ignored: a closed terminal has nothing left to restore.
    const std::string restore = "\x1b[0m\x1b[?25h\x1b[?1049l";
    [[maybe_unused]] const auto n = ::write(STDOUT_FILENO, restore.data(), restore.size());
    ::tcsetattr(STDIN_FILENO, TCSADRAIN, &g_saved_termios);
    m_raw = false;
  }
  undo_signals();
}

bool
TopTerminal::take_resized()
{
  const bool resized = m_resized || g_resized != 0;
  m_resized = false;
  g_resized = 0;
  return resized;
}

void
TopTerminal::size(int& rows, int& cols) const
{
  struct winsize size {};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_row > 0 && size.ws_col > 0) {
    rows = size.ws_row;
    cols = size.ws_col;
  } else {
    rows = 24;
    cols = 80;
  }
}

bool
TopTerminal::fill(std::chrono::milliseconds timeout)
{
  struct pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {g_signal_pipe[0], POLLIN, 0}};
  const int ready = ::poll(fds, 2, static_cast<int>(std::max<long long>(0, timeout.count())));
  if (fds[1].revents & POLLIN) {
    char drain[64];
    while (::read(g_signal_pipe[0], drain, sizeof(drain)) > 0) {
    }
  }
  if (g_end_signal != 0) {
    m_ended = true;
  }
  if (ready <= 0 || m_ended || fds[0].revents == 0) {
    return !m_ended;
  }
  char buffer[256];
  const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof(buffer));
  if (n > 0) {
    m_input.append(buffer, static_cast<std::size_t>(n));
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    m_ended = true;  // end of input, or the terminal is gone (EIO after a hang-up)
  }
  return !m_ended;
}

int
TopTerminal::take_key()
{
  if (m_input.empty()) {
    return -1;
  }
  if (m_input[0] != '\x1b') {
    const int key = static_cast<unsigned char>(m_input[0]);
    m_input.erase(0, 1);
    return key;
  }
  if (m_input.size() < 2) {
    fill(k_escape_wait);  // ESC alone, or the start of a sequence still coming
  }
  std::size_t length = 0;
  int key = k_key_escape;
  if (m_input.size() >= 2 && (m_input[1] == '[' || m_input[1] == 'O')) {
    key = escape_key(m_input.substr(1), length);
    if (length == 0) {
      fill(k_escape_wait);
      key = escape_key(m_input.substr(1), length);
      length = length == 0 ? m_input.size() - 1 : length;  // never completed: dropped
    }
  }
  m_input.erase(0, 1 + length);
  return key;
}

int
TopTerminal::read_key(std::chrono::milliseconds timeout)
{
  if (m_input.empty() && !fill(timeout)) {
    return -1;
  }
  if (g_resized != 0) {
    m_resized = true;
    g_resized = 0;
  }
  return take_key();
}

void
TopTerminal::write_out(const std::string& text)
{
  const char* data = text.data();
  std::size_t left = text.size();
  while (left > 0 && !m_ended) {
    const ssize_t n = ::write(STDOUT_FILENO, data, left);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      m_ended = true;  // the terminal is gone
      return;
    }
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

void
TopTerminal::draw(const std::vector<std::string>& lines)
{
  std::string frame = "\x1b[H";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    frame += lines[i] + "\x1b[0m\x1b[K" + (i + 1 < lines.size() ? "\r\n" : "");
  }
  frame += "\x1b[J";
  write_out(frame);
}

} // namespace spmi::cli

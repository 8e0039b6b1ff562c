// SPDX-License-Identifier: MIT
// The guard around a call into plugin code: exceptions become PluginError, crashes are named (see
// plugin_guard.hpp).
#include "plugin_guard.hpp"

#include <spmi/errors.hpp>
#include <spmi/unique_fd.hpp>

#include <fmt/format.h>

#include <cxxabi.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <typeinfo>

namespace spmi::detail {

thread_local ReportProbe t_report_probe = ReportProbe::off;

namespace {

// The innermost guarded call running now; the crash handler names it.
std::atomic<CrashScope*> g_innermost{nullptr};

struct CrashSignal
{
  int signo;
  const char* name;
};
constexpr CrashSignal k_crash_signals[] = {
  {SIGSEGV, "SIGSEGV"}, {SIGBUS, "SIGBUS"}, {SIGILL, "SIGILL"}, {SIGFPE, "SIGFPE"}, {SIGABRT, "SIGABRT"},
};
constexpr std::size_t k_signal_count = sizeof(k_crash_signals) / sizeof(k_crash_signals[0]);
// What each signal did before ours: a crash outside plugin code goes there (a sanitizer's report).
struct sigaction g_previous[k_signal_count];

// Big enough for the handler and for a sanitizer's handler chained after it.
alignas(16) char g_alternate_stack[64 * 1024];

void
write_all(int fd, const char* text, std::size_t size) noexcept
{
  while (size > 0) {
    const ssize_t n = ::write(fd, text, size);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;
    }
    text += n;
    size -= static_cast<std::size_t>(n);
  }
}

extern "C" void
on_crash(int signo, siginfo_t* info, void*)
{
  const int saved_errno = errno;
  std::size_t index = 0;
  while (index < k_signal_count && k_crash_signals[index].signo != signo) {
    ++index;
  }
  if (const CrashScope* scope = g_innermost.load()) {
    scope->report(signo);
    // The plugin's crash is reported: die of it as if we had not been here (no sanitizer report).
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(signo, &dfl, nullptr);
  } else if (index < k_signal_count) {
    ::sigaction(signo, &g_previous[index], nullptr);
  }
  // A fault happens again when the handler returns; a sent signal (abort, kill) must be sent again.
  if (info == nullptr || info->si_code <= 0) {
    ::raise(signo);
  }
  errno = saved_errno;
}

bool
install_crash_handler()
{
  stack_t current{};
  if (::sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE) != 0) {
    stack_t alternate{};
    alternate.ss_sp = g_alternate_stack;
    alternate.ss_size = sizeof(g_alternate_stack);
    ::sigaltstack(&alternate, nullptr);
  }
  for (std::size_t i = 0; i < k_signal_count; ++i) {
    struct sigaction action {};
    action.sa_sigaction = on_crash;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    ::sigaction(k_crash_signals[i].signo, &action, &g_previous[i]);
  }
  return true;
}

// Copies `text` into `buffer` (truncated, NUL-terminated); returns its length.
template<std::size_t N>
std::size_t
preformat(char (&buffer)[N], std::string_view text)
{
  const std::size_t size = std::min(text.size(), N - 1);
  std::memcpy(buffer, text.data(), size);
  buffer[size] = '\0';
  return size;
}

// The type of the exception being handled, demangled ("int", "std::runtime_error").
std::string
current_exception_type()
{
  const std::type_info* type = abi::__cxa_current_exception_type();
  if (type == nullptr) {
    return "an exception";
  }
  int status = 0;
  char* name = abi::__cxa_demangle(type->name(), nullptr, nullptr, &status);
  std::string result = status == 0 && name != nullptr ? name : type->name();
  std::free(name);
  return result;
}

} // namespace

CrashScope::CrashScope(const PluginOrigin& origin, const char* call, const char* wrapper_log)
  : m_origin(origin), m_call(call), m_manageable(&origin.manageable), m_previous(g_innermost.load())
{
  static const bool installed = install_crash_handler();
  (void)installed;
  if (m_manageable->empty() && m_previous != nullptr) {
    m_manageable = m_previous->m_manageable;
  }
  const std::string where = m_manageable->empty() ? "" : fmt::format(" (manageable '{}')", *m_manageable);
  const auto what = fmt::format("plugin {} (class {}) crashed in {}{}: ", origin.file, origin.class_name, call, where);
  m_line_size = preformat(m_line, "spmi: " + what);
  m_log_path[0] = '\0';
  if (wrapper_log != nullptr) {
    preformat(m_log_path, wrapper_log);
    m_log_line_size = preformat(m_log_line, fmt::format("wrapper {}: {}", ::getpid(), what));
  }
  g_innermost.store(this);
}

std::string
enclosing_manageable()
{
  const CrashScope* innermost = g_innermost.load();
  return innermost != nullptr ? innermost->manageable() : std::string();
}

CrashScope::~CrashScope()
{
  g_innermost.store(m_previous);
}

void
CrashScope::rethrow() const
{
  try {
    throw;
  } catch (const Error&) {
    throw;  // an spmi error the plugin meant: its message and exit status stand
  } catch (...) {
    std::string detail;
    try {
      throw;
    } catch (const std::exception& e) {
      detail = fmt::format(": {}", e.what());
    } catch (...) {
    }
    throw PluginError(fmt::format("plugin {} (class {}) threw {} in {}{}{}; plugins must report failures as spmi "
                                  "errors, so this is a bug in the plugin: update it, or report it to its author",
                                  m_origin.file, m_origin.class_name, current_exception_type(), m_call,
                                  m_manageable->empty() ? "" : fmt::format(" (manageable '{}')", *m_manageable),
                                  detail));
  }
}

void
CrashScope::report(int signo) const noexcept
{
  const char* name = "a fatal signal";
  for (const auto& known : k_crash_signals) {
    if (known.signo == signo) {
      name = known.name;
    }
  }
  const std::size_t name_size = std::strlen(name);
  write_all(STDERR_FILENO, m_line, m_line_size);
  write_all(STDERR_FILENO, name, name_size);
  write_all(STDERR_FILENO, "\n", 1);
  if (m_log_path[0] != '\0') {
    // UniqueFd only calls close(), which is async-signal-safe.
    const UniqueFd fd(::open(m_log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd) {
      write_all(fd.get(), m_log_line, m_log_line_size);
      write_all(fd.get(), name, name_size);
      write_all(fd.get(), "\n", 1);
    }
  }
}

} // namespace spmi::detail

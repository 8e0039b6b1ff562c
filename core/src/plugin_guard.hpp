// SPDX-License-Identifier: MIT
// Guards around every call into plugin code (internal to the core; the registry is its only user).
//
// The registry hands out proxies (guard_manageable/backend/wrapper) that implement the plugin interfaces
// and forward each call, its destructor included, to the plugin's object inside guarded_call():
// - whatever the plugin throws that is not an spmi::Error (a std::runtime_error, `throw 42`) becomes a
//   PluginError naming the plugin file, its class and the call; spmi errors pass through unchanged;
// - a crash (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT) while the call runs prints one line naming the
//   same, preformatted when the call began and written by an async-signal-safe handler (on an
//   alternate stack, so a stack overflow is reported too), which then lets the process die of that
//   signal: the exit status and core dumps stay honest. In the wrapper process (`run`) the line also
//   goes to the manageable's wrapper.log, where `start` looks.
// Plugin calls are made from one thread at a time: the innermost active guard is one per process.
#pragma once

#include <spmi/plugin.hpp>

#include <climits>
#include <cstddef>
#include <memory>
#include <string>

namespace spmi::detail {

// Where a plugin object comes from; named in every message about what its code did.
struct PluginOrigin
{
  std::string file;        // the plugin's .so
  std::string class_name;  // "ScreenBackend"
  std::string manageable;  // the ID of the manageable it is, if known; calls inside it inherit it
};

// One guarded call into plugin code, active from construction to destruction (innermost wins).
class CrashScope
{
public:
  // `call` names the call ("launch", "its factory"); `wrapper_log`, when given, is where the wrapper
  // process also reports a crash.
  CrashScope(const PluginOrigin& origin, const char* call, const char* wrapper_log = nullptr);
  ~CrashScope();
  CrashScope(const CrashScope&) = delete;
  CrashScope& operator=(const CrashScope&) = delete;

  // Call inside a catch block: rethrows an spmi::Error unchanged, anything else as PluginError.
  [[noreturn]] void rethrow() const;
  // Writes the crash line for `signo` (to stderr and the wrapper log). Async-signal-safe.
  void report(int signo) const noexcept;
  // The ID of the manageable this call is for, "" when not known.
  const std::string& manageable() const { return *m_manageable; }

private:
  const PluginOrigin& m_origin;
  const char* m_call;
  const std::string* m_manageable;  // this call's manageable ID, or the enclosing call's
  CrashScope* m_previous;
  char m_line[1024];  // "spmi: plugin F (class C) crashed in launch (manageable 'web'): "
  std::size_t m_line_size = 0;
  char m_log_path[PATH_MAX];  // "" when not in the wrapper process
  char m_log_line[1024];      // "wrapper 123: plugin F (class C) crashed in run (...): "
  std::size_t m_log_line_size = 0;
};

// The manageable ID of the innermost active guard, "" outside any or where it is not known: a backend or
// wrapper made inside a manageable's factory is that manageable's, and its calls name it.
std::string enclosing_manageable();

// Runs `fn` (which calls plugin code) guarded as the header comment says, returning what it returns.
template<typename Fn>
decltype(auto)
guarded_call(const PluginOrigin& origin, const char* call, Fn&& fn, const char* wrapper_log = nullptr)
{
  CrashScope scope(origin, call, wrapper_log);
  try {
    return fn();
  } catch (...) {
    scope.rethrow();
  }
}

// While a proxy asks a backend's queue_report: set to `probing`; the default body (a backend that did not
// override it) then only says so (`default_body`), and the proxy calls queue_states guarded under its own
// name, so a failure there is named as the plugin's queue_states.
enum class ReportProbe { off, probing, default_body };
extern thread_local ReportProbe t_report_probe;

// Proxies owning the plugin's `object`, forwarding every call (and the destruction) guarded.
std::unique_ptr<Manageable> guard_manageable(std::unique_ptr<Manageable> object, PluginOrigin origin);
std::unique_ptr<Backend> guard_backend(std::unique_ptr<Backend> object, PluginOrigin origin);
std::unique_ptr<Wrapper> guard_wrapper(std::unique_ptr<Wrapper> object, PluginOrigin origin);

} // namespace spmi::detail

// SPDX-License-Identifier: MIT
/// \file
/// The error types of spmi, one per layer. Plugins throw these and never define their own.
#pragma once

#include <spmi/export.hpp>

#include <stdexcept>
#include <string>

namespace spmi {

/// Base of every spmi error. Don't throw it directly.
class SPMI_API Error : public std::runtime_error
{
public:
  /// `message` is what the CLI prints; say where, what is wrong and what to do.
  explicit Error(const std::string& message);
  ~Error() override;
  /// Process exit status the CLI uses when this error ends a command (exit_status::k_failed here;
  /// each subclass returns its own).
  virtual int exit_code() const noexcept;
};

/// Bad user input: a descriptor, an ID, a pattern. The message names the file and key.
class SPMI_API DescriptorError : public Error
{
public:
  using Error::Error;
  ~DescriptorError() override;
  int exit_code() const noexcept override;
};

/// A command line that can't be carried out as written (bad pattern, unknown ID).
class SPMI_API UsageError : public Error
{
public:
  using Error::Error;
  ~UsageError() override;
  int exit_code() const noexcept override;
};

/// An operation refused because of the manageable's state (start of an active one, ...).
class SPMI_API StateError : public Error
{
public:
  using Error::Error;
  ~StateError() override;
  int exit_code() const noexcept override;
};

/// A backend, wrapper or an external program it uses failed.
class SPMI_API BackendError : public Error
{
public:
  using Error::Error;
  ~BackendError() override;
  int exit_code() const noexcept override;
};

/// A plugin could not be found, loaded, or misbehaved.
class SPMI_API PluginError : public Error
{
public:
  using Error::Error;
  ~PluginError() override;
  int exit_code() const noexcept override;
};

/// A system call failed; the message names the call, the path and errno's text.
class SPMI_API SystemError : public Error
{
public:
  using Error::Error;
  ~SystemError() override;
  int exit_code() const noexcept override;
};

/// The user interrupted a command (SIGINT, SIGTERM or SIGHUP while it deferred them) and it undid what
/// it had done; the message says what is left. The CLI prints it and then dies by that signal.
class SPMI_API Interrupted : public Error
{
public:
  /// `signo`: the signal received.
  Interrupted(const std::string& message, int signo);
  ~Interrupted() override;
  /// 128 + the signal's number, as a shell reports a command a signal ended.
  int exit_code() const noexcept override;
  /// The signal received.
  int signal_number() const noexcept { return m_signo; }

private:
  int m_signo;
};

/// Exit statuses of the spmi command (documented in `spmi --help` and README.md).
namespace exit_status {
/// success
inline constexpr int k_ok = 0;
inline constexpr int k_failed = 1;      ///< an operation failed or was refused
inline constexpr int k_usage = 2;       ///< bad command line or pattern
inline constexpr int k_descriptor = 3;  ///< bad descriptor: nothing was loaded
inline constexpr int k_plugin = 4;      ///< a plugin is missing or broken
inline constexpr int k_system = 5;      ///< a system call failed (permissions, disk)
} // namespace exit_status

/// Throws SystemError with the message `what + ": " + strerror(errno)`.
/// @throws SystemError always.
[[noreturn]] SPMI_API void throw_errno(const std::string& what);

} // namespace spmi

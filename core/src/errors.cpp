// SPDX-License-Identifier: MIT
#include <spmi/errors.hpp>

#include <cerrno>
#include <cstring>

namespace spmi {

Error::Error(const std::string& message) : std::runtime_error(message) {}
Error::~Error() = default;
int Error::exit_code() const noexcept { return exit_status::k_failed; }

DescriptorError::~DescriptorError() = default;
int DescriptorError::exit_code() const noexcept { return exit_status::k_descriptor; }

UsageError::~UsageError() = default;
int UsageError::exit_code() const noexcept { return exit_status::k_usage; }

StateError::~StateError() = default;
int StateError::exit_code() const noexcept { return exit_status::k_failed; }

BackendError::~BackendError() = default;
int BackendError::exit_code() const noexcept { return exit_status::k_failed; }

PluginError::~PluginError() = default;
int PluginError::exit_code() const noexcept { return exit_status::k_plugin; }

SystemError::~SystemError() = default;
int SystemError::exit_code() const noexcept { return exit_status::k_system; }

Interrupted::Interrupted(const std::string& message, int signo) : Error(message), m_signo(signo) {}
Interrupted::~Interrupted() = default;
int Interrupted::exit_code() const noexcept { return 128 + m_signo; }

void
throw_errno(const std::string& what)
{
  const int saved = errno;
  throw SystemError(what + ": " + std::strerror(saved));
}

} // namespace spmi

// SPDX-License-Identifier: MIT
// Key functions of the plugin interfaces: their vtables and typeinfo live once, in libspmi_core.so.
#include <spmi/plugin.hpp>

#include <csignal>

namespace spmi {

Backend::~Backend() = default;
Wrapper::~Wrapper() = default;
Manageable::~Manageable() = default;

int
kill_request_signal()
{
  return SIGRTMIN + 1;
}

} // namespace spmi

// SPDX-License-Identifier: MIT
// Key functions of the plugin interfaces: their vtables and typeinfo live once, in libspmi_core.so.
#include <spmi/plugin.hpp>

#include <csignal>

namespace spmi {

Backend::~Backend() = default;
Wrapper::~Wrapper() = default;
Manageable::~Manageable() = default;

void
warn_unknown_keys(const PluginContext& context, std::initializer_list<std::string_view> known)
{
  if (!context.loading) {
    return;
  }
  for (const auto& key : context.section.unknown_keys(known)) {
    context.logger->warn("{}: ignoring unknown key '{}'", context.section.where(key), key);
  }
}

int
kill_request_signal()
{
  return SIGRTMIN + 1;
}

} // namespace spmi

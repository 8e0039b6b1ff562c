// SPDX-License-Identifier: MIT
// Key functions of the plugin interfaces: their vtables and typeinfo live once, in libspmi_core.so.
#include <spmi/plugin.hpp>

namespace spmi {

Backend::~Backend() = default;
Wrapper::~Wrapper() = default;
Manageable::~Manageable() = default;

} // namespace spmi

// SPDX-License-Identifier: MIT
/// \file
/// How descriptor type names map to exported plugin class names ("did you mean": spmi/suggest.hpp).
#pragma once

#include <spmi/export.hpp>
#include <spmi/suggest.hpp>  // edit_distance and closest_match used to be declared here

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spmi {

/// The three kinds of plugin; the kind is the suffix of the exported class name.
enum class PluginKind { manageable, backend, wrapper };

SPMI_API std::string_view kind_suffix(PluginKind kind);  ///< "Manageable", "Backend", "Wrapper"
SPMI_API std::string_view kind_name(PluginKind kind);    ///< "manageable", "backend", "wrapper"

/// True when `type` is a well-formed descriptor type name: `[a-z][a-z0-9]*(_[a-z][a-z0-9]*)*`.
SPMI_API bool is_valid_type_name(std::string_view type);

/// "some_thing" + backend -> "SomeThingBackend". `type` must be valid.
SPMI_API std::string class_name_for(std::string_view type, PluginKind kind);

/// An exported class name taken apart, as parse_class_name() returns it.
struct SPMI_API ClassName
{
  /// from the suffix: Manageable, Backend or Wrapper
  PluginKind kind;
  /// the descriptor type name, "some_thing"
  std::string type;
};
/// "SomeThingBackend" -> kind backend, type "some_thing"; nullopt when the name has no known suffix
/// or is not PascalCase.
SPMI_API std::optional<ClassName> parse_class_name(std::string_view name);

} // namespace spmi

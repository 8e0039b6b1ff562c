// SPDX-License-Identifier: MIT
/// \file
/// How descriptor type names map to exported plugin class names, and "did you mean" suggestions.
#pragma once

#include <spmi/export.hpp>

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

/// Levenshtein distance, for suggestions.
SPMI_API std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word` when it is close enough to be a likely typo.
SPMI_API std::optional<std::string> closest_match(std::string_view word,
                                                  const std::vector<std::string>& candidates);

} // namespace spmi

// SPDX-License-Identifier: MIT
#include <spmi/descriptor.hpp>
#include <spmi/names.hpp>

#include "matrix.hpp"

#include <algorithm>
#include <cctype>

namespace spmi {

namespace {

bool
is_lower_or_digit(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

} // namespace

std::string_view
kind_suffix(PluginKind kind)
{
  switch (kind) {
  case PluginKind::manageable:
    return "Manageable";
  case PluginKind::backend:
    return "Backend";
  case PluginKind::wrapper:
    return "Wrapper";
  }
  return "";
}

std::string_view
kind_name(PluginKind kind)
{
  switch (kind) {
  case PluginKind::manageable:
    return "manageable";
  case PluginKind::backend:
    return "backend";
  case PluginKind::wrapper:
    return "wrapper";
  }
  return "";
}

bool
is_valid_type_name(std::string_view type)
{
  if (type.empty() || type.size() > 64 || !(type[0] >= 'a' && type[0] <= 'z')) {
    return false;
  }
  char previous = 0;
  for (char c : type) {
    if (c == '_') {
      if (previous == '_') {
        return false;
      }
    } else if (previous == '_' && !(c >= 'a' && c <= 'z')) {
      return false;  // "foo_2" and "foo2" would both be Foo2...
    } else if (!is_lower_or_digit(c)) {
      return false;
    }
    previous = c;
  }
  return previous != '_';
}

std::string
class_name_for(std::string_view type, PluginKind kind)
{
  std::string result;
  bool upper = true;
  for (char c : type) {
    if (c == '_') {
      upper = true;
      continue;
    }
    result += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  result += kind_suffix(kind);
  return result;
}

std::optional<ClassName>
parse_class_name(std::string_view name)
{
  for (auto kind : {PluginKind::manageable, PluginKind::backend, PluginKind::wrapper}) {
    const auto suffix = kind_suffix(kind);
    if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) {
      continue;
    }
    const auto stem = name.substr(0, name.size() - suffix.size());
    if (!(stem[0] >= 'A' && stem[0] <= 'Z')) {
      return std::nullopt;
    }
    std::string type;
    char previous = 0;
    for (char c : stem) {
      if (c >= 'A' && c <= 'Z') {
        if (previous >= 'A' && previous <= 'Z') {
          return std::nullopt;  // an acronym ("HTTPBackend") is not PascalCase of any type name
        }
        if (!type.empty()) {
          type += '_';
        }
        type += static_cast<char>(c - 'A' + 'a');
      } else if (is_lower_or_digit(c)) {
        type += c;
      } else {
        return std::nullopt;
      }
      previous = c;
    }
    // Only names that map back to themselves ("HTTPBackend" would not) are plugin classes.
    if (!is_valid_type_name(type) || class_name_for(type, kind) != name) {
      return std::nullopt;
    }
    return ClassName{kind, type};
  }
  return std::nullopt;
}

bool
is_valid_id(std::string_view id)
{
  if (id.empty() || id.size() > 64 || id[0] == '.' || id[0] == '-') {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
}

} // namespace spmi

namespace spmi::matrix {

std::string
variable(std::string_view name)
{
  std::string result = "SPMI_MATRIX_";
  for (const char c : name) {
    result += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  return result;
}

} // namespace spmi::matrix

// SPDX-License-Identifier: MIT
// Descriptor text to a tree: TOML, YAML and JSON parsed into nlohmann::json, with guards against
// documents nested too deep or too large (before any recursive parser sees them) and duplicate keys.
#include "descriptor_detail.hpp"

#include <spmi/errors.hpp>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <vector>

namespace spmi::detail {

namespace {

using json = nlohmann::json;

// Deeper documents are refused before any recursive parser sees them.
constexpr int k_max_depth = 64;
// Nodes produced from one YAML document; bounds alias expansion ("billion laughs"). A descriptor has
// a few dozen.
constexpr std::size_t k_max_nodes = 10000;

// Bracket nesting depth outside of quoted strings; a cheap guard for flow-style YAML and JSON.
int
bracket_depth(std::string_view text)
{
  int depth = 0;
  int max_depth = 0;
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      if (c == '\\' && quote == '"') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    // A quote opens a string only where a token starts (YAML's "today's" is plain text).
    const char before = i == 0 ? ' ' : text[i - 1];
    const bool token_start = before == ' ' || before == '\t' || before == '\n' || before == ':' || before == ',' ||
                             before == '[' || before == '{';
    if (c == '#' && (before == ' ' || before == '\t' || before == '\n')) {
      // A YAML or TOML comment: skip to the end of the line.
      while (i + 1 < text.size() && text[i + 1] != '\n') {
        ++i;
      }
    } else if ((c == '"' || c == '\'') && token_start) {
      quote = c;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

// Most block sequence entries ("- ") opened on one line: "- - - x" nests YAML sequences.
int
max_dashes_per_line(std::string_view text)
{
  int most = 0;
  int dashes = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      most = std::max(most, dashes);
      dashes = 0;
    } else if (text[i] == '-' && (i == 0 || text[i - 1] == ' ' || text[i - 1] == '\n') && i + 1 < text.size() &&
               (text[i + 1] == ' ' || text[i + 1] == '\n')) {
      ++dashes;
    }
  }
  return std::max(most, dashes);
}

// Most dots outside quoted strings on one line: dotted keys and [a.b.c] headers nest TOML tables,
// which no bracket counts. (A real descriptor has a handful.)
int
max_dots_per_line(std::string_view text)
{
  int most = 0;
  int dots = 0;
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      most = std::max(most, dots);
      dots = 0;
      quote = 0;
    } else if (quote) {
      if (c == '\\' && quote == '"') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#') {
      while (i + 1 < text.size() && text[i + 1] != '\n') {
        ++i;
      }
    } else if (c == '.') {
      ++dots;
    }
  }
  return std::max(most, dots);
}

json
from_toml(const toml::node& node, int depth, const std::string& where)
{
  if (depth > k_max_depth) {
    throw DescriptorError(fmt::format("{}: nested more than {} levels deep", where, k_max_depth));
  }
  if (auto* table = node.as_table()) {
    json result = json::object();
    for (const auto& [key, value] : *table) {
      result[std::string(key.str())] = from_toml(value, depth + 1, where);
    }
    return result;
  }
  if (auto* array = node.as_array()) {
    json result = json::array();
    for (const auto& value : *array) {
      result.push_back(from_toml(value, depth + 1, where));
    }
    return result;
  }
  if (auto* value = node.as_string()) {
    return value->get();
  }
  if (auto* value = node.as_integer()) {
    return value->get();
  }
  if (auto* value = node.as_floating_point()) {
    return value->get();
  }
  if (auto* value = node.as_boolean()) {
    return value->get();
  }
  // Dates and times: keep their TOML text.
  std::ostringstream out;
  node.visit([&out](const auto& v) { out << v; });
  return out.str();
}

// A YAML 1.2 core-schema integer or float: [-+]?[0-9]+, or [-+]?(.digits | digits[.digits])[e[-+]digits].
bool
is_integer_text(std::string_view text)
{
  std::size_t i = (!text.empty() && (text[0] == '-' || text[0] == '+')) ? 1 : 0;
  return i < text.size() && std::all_of(text.begin() + static_cast<std::ptrdiff_t>(i), text.end(),
                                        [](char c) { return c >= '0' && c <= '9'; });
}

bool
is_float_text(std::string_view text)
{
  std::size_t i = (!text.empty() && (text[0] == '-' || text[0] == '+')) ? 1 : 0;
  auto digits = [&] {
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      ++i;
    }
    return i - start;
  };
  std::size_t mantissa = digits();
  if (i < text.size() && text[i] == '.') {
    ++i;
    mantissa += digits();
  }
  if (mantissa == 0) {
    return false;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
      ++i;
    }
    if (digits() == 0) {
      return false;
    }
  }
  return i == text.size();
}

std::optional<json>
yaml_plain_scalar(const std::string& text)
{
  if (text == "true" || text == "True" || text == "TRUE") {
    return json(true);
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    return json(false);
  }
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return json(nullptr);
  }
  if (text.size() < 40 && is_integer_text(text)) {
    try {
      return json(std::stoll(text));
    } catch (const std::out_of_range&) {
      return json(std::stod(text));  // as JSON does: too large for 64 bits becomes a double
    }
  }
  if (text.size() < 40 && is_float_text(text)) {
    return json(std::stod(text));
  }
  return std::nullopt;
}

json
from_yaml(const YAML::Node& node, int depth, std::size_t& nodes, const std::string& where, const std::string& path)
{
  if (++nodes > k_max_nodes || depth > k_max_depth) {
    throw DescriptorError(fmt::format(
      "{}: document too large or too deeply nested (more than {} values or {} levels)", where, k_max_nodes, k_max_depth));
  }
  switch (node.Type()) {
  case YAML::NodeType::Map: {
    json result = json::object();
    for (const auto& item : node) {
      if (!item.first.IsScalar()) {
        throw DescriptorError(fmt::format("{}: line {}: keys must be plain strings", where, item.first.Mark().line + 1));
      }
      const auto& key = item.first.Scalar();
      if (result.contains(key)) {
        throw DescriptorError(fmt::format("{}: {}: duplicate key (line {}); give each key once", where,
                                          child_path(path, key), item.first.Mark().line + 1));
      }
      result[key] = from_yaml(item.second, depth + 1, nodes, where, child_path(path, key));
    }
    return result;
  }
  case YAML::NodeType::Sequence: {
    json result = json::array();
    for (const auto& item : node) {
      result.push_back(from_yaml(item, depth + 1, nodes, where, path + "[" + std::to_string(result.size()) + "]"));
    }
    return result;
  }
  case YAML::NodeType::Scalar: {
    // A quoted scalar has the tag "!" and stays a string.
    if (node.Tag() != "!") {
      try {
        if (auto value = yaml_plain_scalar(node.Scalar())) {
          return *value;
        }
      } catch (const std::out_of_range&) {
        throw DescriptorError(fmt::format("{}: {}: number '{}' is out of range (line {})", where, path, node.Scalar(),
                                          node.Mark().line + 1));
      }
    }
    return node.Scalar();
  }
  default:
    return nullptr;
  }
}

} // namespace

json
parse_text(std::string_view text, std::string_view format, const std::string& where)
{
  if (text.find('\0') != std::string_view::npos) {
    throw DescriptorError(where + ": not a text file (contains a NUL byte)");
  }
  if (bracket_depth(text) > k_max_depth || (format == "toml" && max_dots_per_line(text) > k_max_depth) ||
      (format == "yaml" && max_dashes_per_line(text) > k_max_depth)) {
    throw DescriptorError(fmt::format("{}: nested more than {} levels deep", where, k_max_depth));
  }
  if (format == "toml") {
    try {
      return from_toml(toml::parse(text, where), 0, where);
    } catch (const toml::parse_error& e) {
      throw DescriptorError(fmt::format("{}:{}:{}: invalid TOML: {}",
                                        where, e.source().begin.line, e.source().begin.column, e.description()));
    }
  }
  if (format == "yaml") {
    try {
      std::size_t nodes = 0;
      return from_yaml(YAML::Load(std::string(text)), 0, nodes, where, "");
    } catch (const YAML::Exception& e) {
      throw DescriptorError(fmt::format("{}:{}:{}: invalid YAML: {}", where, e.mark.line + 1, e.mark.column + 1, e.msg));
    }
  }
  if (format == "json") {
    // Keys seen in each open object, and the path to the value being parsed, for messages.
    std::vector<std::set<std::string>> seen;
    std::vector<std::string> keys;
    auto path = [&] {
      std::string result;
      for (const auto& key : keys) {
        result = child_path(result, key);
      }
      return result;
    };
    try {
      return json::parse(text, [&](int depth, json::parse_event_t event, json& parsed) {
        if (depth > k_max_depth) {
          throw DescriptorError(fmt::format("{}: nested more than {} levels deep", where, k_max_depth));
        }
        switch (event) {
        case json::parse_event_t::object_start:
          seen.emplace_back();
          break;
        case json::parse_event_t::key: {
          const auto key = parsed.get<std::string>();
          keys.resize(static_cast<std::size_t>(std::max(depth - 1, 0)));
          keys.push_back(key);
          if (!seen.empty() && !seen.back().insert(key).second) {
            throw DescriptorError(fmt::format("{}: {}: duplicate key; give each key once", where, path()));
          }
          break;
        }
        case json::parse_event_t::object_end:
          if (!seen.empty()) {
            seen.pop_back();
          }
          break;
        default:
          break;
        }
        return true;
      });
    } catch (const json::out_of_range&) {
      throw DescriptorError(fmt::format("{}: {}: number out of range", where, path()));
    } catch (const json::exception& e) {
      // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 5: ..."
      const std::string what = e.what();
      const auto pos = what.find("] ");
      throw DescriptorError(fmt::format("{}: invalid JSON: {}", where, pos == std::string::npos ? what : what.substr(pos + 2)));
    }
  }
  throw DescriptorError(fmt::format("{}: unknown descriptor format '{}'", where, format));
}


} // namespace spmi::detail

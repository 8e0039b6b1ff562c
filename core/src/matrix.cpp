// SPDX-License-Identifier: MIT
// A descriptor's `matrix` expanded: combinations (product, exclude, include), substitution with shell
// quoting, the environment variable of each name. See matrix.hpp.
#include "matrix.hpp"

#include "descriptor_detail.hpp"

#include <spmi/errors.hpp>
#include <spmi/text.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>

namespace spmi::matrix {

using json = nlohmann::json;

namespace {

constexpr const char* k_name_rule = "letters, digits and '_', not starting with a digit";

bool
valid_name(std::string_view name)
{
  if (name.empty() || name.size() > 64 || (name[0] >= '0' && name[0] <= '9')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// A value as text, or nullopt when it is no string, number or boolean.
std::optional<std::string>
value_text(const json& value)
{
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_boolean() || value.is_number()) {
    return value.dump();
  }
  return std::nullopt;
}

// The values of one `include` or `exclude` entry, checked: a table of values of known names.
Combination
entry_values(const json& entry, const std::string& where, const std::vector<std::string>& axes)
{
  if (!entry.is_object() || entry.empty()) {
    throw DescriptorError(fmt::format("{}: expected a table of matrix values, e.g. {{ lr = 0.1 }}, got {}", where,
                                      entry.is_object() ? "an empty table" : detail::type_name_of(entry)));
  }
  Combination values;
  for (const auto& item : entry.items()) {
    if (!axes.empty() && std::find(axes.begin(), axes.end(), item.key()) == axes.end()) {
      throw DescriptorError(fmt::format("{}.{}: '{}' is not a name of this matrix; use one of {}", where, item.key(),
                                        item.key(), fmt::join(axes, ", ")));
    }
    if (!valid_name(item.key())) {
      throw DescriptorError(fmt::format("{}: '{}' is not a matrix name; use {}", where, item.key(), k_name_rule));
    }
    const auto text = value_text(item.value());
    if (!text) {
      throw DescriptorError(fmt::format("{}.{}: expected a string, number or boolean, got {}", where, item.key(),
                                        detail::type_name_of(item.value())));
    }
    values.emplace_back(item.key(), *text);
  }
  return values;
}

// True when `combination` has every value of `pattern`.
bool
matches(const Combination& combination, const Combination& pattern)
{
  return std::all_of(pattern.begin(), pattern.end(), [&](const auto& wanted) {
    return std::find(combination.begin(), combination.end(), wanted) != combination.end();
  });
}

// The entries of `key` (include or exclude), each checked.
std::vector<Combination>
entries(const Section& section, const char* key, const std::vector<std::string>& axes)
{
  std::vector<Combination> result;
  if (!section.has(key)) {
    return result;
  }
  const auto& list = section.node().at(key);
  if (!list.is_array()) {
    throw DescriptorError(fmt::format("{}: expected an array of tables of matrix values, got {}", section.where(key),
                                      detail::type_name_of(list)));
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    result.push_back(entry_values(list[i], fmt::format("{}[{}]", section.where(key), i), axes));
  }
  return result;
}

// The axes of `section`: each name with its values as text, after the checks.
std::vector<std::pair<std::string, std::vector<std::string>>>
axes_of(const Section& section)
{
  std::vector<std::pair<std::string, std::vector<std::string>>> axes;
  std::map<std::string, std::string> variables;  // SPMI_MATRIX_LR -> lr
  for (const auto& item : section.node().items()) {
    const auto& name = item.key();
    if (name == "include" || name == "exclude") {
      continue;
    }
    if (!valid_name(name)) {
      throw DescriptorError(fmt::format("{}: '{}' is not a matrix name; use {}", section.where(), name, k_name_rule));
    }
    if (const auto [it, fresh] = variables.emplace(variable(name), name); !fresh) {
      throw DescriptorError(fmt::format("{}: '{}' and '{}' would both be ${}; rename one", section.where(), it->second,
                                        name, it->first));
    }
    const auto& list = item.value();
    if (!list.is_array() || list.empty()) {
      throw DescriptorError(fmt::format("{}: expected a non-empty array of values (strings, numbers or booleans), "
                                        "e.g. [0.1, 0.01], got {}",
                                        section.where(name), list.is_array() ? "an empty array" : detail::type_name_of(list)));
    }
    auto& axis = axes.emplace_back(name, std::vector<std::string>{}).second;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto text = value_text(list[i]);
      if (!text) {
        throw DescriptorError(fmt::format("{}[{}]: expected a string, number or boolean, got {}", section.where(name),
                                          i, detail::type_name_of(list[i])));
      }
      axis.push_back(*text);
    }
  }
  return axes;
}

} // namespace

std::vector<Combination>
combinations(const Section& section, std::size_t limit)
{
  if (!section.node().is_object() || section.node().empty()) {
    throw DescriptorError(fmt::format("{}: expected a table of names with their values, e.g. {{ lr = [0.1, 0.01], seed = "
                                      "[1, 2] }}, got {}",
                                      section.where(), section.node().is_object() ? "an empty table"
                                                                                  : detail::type_name_of(section.node())));
  }
  const auto axes = axes_of(section);
  std::vector<std::string> names;
  std::size_t total = 1;
  std::string sizes;
  for (const auto& [name, values] : axes) {
    names.push_back(name);
    total = total > limit ? total : total * values.size();  // stays far below overflow: limit * 2^32
    sizes += fmt::format("{}{}: {}", sizes.empty() ? "" : " × ", name, values.size());
  }
  const auto include = entries(section, "include", names);
  if (total > limit || (axes.empty() ? 0 : total) + include.size() > limit) {
    throw DescriptorError(fmt::format("{}: makes more than {} combinations ({}{}); at most {} manageables per file: "
                                      "split the sweep into several files",
                                      section.where(), limit, sizes, include.empty() ? "" : " plus include",
                                      k_max_manageables_per_file));
  }
  const auto exclude = entries(section, "exclude", names);
  std::vector<Combination> result;
  if (!axes.empty()) {
    std::vector<std::size_t> at(axes.size(), 0);
    for (std::size_t n = 0; n < total; ++n) {
      Combination combination;
      for (std::size_t a = 0; a < axes.size(); ++a) {
        combination.emplace_back(axes[a].first, axes[a].second[at[a]]);
      }
      if (std::none_of(exclude.begin(), exclude.end(), [&](const auto& e) { return matches(combination, e); })) {
        result.push_back(std::move(combination));
      }
      for (std::size_t a = axes.size(); a-- > 0;) {  // the last name fastest
        if (++at[a] < axes[a].second.size()) {
          break;
        }
        at[a] = 0;
      }
    }
  }
  for (std::size_t i = 0; i < include.size(); ++i) {
    auto combination = include[i];  // in name order, as the tree keeps keys
    std::vector<std::string> given;
    for (const auto& value : combination) {
      given.push_back(value.first);
    }
    std::vector<std::string> expected = names;  // without axes: the names of the first include
    if (expected.empty()) {
      for (const auto& value : include.front()) {
        expected.push_back(value.first);
      }
    }
    if (given != expected) {
      throw DescriptorError(fmt::format("{}[{}]: gives {}; each include must give a value for each of {}",
                                        section.where("include"), i, given.empty() ? "nothing" : fmt::format("{}", fmt::join(given, ", ")),
                                        fmt::join(expected, ", ")));
    }
    if (std::find(result.begin(), result.end(), combination) == result.end()) {
      result.push_back(std::move(combination));
    }
  }
  if (result.empty()) {
    throw DescriptorError(fmt::format("{}: makes no combination (exclude removes all of them); remove an exclude entry "
                                      "or the matrix",
                                      section.where()));
  }
  return result;
}

std::string
substitute(std::string_view text, const Combination& values, bool quote)
{
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto open = text.find('{', i);
    if (open == std::string_view::npos) {
      break;
    }
    const auto close = text.find('}', open + 1);
    if (close == std::string_view::npos) {
      break;
    }
    out.append(text.substr(i, open - i));
    const auto name = text.substr(open + 1, close - open - 1);
    const auto it = std::find_if(values.begin(), values.end(), [&](const auto& v) { return v.first == name; });
    if (it == values.end() || (open > 0 && text[open - 1] == '$')) {
      out += '{';  // not ours: go on right after the brace
      i = open + 1;
      continue;
    }
    const auto& value = it->second;
    out += quote ? shell_word(value) : value;
    i = close + 1;
  }
  out.append(text.substr(std::min(i, text.size())));
  return out;
}

json
instantiate(const json& body, const Combination& values)
{
  const auto fill = [&](const json& node, bool quote, const auto& self) -> json {
    if (node.is_string()) {
      return substitute(node.get_ref<const std::string&>(), values, quote);
    }
    if (node.is_array()) {
      json out = json::array();
      for (const auto& item : node) {
        out.push_back(self(item, quote, self));
      }
      return out;
    }
    if (node.is_object()) {
      json out = json::object();
      for (const auto& item : node.items()) {
        out[item.key()] = self(item.value(), quote, self);
      }
      return out;
    }
    return node;
  };
  json out = json::object();
  for (const auto& item : body.items()) {
    if (item.key() == "matrix") {
      continue;
    }
    const bool as_is = item.key() == "id" || item.key() == "comment";
    out[item.key()] = fill(item.value(), !as_is, fill);
  }
  return out;
}

std::string
describe(const Combination& values)
{
  std::string text;
  for (const auto& [name, value] : values) {
    text += fmt::format("{}{}={}", text.empty() ? "" : ", ", name, value);
  }
  return text;
}

} // namespace spmi::matrix

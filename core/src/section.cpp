// SPDX-License-Identifier: MIT
// Section: typed access to a descriptor table, with one message shape for every kind of value:
// "<file>: <table>.<key>: <what is wrong>; <what to do>".
#include <spmi/descriptor.hpp>
#include <spmi/errors.hpp>
#include <spmi/process.hpp>

#include "descriptor_detail.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace spmi {

namespace {

using json = nlohmann::json;
using detail::type_name_of;

// "a whole number from 1 to 10", or "a whole number, 1 or more" without an upper bound.
std::string
whole_numbers(long long min, long long max)
{
  if (max == std::numeric_limits<long long>::max()) {
    return fmt::format("a whole number, {} or more", min);
  }
  return fmt::format("a whole number from {} to {}", min, max);
}

// A value as the descriptor wrote it, for messages: 3, 2.5, 1e+20, 'text', true.
std::string
shown(const json& value)
{
  if (value.is_string()) {
    return "'" + value.get<std::string>() + "'";
  }
  if (value.is_number_unsigned()) {
    return std::to_string(value.get<std::uint64_t>());
  }
  if (value.is_number_integer()) {
    return std::to_string(value.get<long long>());
  }
  if (value.is_number_float()) {
    return fmt::format("{}", value.get<double>());
  }
  return value.dump();
}

// Seconds from "30", "1.5", "500ms", "30s", "1.5m", "2h" or "1d" (spaces before the unit, any case);
// nullopt when malformed.
std::optional<double>
duration_seconds(std::string_view text)
{
  std::size_t i = 0;
  std::size_t digits = 0;
  const auto skip_digits = [&] {
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      ++i;
      ++digits;
    }
  };
  skip_digits();
  if (i < text.size() && text[i] == '.') {
    ++i;
    skip_digits();
  }
  double number = 0;
  if (digits == 0 || std::from_chars(text.data(), text.data() + i, number).ec != std::errc()) {
    return std::nullopt;
  }
  while (i < text.size() && text[i] == ' ') {
    ++i;
  }
  std::string unit;
  for (; i < text.size(); ++i) {
    unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
  }
  static constexpr std::pair<std::string_view, double> k_units[] = {
    {"", 1}, {"ms", 0.001}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
  for (const auto& [name, seconds] : k_units) {
    if (unit == name) {
      return number * seconds;
    }
  }
  return std::nullopt;
}

} // namespace

Section::Section(const json& node, std::string file, std::string path)
  : m_node(node), m_file(std::move(file)), m_path(std::move(path))
{
}

std::string
Section::where() const
{
  return m_file + ": " + m_path;
}

std::string
Section::where(std::string_view key) const
{
  return fmt::format("{}: {}.{}", m_file, m_path, key);
}

bool
Section::has(std::string_view key) const
{
  return m_node.is_object() && m_node.contains(key);
}

std::string
Section::require_string(std::string_view key, bool allow_empty) const
{
  if (!has(key)) {
    throw DescriptorError(fmt::format("{}: missing key '{}'", where(), key));
  }
  auto value = optional_string(key);
  if (!allow_empty && value->empty()) {
    throw DescriptorError(where(key) + ": must not be empty");
  }
  return *value;
}

std::optional<std::string>
Section::optional_string(std::string_view key) const
{
  if (!has(key)) {
    return std::nullopt;
  }
  const auto& value = m_node.at(std::string(key));
  if (!value.is_string()) {
    throw DescriptorError(fmt::format("{}: expected a string, got {}", where(key), type_name_of(value)));
  }
  return value.get<std::string>();
}

bool
Section::optional_bool(std::string_view key, bool fallback) const
{
  if (!has(key)) {
    return fallback;
  }
  const auto& value = m_node.at(std::string(key));
  if (!value.is_boolean()) {
    throw DescriptorError(fmt::format("{}: expected true or false, got {}", where(key), type_name_of(value)));
  }
  return value.get<bool>();
}

std::optional<double>
Section::optional_number(std::string_view key) const
{
  if (!has(key)) {
    return std::nullopt;
  }
  const auto& value = m_node.at(std::string(key));
  if (!value.is_number()) {
    throw DescriptorError(fmt::format("{}: expected a number, got {}", where(key), type_name_of(value)));
  }
  if (!std::isfinite(value.get<double>())) {
    throw DescriptorError(fmt::format("{}: expected a finite number, got {}", where(key), value.get<double>()));
  }
  return value.get<double>();
}

std::optional<long long>
Section::optional_integer(std::string_view key, long long min, long long max) const
{
  if (!has(key)) {
    return std::nullopt;
  }
  const auto& value = m_node.at(std::string(key));
  if (!value.is_number()) {
    throw DescriptorError(
      fmt::format("{}: expected {}, got {}", where(key), whole_numbers(min, max), type_name_of(value)));
  }
  // Compared as a double first: 1e20 and 2^64-1 are out of range, not wrapped around.
  const double number = value.get<double>();
  if (!std::isfinite(number) || std::floor(number) != number) {
    throw DescriptorError(fmt::format("{}: {} is not a whole number; use {}", where(key), shown(value),
                                      whole_numbers(min, max)));
  }
  const bool fits = value.is_number_integer() ? !value.is_number_unsigned() ||
                                                  value.get<std::uint64_t>() <= std::numeric_limits<long long>::max()
                                              : number >= -9.2e18 && number <= 9.2e18;
  const long long whole = fits ? (value.is_number_integer() ? value.get<long long>() : static_cast<long long>(number)) : 0;
  if (!fits || whole < min || whole > max) {
    throw DescriptorError(
      fmt::format("{}: {} is out of range; use {}", where(key), shown(value), whole_numbers(min, max)));
  }
  return whole;
}

std::optional<std::uint64_t>
Section::optional_size(std::string_view key, std::uint64_t min, std::string_view zero_means) const
{
  if (!has(key)) {
    return std::nullopt;
  }
  const auto& value = m_node.at(std::string(key));
  std::optional<std::uint64_t> size;
  std::optional<std::string> meant;
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    size = text == "0" ? std::optional<std::uint64_t>(0) : parse_size(text);
    meant = size ? std::nullopt : detail::size_meant(text);
  } else if (value.is_number_unsigned() || (value.is_number_integer() && value.get<long long>() >= 0)) {
    size = value.get<std::uint64_t>();
  } else if (value.is_number_float()) {
    const double number = value.get<double>();
    if (number >= 0 && number < 1.8e19 && std::floor(number) == number) {
      size = static_cast<std::uint64_t>(number);
    }
  }
  const bool zero_ok = !zero_means.empty();
  const auto zero = zero_ok ? fmt::format(", or 0 for {}", zero_means) : std::string();
  if (!size) {
    throw DescriptorError(fmt::format(
      "{}: {} is not a size; use a whole number of bytes, or a whole number with one of the units B, K, M, G, T, "
      "KiB, MiB, GiB, TiB (powers of 1024, written so, no space), e.g. \"10M\" or \"512KiB\"{}{}",
      where(key), shown(value), zero, meant ? fmt::format("; did you mean '{}'?", *meant) : std::string()));
  }
  if (*size == 0 ? !zero_ok && min > 0 : *size < min) {
    const auto minimum = detail::format_size(min);
    throw DescriptorError(fmt::format("{}: {} is below the minimum, {}; use at least {}{}", where(key), shown(value),
                                      minimum, minimum, zero));
  }
  return size;
}

std::chrono::milliseconds
Section::require_duration(std::string_view key, std::chrono::milliseconds min, std::chrono::milliseconds max) const
{
  if (!has(key)) {
    throw DescriptorError(fmt::format("{}: missing key '{}'", where(), key));
  }
  return *optional_duration(key, min, max);
}

std::optional<std::chrono::milliseconds>
Section::optional_duration(std::string_view key, std::chrono::milliseconds min, std::chrono::milliseconds max) const
{
  if (!has(key)) {
    return std::nullopt;
  }
  const auto& value = m_node.at(std::string(key));
  double seconds = 0;
  if (value.is_string()) {
    const auto parsed = duration_seconds(value.get_ref<const std::string&>());
    if (!parsed) {
      throw DescriptorError(fmt::format("{}: {} is not a duration; use a number of seconds, or a number with ms, s, "
                                        "m, h or d (\"500ms\", \"30s\", \"5m\")",
                                        where(key), shown(value)));
    }
    seconds = *parsed;
  } else if (value.is_number()) {
    seconds = *optional_number(key);  // refuses nan and inf
  } else {
    throw DescriptorError(fmt::format("{}: expected a number of seconds or a string such as \"30s\", got {}",
                                      where(key), type_name_of(value)));
  }
  // Compared before rounding: 0.0004 s is below a minimum of 1 ms.
  const double ms = seconds * 1000;
  if (!(ms >= static_cast<double>(min.count()) && ms <= static_cast<double>(max.count()))) {
    throw DescriptorError(fmt::format("{}: {} is out of range; use {} to {} seconds", where(key), shown(value),
                                      static_cast<double>(min.count()) / 1000, static_cast<double>(max.count()) / 1000));
  }
  return std::chrono::milliseconds(std::llround(ms));
}

std::optional<int>
Section::optional_signal(std::string_view key) const
{
  if (!has(key)) {
    return std::nullopt;
  }
  const auto& value = m_node.at(std::string(key));
  std::string name;
  if (value.is_string()) {
    name = value.get<std::string>();
  } else if (value.is_number_integer()) {
    name = value.dump();
  } else {
    throw DescriptorError(fmt::format("{}: expected a signal name such as \"SIGTERM\" or a number, got {}", where(key),
                                      type_name_of(value)));
  }
  const auto signo = process::parse_signal(name);
  if (!signo) {
    throw DescriptorError(
      fmt::format("{}: unknown signal '{}'; use a name such as SIGINT or SIGTERM", where(key), name));
  }
  return signo;
}

std::optional<std::filesystem::path>
Section::optional_path(std::string_view key) const
{
  auto text = optional_string(key);
  if (!text) {
    return std::nullopt;
  }
  if (text->empty()) {
    throw DescriptorError(fmt::format("{}: empty path; give a path or leave the key out", where(key)));
  }
  std::filesystem::path path(*text);
  return path.is_absolute() ? path : std::filesystem::path(m_file).parent_path() / path;
}

std::vector<std::pair<std::string, std::string>>
Section::string_table(std::string_view key, const NameRule& names) const
{
  std::vector<std::pair<std::string, std::string>> result;
  if (!has(key)) {
    return result;
  }
  const auto& table = m_node.at(std::string(key));
  if (!table.is_object()) {
    throw DescriptorError(fmt::format("{}: expected a table of strings (NAME = \"value\"), got {}", where(key),
                                      type_name_of(table)));
  }
  for (const auto& item : table.items()) {
    const auto at = fmt::format("{}.{}", where(key), item.key());
    if (names.accepts && !names.accepts(item.key())) {
      throw DescriptorError(fmt::format("{}: '{}' is not {}; use {}", at, item.key(), names.what, names.how));
    }
    if (!item.value().is_string()) {
      throw DescriptorError(fmt::format("{}: expected a string, got {}; quote it", at, type_name_of(item.value())));
    }
    result.emplace_back(item.key(), item.value().get<std::string>());
  }
  return result;
}

Section
Section::require_table(std::string_view key) const
{
  if (!has(key)) {
    throw DescriptorError(fmt::format("{}: missing table '{}'", where(), key));
  }
  const auto& value = m_node.at(std::string(key));
  if (!value.is_object()) {
    throw DescriptorError(fmt::format("{}: expected a table, got {}", where(key), type_name_of(value)));
  }
  return Section(value, m_file, m_path + "." + std::string(key));
}

std::vector<std::string>
Section::unknown_keys(std::initializer_list<std::string_view> known) const
{
  std::vector<std::string> result;
  for (const auto& item : m_node.items()) {
    if (std::find(known.begin(), known.end(), item.key()) == known.end()) {
      result.push_back(item.key());
    }
  }
  return result;
}

} // namespace spmi

// SPDX-License-Identifier: MIT
// Sizes in descriptors: one grammar (a whole number of bytes, or a whole number with B, K, M, G, T or
// KiB, MiB, GiB, TiB, all powers of 1024, written exactly so), and the messages that refuse the rest.
#include <spmi/descriptor.hpp>

#include "descriptor_detail.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <string>

namespace spmi {

namespace {

struct Unit
{
  std::string_view name;
  int shift;
};

// The units parse_size() accepts, longest first where one begins another.
constexpr Unit k_units[] = {{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}, {"B", 0},
                            {"K", 10},   {"M", 20},   {"G", 30},   {"T", 40}};

// The digits at the start of `text` as a number, and how many there were (0: none, or too many).
std::pair<std::uint64_t, std::size_t>
leading_number(std::string_view text)
{
  std::uint64_t value = 0;
  std::size_t i = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    if (value > (UINT64_MAX - 9) / 10) {
      return {0, 0};
    }
    value = value * 10 + static_cast<std::uint64_t>(text[i] - '0');
  }
  return {value, i};
}

// The unit a sloppy spelling means: "m", "MB", "mib", "Mb" -> "M" (or "MiB" for the -iB forms).
std::optional<std::string>
unit_meant(std::string unit)
{
  std::string upper;
  for (const char c : unit) {
    upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (upper == "B" || upper == "BYTES") {
    return std::string();
  }
  if (upper.empty() || std::string_view("KMGT").find(upper[0]) == std::string_view::npos) {
    return std::nullopt;
  }
  const auto rest = upper.substr(1);
  if (rest.empty() || rest == "B") {
    return std::string(1, upper[0]);
  }
  if (rest == "IB") {
    return std::string(1, upper[0]) + "iB";
  }
  return std::nullopt;
}

} // namespace

std::optional<std::uint64_t>
parse_size(std::string_view text)
{
  const auto [value, digits] = leading_number(text);
  if (digits == 0) {
    return std::nullopt;
  }
  const auto unit = text.substr(digits);
  int shift = -1;
  for (const auto& candidate : k_units) {
    if (unit == candidate.name) {
      shift = candidate.shift;
    }
  }
  if (unit.empty()) {
    shift = 0;
  }
  if (shift < 0 || value == 0 || value > (UINT64_MAX >> shift)) {
    return std::nullopt;
  }
  return value << shift;
}

namespace detail {

std::string
format_size(std::uint64_t bytes)
{
  static constexpr Unit k_exact[] = {{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}};
  for (const auto& unit : k_exact) {
    if (bytes != 0 && bytes % (std::uint64_t{1} << unit.shift) == 0) {
      return fmt::format("{}{}", bytes >> unit.shift, unit.name);
    }
  }
  return fmt::format("{} byte{}", bytes, bytes == 1 ? "" : "s");
}

std::optional<std::string>
size_meant(std::string_view text)
{
  // The number: digits, with an optional fraction ("1.5G" -> "1536M").
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  const std::string number(text.substr(0, i));
  while (i < text.size() && text[i] == ' ') {
    ++i;
  }
  const auto unit = unit_meant(std::string(text.substr(i)));
  if (number.empty() || !unit || number.find('.') != number.rfind('.') || number == ".") {
    return std::nullopt;
  }
  if (number.find('.') == std::string::npos) {
    const auto meant = number + *unit;
    return parse_size(meant) && meant != text ? std::optional<std::string>(meant) : std::nullopt;
  }
  const std::uint64_t factor = unit->empty() ? 1 : *parse_size("1" + *unit);
  const double bytes = std::stod(number) * static_cast<double>(factor);
  if (!(bytes >= 1 && bytes < 1.8e19) || std::floor(bytes) != bytes) {
    return std::nullopt;
  }
  const auto exact = static_cast<std::uint64_t>(bytes);
  auto shown = format_size(exact);
  if (shown.find(' ') != std::string::npos) {
    return std::to_string(exact);
  }
  // In the user's style: "1536M" for "1.5G", "1536MiB" for "1.5GiB".
  return unit->size() == 1 ? shown.substr(0, shown.size() - 2) : shown;
}

} // namespace detail

} // namespace spmi
